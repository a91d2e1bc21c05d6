"""lib.protocol: parsing client frames and encoding server messages (pure)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from lib.errors import (
    AuthError,
    InvalidRequest,
    MalformedMessage,
    MessageTooLarge,
    RequestError,
    UnexpectedMessage,
)
from lib.protocol import (
    CloseCode,
    Complete,
    Eof,
    Error,
    ErrorCode,
    Execute,
    Input,
    Kill,
    Output,
    RequestLimits,
    SourceFile,
    Status,
    Stream,
    encode,
    is_terminal,
    parse_client_message,
    parse_run_control,
    parse_server_message,
)

JOB_ID = "0123456789abcdef0123456789abcdef"


def execute_dict(**fields: object) -> dict[str, object]:
    msg: dict[str, object] = {
        "type": "execute",
        "job_id": JOB_ID,
        "job_token": "tok",
        "language": "python",
        "code": "print(1)",
    }
    msg.update(fields)
    return msg


def parse_obj(obj: object) -> Execute | Input | Eof | Kill:
    return parse_client_message(json.dumps(obj))


def assert_malformed(raw: str | bytes, code: ErrorCode) -> MalformedMessage:
    with pytest.raises(MalformedMessage) as info:
        parse_client_message(raw)
    assert info.value.code == code
    assert info.value.close_code == CloseCode.INVALID_PAYLOAD
    assert info.value.close_code == 1007
    assert info.value.message
    return info.value


# --- client messages that parse -----------------------------------------------------------------


def test_execute_minimal_parses_with_defaults() -> None:
    msg = parse_obj(execute_dict())
    assert isinstance(msg, Execute)
    assert msg.type == "execute"
    assert msg.job_id == JOB_ID
    assert msg.job_token == "tok"
    assert msg.language == "python"
    assert msg.code == "print(1)"
    assert msg.filename is None
    assert msg.files is None
    assert msg.args == []
    assert msg.stdin is None
    assert msg.limits is None


def test_execute_full_parses_nested_models() -> None:
    msg = parse_obj(
        execute_dict(
            code=None,
            filename="b.py",
            files=[{"name": "a.py", "content": "A"}, {"name": "b.py", "content": "B"}],
            args=["x", "--y"],
            stdin="in",
            limits={"time_s": 1.5, "memory_mb": 64, "output_kb": 10},
        )
    )
    assert isinstance(msg, Execute)
    assert msg.code is None
    assert msg.filename == "b.py"
    assert msg.files == [SourceFile(name="a.py", content="A"), SourceFile(name="b.py", content="B")]
    assert msg.args == ["x", "--y"]
    assert msg.stdin == "in"
    assert msg.limits == RequestLimits(time_s=1.5, memory_mb=64, output_kb=10)


def test_execute_partial_limits_leave_others_none() -> None:
    msg = parse_obj(execute_dict(limits={"memory_mb": 32}))
    assert isinstance(msg, Execute)
    assert msg.limits is not None
    assert msg.limits.memory_mb == 32
    assert msg.limits.time_s is None
    assert msg.limits.output_kb is None


def test_input_parses() -> None:
    msg = parse_obj({"type": "input", "data": "hello\n"})
    assert isinstance(msg, Input)
    assert msg.data == "hello\n"


def test_input_empty_data_parses() -> None:
    msg = parse_obj({"type": "input", "data": ""})
    assert isinstance(msg, Input)
    assert msg.data == ""


def test_eof_parses() -> None:
    assert isinstance(parse_obj({"type": "eof"}), Eof)


def test_kill_parses() -> None:
    assert isinstance(parse_obj({"type": "kill"}), Kill)


def test_bytes_frame_parses() -> None:
    msg = parse_client_message(b'{"type": "input", "data": "\xc3\xa9"}')
    assert isinstance(msg, Input)
    assert msg.data == "\u00e9"


def test_parsed_messages_are_frozen() -> None:
    msg = parse_obj({"type": "input", "data": "x"})
    with pytest.raises(ValidationError):
        msg.data = "y"  # type: ignore[misc]


# --- unknown fields are ignored -----------------------------------------------------------------


def test_extra_top_level_fields_are_ignored() -> None:
    msg = parse_obj({"type": "kill", "reason": "bored", "future": {"x": 1}})
    assert isinstance(msg, Kill)
    assert not hasattr(msg, "reason")
    assert "reason" not in msg.model_dump()


def test_extra_fields_in_execute_and_nested_models_are_ignored() -> None:
    msg = parse_obj(
        execute_dict(
            priority=5,
            files=[{"name": "a.py", "content": "x", "mode": "0755"}],
            limits={"time_s": 1, "disk_mb": 5},
        )
    )
    assert isinstance(msg, Execute)
    assert "priority" not in msg.model_dump()
    assert msg.files is not None
    assert msg.files[0] == SourceFile(name="a.py", content="x")
    assert msg.limits == RequestLimits(time_s=1.0)


# --- invalid JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "{",
        '{"type": "kill"',
        "not json",
        "{'type': 'kill'}",
        '{"type": "kill",}',
        b"\xff\xfe\x00",
        b'{"type": "input", "data": "\xff"}',
        "[" * 100_000,
    ],
    ids=[
        "empty",
        "blank",
        "open-brace",
        "unterminated",
        "words",
        "single-quotes",
        "trailing-comma",
        "bad-bytes",
        "bad-utf8-in-string",
        "deep-nesting",
    ],
)
def test_invalid_json_is_invalid_json(raw: str | bytes) -> None:
    assert_malformed(raw, ErrorCode.INVALID_JSON)


# --- valid JSON that is not an object -----------------------------------------------------------


@pytest.mark.parametrize("raw", ["[]", '[{"type": "kill"}]', '"kill"', "1", "null", "true", "1.5"])
def test_non_object_json_is_invalid_message(raw: str) -> None:
    exc = assert_malformed(raw, ErrorCode.INVALID_MESSAGE)
    assert "object" in exc.message


# --- schema errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"data": "x"},
        {"type": None},
        {"type": 5},
        {"type": "run"},
        {"type": "Execute"},
        {"type": "KILL"},
        {"type": "complete", "exit_code": 0, "execution_time": 0, "status": "ok"},
        {"type": "output", "stream": "stdout", "data": "x"},
        {"type": ["kill"]},
    ],
    ids=[
        "empty-object",
        "missing-type",
        "null-type",
        "int-type",
        "unknown-type",
        "wrong-case-execute",
        "wrong-case-kill",
        "server-complete",
        "server-output",
        "list-type",
    ],
)
def test_unknown_or_missing_type_is_invalid_message(obj: object) -> None:
    assert_malformed(json.dumps(obj), ErrorCode.INVALID_MESSAGE)


@pytest.mark.parametrize("missing", ["job_id", "job_token", "language"])
def test_execute_missing_required_field(missing: str) -> None:
    obj = execute_dict()
    del obj[missing]
    exc = assert_malformed(json.dumps(obj), ErrorCode.INVALID_MESSAGE)
    assert missing in exc.message


def test_input_missing_data() -> None:
    exc = assert_malformed(json.dumps({"type": "input"}), ErrorCode.INVALID_MESSAGE)
    assert "data" in exc.message


def test_source_file_missing_content() -> None:
    obj = execute_dict(code=None, files=[{"name": "a.py"}])
    exc = assert_malformed(json.dumps(obj), ErrorCode.INVALID_MESSAGE)
    assert "content" in exc.message


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "input", "data": 123},
        {"type": "input", "data": None},
        {"type": "input", "data": ["a"]},
        {"type": "input", "data": {"a": 1}},
        execute_dict(job_id=1),
        execute_dict(job_token=None),
        execute_dict(language=["python"]),
        execute_dict(code=5),
        execute_dict(filename=7),
        execute_dict(args="a b"),
        execute_dict(args=[1, 2]),
        execute_dict(args=None),
        execute_dict(stdin=3),
        execute_dict(files={"name": "a.py", "content": ""}),
        execute_dict(files=["a.py"]),
        execute_dict(files=[{"name": 1, "content": ""}]),
        execute_dict(limits=5),
        execute_dict(limits={"time_s": "fast"}),
        execute_dict(limits={"time_s": 0}),
        execute_dict(limits={"time_s": -1}),
        execute_dict(limits={"memory_mb": 0}),
        execute_dict(limits={"memory_mb": 1.5}),
        execute_dict(limits={"output_kb": -5}),
        execute_dict(limits={"output_kb": "lots"}),
    ],
)
def test_wrong_types_are_invalid_message(obj: dict[str, object]) -> None:
    assert_malformed(json.dumps(obj), ErrorCode.INVALID_MESSAGE)


def test_nan_time_limit_is_rejected() -> None:
    # Python's json module accepts the NaN literal; the limit must still be refused.
    raw = json.dumps(execute_dict(limits={"time_s": float("nan")}))
    assert "NaN" in raw
    assert_malformed(raw, ErrorCode.INVALID_MESSAGE)


def test_validation_message_does_not_echo_input_values() -> None:
    exc = assert_malformed(
        json.dumps({"type": "input", "data": 987654321}), ErrorCode.INVALID_MESSAGE
    )
    assert "987654321" not in exc.message
    assert "data" in exc.message


def test_malformed_message_is_a_request_error() -> None:
    with pytest.raises(RequestError):
        parse_client_message("{")


# --- run control (gateway -> worker) ------------------------------------------------------------


def test_parse_run_control_accepts_input_eof_kill() -> None:
    assert parse_run_control('{"type": "input", "data": "x"}') == Input(type="input", data="x")
    assert isinstance(parse_run_control('{"type": "eof"}'), Eof)
    assert isinstance(parse_run_control(b'{"type": "kill"}'), Kill)


def test_parse_run_control_rejects_execute() -> None:
    with pytest.raises(ValidationError):
        parse_run_control(json.dumps(execute_dict()))


# --- server messages ----------------------------------------------------------------------------


def test_complete_encodes_exactly_the_contract_fields() -> None:
    msg = Complete(exit_code=0, execution_time=0.25, status=Status.OK)
    data = json.loads(encode(msg))
    assert set(data) == {
        "type",
        "exit_code",
        "execution_time",
        "status",
        "signal",
        "cpu_time",
        "memory_kb",
        "message",
    }
    assert data["type"] == "complete"
    assert data["exit_code"] == 0
    assert data["execution_time"] == 0.25
    assert data["status"] == "ok"
    assert "signal" in data
    assert data["signal"] is None
    assert data["cpu_time"] == 0.0
    assert data["memory_kb"] == 0
    assert data["message"] is None


def test_complete_with_signal_and_null_exit_code() -> None:
    msg = Complete(
        exit_code=None,
        execution_time=1.5,
        status=Status.RUNTIME_ERROR,
        signal="SIGSEGV",
        cpu_time=0.5,
        memory_kb=1234,
    )
    data = json.loads(encode(msg))
    assert data["exit_code"] is None
    assert data["signal"] == "SIGSEGV"
    assert data["status"] == "runtime_error"
    assert data["cpu_time"] == 0.5
    assert data["memory_kb"] == 1234


def test_output_encodes_exactly_type_stream_data() -> None:
    data = json.loads(encode(Output(stream=Stream.STDERR, data="oops\n")))
    assert data == {"type": "output", "stream": "stderr", "data": "oops\n"}


def test_error_encodes_exactly_type_code_message() -> None:
    data = json.loads(encode(Error(code=ErrorCode.AUTH, message="bad token")))
    assert data == {"type": "error", "code": "auth", "message": "bad token"}


def test_encode_is_compact_single_line_json() -> None:
    text = encode(Output(stream=Stream.STDOUT, data="a\nb"))
    assert "\n" not in text
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize(
    "msg",
    [
        Output(stream=Stream.COMPILE, data="warning: x"),
        Complete(exit_code=3, execution_time=0.1, status=Status.RUNTIME_ERROR, memory_kb=9),
        Complete(
            exit_code=None,
            execution_time=0.0,
            status=Status.INTERNAL_ERROR,
            message="worker lost",
        ),
        Error(code=ErrorCode.LIMIT_EXCEEDED, message="too much"),
    ],
)
def test_server_messages_round_trip(msg: Output | Complete | Error) -> None:
    assert parse_server_message(encode(msg)) == msg


def test_is_terminal() -> None:
    assert not is_terminal(Output(stream=Stream.STDOUT, data=""))
    assert is_terminal(Complete(exit_code=0, execution_time=0.0, status=Status.OK))
    assert is_terminal(Error(code=ErrorCode.INTERNAL_ERROR, message="x"))


# --- enums --------------------------------------------------------------------------------------


def test_status_values() -> None:
    assert {s.name: s.value for s in Status} == {
        "OK": "ok",
        "RUNTIME_ERROR": "runtime_error",
        "COMPILE_ERROR": "compile_error",
        "TIMEOUT": "timeout",
        "MEMORY_LIMIT": "memory_limit",
        "OUTPUT_LIMIT": "output_limit",
        "KILLED": "killed",
        "INTERNAL_ERROR": "internal_error",
        "ACCEPTED": "accepted",
        "WRONG_ANSWER": "wrong_answer",
    }


def test_close_code_values() -> None:
    assert {c.name: int(c) for c in CloseCode} == {
        "NORMAL": 1000,
        "GOING_AWAY": 1001,
        "UNSUPPORTED_DATA": 1003,
        "INVALID_PAYLOAD": 1007,
        "POLICY_VIOLATION": 1008,
        "MESSAGE_TOO_BIG": 1009,
        "INTERNAL_ERROR": 1011,
        "TRY_AGAIN_LATER": 1013,
    }


def test_error_code_values() -> None:
    assert {c.value for c in ErrorCode} == {
        "auth",
        "invalid_json",
        "invalid_message",
        "unexpected_message",
        "message_too_large",
        "execute_timeout",
        "invalid_request",
        "unsupported_language",
        "invalid_filename",
        "limit_exceeded",
        "code_too_large",
        "input_too_large",
        "language_unavailable",
        "code_rejected",
        "queue_full",
        "rate_limited",
        "too_many_running",
        "going_away",
        "resume_expired",
        "not_found",
        "unavailable",
        "internal_error",
    }
    for code in ErrorCode:
        assert code.value == code.name.lower()


def test_stream_values() -> None:
    assert [s.value for s in Stream] == ["stdout", "stderr", "compile"]


# --- the error classes carry the right codes ----------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "code", "close"),
    [
        (AuthError, "auth", 1008),
        (MalformedMessage, "invalid_message", 1007),
        (UnexpectedMessage, "unexpected_message", 1003),
        (MessageTooLarge, "message_too_large", 1009),
        (InvalidRequest, "invalid_request", 1007),
    ],
)
def test_request_error_codes(cls: type[RequestError], code: str, close: int) -> None:
    exc = cls("why")
    assert exc.code == code
    assert exc.close_code == close
    assert exc.message == "why"
    assert str(exc) == "why"


def test_code_override_is_per_instance() -> None:
    overridden = MalformedMessage("x", code=ErrorCode.INVALID_JSON)
    assert overridden.code == ErrorCode.INVALID_JSON
    assert MalformedMessage("y").code == ErrorCode.INVALID_MESSAGE
    assert MalformedMessage.code == ErrorCode.INVALID_MESSAGE
