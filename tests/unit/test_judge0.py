"""The Judge0 CE 1.13.1 compatibility core (lib/judge0.py), pure: golden requests and responses for
every field, default, limit, error and quirk of ../shared/COMPAT.md section 3, checked against the
official SDK's own models where it has them; and the routes that need no Redis (JUDGE0_API off,
401, the static information) through the app itself."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import judge0 as sdk
import pytest
from fastapi.testclient import TestClient

from lib import judge0 as j
from lib.config import Settings
from lib.errors import (
    AuthError,
    MessageTooLarge,
    NotFound,
    QueueFull,
    RateLimited,
    RequestError,
    ServiceUnavailable,
    TryAgainLater,
)
from lib.protocol import Status
from lib.protocol import TestReport as Report
from lib.results import JobResult
from services.websocket.app import create_app
from services.websocket.judge0 import translate

SETTINGS = Settings(_env_file=None)
HELLO = {"source_code": "print(1)", "language_id": 71}


def accept(**fields: Any) -> tuple[j.Submission, Any]:
    return j.accept({**HELLO, **fields}, base64_encoded=False, settings=SETTINGS)


def errors(raw: dict[str, Any], b64: bool = False, settings: Settings = SETTINGS) -> Any:
    with pytest.raises(j.Invalid) as caught:
        j.accept(raw, base64_encoded=b64, settings=settings)
    return caught.value.errors


def zipped(files: dict[str, bytes | str]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return base64.b64encode(buffer.getvalue()).decode()


# -- statuses and languages ------------------------------------------------------------------------


def test_statuses_are_upstreams_fourteen() -> None:
    assert j.statuses()[0] == {"id": 1, "description": "In Queue"}
    assert [s["id"] for s in j.statuses()] == [s.value for s in sdk.Status]
    assert j.STATUSES[11] == "Runtime Error (NZEC)" and j.STATUSES[14] == "Exec Format Error"


@pytest.mark.parametrize(
    ("runtime", "detected", "name"),
    [
        ("python", "Python 3.11.2", "Python (3.11.2)"),
        ("javascript", "v20.20.2", "JavaScript (Node.js 20.20.2)"),
        ("c", "gcc (Debian 12.2.0-14+deb12u1) 12.2.0", "C (GCC 12.2.0)"),
        ("cpp", "g++ (Debian 12.2.0-14+deb12u1) 12.2.0", "C++ (GCC 12.2.0)"),
        ("rust", "rustc 1.96.0 (1f2c3d4e5 2026-01-01)", "Rust (1.96.0)"),
        ("python", None, "Python"),
    ],
)
def test_language_names_say_what_runs(runtime: str, detected: str | None, name: str) -> None:
    assert j.language_name(runtime, detected) == name


def test_every_id_clients_use_is_served() -> None:
    legacy = {71: "python", 63: "javascript", 50: "c", 52: "cpp", 54: "cpp", 73: "rust"}
    hosted = {92: "python", 97: "javascript", 103: "c", 105: "cpp", 108: "rust"}
    newer = {100: "python", 109: "python", 113: "python", 93: "javascript", 102: "javascript"}
    assert {**legacy, **hosted, **newer}.items() <= j.LANGUAGE_IDS.items()
    # The SDK's aliases resolve on a 1.13.1 server, CPP to 52 (not 54).
    ids = sdk.data.LANGUAGE_TO_LANGUAGE_ID["1.13.1"]
    for alias in (sdk.PYTHON, sdk.JAVASCRIPT, sdk.C, sdk.CPP, sdk.RUST, sdk.C_GCC, sdk.CPP_GCC):
        assert ids[alias] in j.LANGUAGE_IDS


def test_languages_are_ordered_by_name_then_id() -> None:
    names = j.language_names({"python": ["Python 3.11.2"], "c": ["gcc 12.2.0"]})
    listed = j.languages(names)
    assert listed == sorted(listed, key=lambda lang: (lang["name"], lang["id"]))
    assert {"id": 71, "name": "Python (3.11.2)"} in listed
    assert {"id": 63, "name": "JavaScript"} in listed  # no live worker: no version to tell
    assert all(sdk.Language(**lang) for lang in listed)


def test_language_detail() -> None:
    names = j.language_names({})
    c = j.language_detail(50, names)
    assert c is not None and c["source_file"] == "main.c" and not c["is_archived"]
    assert "%s" in c["compile_cmd"] and "main.c" in c["compile_cmd"] and c["run_cmd"] == "./main"
    python = j.language_detail(71, names)
    assert python is not None and python["compile_cmd"] is None
    assert python["run_cmd"].endswith("script.py")
    assert j.language_detail(62, names) is None
    assert sdk.Language(**c).id == 50


# -- configuration ---------------------------------------------------------------------------------


def test_config_info_has_the_39_keys_the_sdk_requires() -> None:
    info = j.config_info(SETTINGS)
    assert len(info) == 39
    assert set(info) == set(sdk.base_types.Config.model_fields)
    sdk.base_types.Config(**info)
    assert "disable_implicit_base64_encoding" not in info  # master only


def test_config_info_says_our_real_caps() -> None:
    info = j.config_info(SETTINGS)
    assert info["cpu_time_limit"] == 5.0 and info["max_cpu_time_limit"] == 10.0
    assert info["wall_time_limit"] == 10.0 and info["max_wall_time_limit"] == 10.0
    assert info["memory_limit"] == 128000 and info["max_memory_limit"] == 256 * 1024
    assert info["max_processes_and_or_threads"] == 60
    assert info["max_max_processes_and_or_threads"] == 64
    assert info["max_file_size"] == 1024 and info["max_max_file_size"] == 4096
    assert info["max_number_of_runs"] == 20 and info["max_submission_batch_size"] == 20
    assert info["enable_callbacks"] is False and info["allow_enable_network"] is False
    assert info["allow_enable_per_process_and_thread_time_limit"] is False
    assert info["max_queue_size"] == SETTINGS.max_queue_length
    assert isinstance(info["callbacks_timeout"], float)


def test_defaults_follow_lower_server_caps() -> None:
    small = Settings(_env_file=None, execution_timeout=3, max_memory_mb=64, max_processes=8)
    info = j.config_info(small)
    assert info["cpu_time_limit"] == 3.0 and info["wall_time_limit"] == 3.0
    assert info["memory_limit"] == info["max_memory_limit"] == 64 * 1024
    assert info["max_processes_and_or_threads"] == 8
    sub, _ = j.accept(HELLO, base64_encoded=False, settings=small)
    assert sub.wall_time_limit == 3.0 and sub.memory_limit == 65536


# -- base64 ----------------------------------------------------------------------------------------


def test_encode64_is_rubys() -> None:
    assert j.encode64(b"hello\n") == "aGVsbG8K\n"
    assert j.encode64(b"") == ""
    wrapped = j.encode64(b"x" * 46)
    assert wrapped.split("\n")[0] == base64.b64encode(b"x" * 45).decode()  # 60 characters
    assert wrapped.count("\n") == 2 and wrapped.endswith("\n")


@pytest.mark.parametrize(
    "text",
    ["aGVsbG8K", "aGVsbG8K\n", "aGVs\nbG8K", "aGVsbG8K====", " a G V s b G 8 K ", "aGVs!bG8K"],
)
def test_decode64_is_lenient(text: str) -> None:
    assert j.decode64(text) == b"hello\n"


def test_decode64_never_fails() -> None:
    assert j.decode64("aGVsbG8") == b"hello"  # padding missing
    assert j.decode64("aGVsbG8Kx") == b"hello\n"  # a lone last character carries no byte
    assert j.decode64("aGVsbG8K=ignored") == b"hello\n"  # stops at the first `=`
    assert j.decode64("!!!") == b""


# -- submission defaults and casts -----------------------------------------------------------------


def test_defaults() -> None:
    sub, _ = accept()
    assert sub.model_dump() == {
        "source_code": "print(1)",
        "language_id": 71,
        "stdin": None,
        "expected_output": None,
        "number_of_runs": 1,
        "cpu_time_limit": 5.0,
        "cpu_extra_time": 1.0,
        "wall_time_limit": 10.0,
        "memory_limit": 128000,
        "stack_limit": 64000,
        "max_processes_and_or_threads": 60,
        "enable_per_process_and_thread_time_limit": False,
        "enable_per_process_and_thread_memory_limit": False,
        "max_file_size": 1024,
        "compiler_options": None,
        "command_line_arguments": None,
        "redirect_stderr_to_stdout": False,
        "callback_url": None,
        "additional_files": None,
        "enable_network": False,
    }


def test_only_null_missing_or_empty_gets_the_default() -> None:
    sub, _ = accept(cpu_time_limit=0, cpu_extra_time=None, stack_limit="", max_file_size=0)
    assert sub.cpu_time_limit == 0.0 and sub.cpu_extra_time == 1.0
    assert sub.stack_limit == 64000 and sub.max_file_size == 0


def test_rails_casts() -> None:
    sub, _ = accept(
        language_id="54",
        cpu_time_limit="2.5",
        memory_limit=65536.9,  # an integer column truncates
        number_of_runs="2",
        redirect_stderr_to_stdout="1",
        enable_network="false",
        stdin=12,
        unknown_field="dropped",
        source_code="int main(){}",
    )
    assert sub.language_id == 54 and sub.cpu_time_limit == 2.5 and sub.memory_limit == 65536
    assert sub.number_of_runs == 2 and sub.redirect_stderr_to_stdout is True
    assert sub.enable_network is False and sub.stdin == "12"
    assert accept(language_id="71abc")[0].language_id == 71  # Ruby's to_i
    for false in (False, 0, "0", "f", "false", "off", "OFF"):
        assert accept(redirect_stderr_to_stdout=false)[0].redirect_stderr_to_stdout is False
    for true in (True, 1, "true", "t", "yes", "on"):
        assert accept(redirect_stderr_to_stdout=true)[0].redirect_stderr_to_stdout is True


def test_arrays_and_objects_are_dropped_as_rails_permit_does() -> None:
    sub, _ = accept(stdin=["a"], cpu_time_limit={"x": 1})
    assert sub.stdin is None and sub.cpu_time_limit == 5.0


# -- 422: every rule -------------------------------------------------------------------------------


def test_missing_everything() -> None:
    assert errors({}) == {
        "source_code": ["can't be blank"],
        "language_id": ["can't be blank", "language with id  doesn't exist"],
    }
    assert errors({"source_code": "  \n ", "language_id": 71}) == {
        "source_code": ["can't be blank"]
    }


def test_unknown_language() -> None:
    assert errors({**HELLO, "language_id": 62}) == {
        "language_id": ["language with id 62 doesn't exist"]
    }
    assert errors({**HELLO, "language_id": "abc"}) == {
        "language_id": ["language with id 0 doesn't exist"]
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("number_of_runs", 0, "must be greater than 0"),
        ("number_of_runs", 21, "must be less than or equal to 20"),
        ("cpu_time_limit", -0.1, "must be greater than or equal to 0"),
        ("cpu_time_limit", 10.5, "must be less than or equal to 10.0"),  # our cap, not 15
        ("cpu_extra_time", -1, "must be greater than or equal to 0"),
        ("cpu_extra_time", 5.5, "must be less than or equal to 5.0"),
        ("wall_time_limit", 0.5, "must be greater than or equal to 1"),
        ("wall_time_limit", 10.1, "must be less than or equal to 10.0"),  # our cap, not 20
        ("memory_limit", 2047, "must be greater than or equal to 2048"),
        ("memory_limit", 262145, "must be less than or equal to 262144"),  # our 256 MB
        ("stack_limit", -1, "must be greater than or equal to 0"),
        ("stack_limit", 128001, "must be less than or equal to 128000"),
        ("max_processes_and_or_threads", 0, "must be greater than 0"),
        ("max_processes_and_or_threads", 65, "must be less than or equal to 64"),  # ours
        ("max_file_size", -1, "must be greater than or equal to 0"),
        ("max_file_size", 4097, "must be less than or equal to 4096"),
        ("cpu_time_limit", "abc", "is not a number"),
        ("memory_limit", True, "is not a number"),
        ("wall_time_limit", "1e400", "must be less than or equal to 10.0"),
    ],
)
def test_numeric_bounds(field: str, value: Any, message: str) -> None:
    assert errors({**HELLO, field: value}) == {field: [message]}


def test_bounds_hold_at_their_edges() -> None:
    sub, _ = accept(
        cpu_time_limit=10,
        cpu_extra_time=5,
        wall_time_limit=1,
        memory_limit=2048,
        stack_limit=0,
        max_processes_and_or_threads=64,
        max_file_size=4096,
        number_of_runs=20,
    )
    assert sub.memory_limit == 2048 and sub.number_of_runs == 20


def test_refused_options() -> None:
    assert errors(
        {
            **HELLO,
            "callback_url": "http://example.invalid/",
            "enable_network": True,
            "enable_per_process_and_thread_time_limit": True,
            "enable_per_process_and_thread_memory_limit": "true",
        }
    ) == {
        "enable_per_process_and_thread_time_limit": ["this option cannot be enabled"],
        "enable_per_process_and_thread_memory_limit": ["this option cannot be enabled"],
        "callback_url": ["setting callback is not allowed"],
        "enable_network": ["enabling network is not allowed"],
    }
    sub, _ = accept(callback_url="  ", enable_network=False)  # blank, false: nothing to refuse
    assert sub.callback_url == "  "


def test_compiler_options() -> None:
    c = {"source_code": "int main(void){return 0;}", "language_id": 50}
    _, job = j.accept(
        {**c, "compiler_options": "-O0 -Wall -DX=1"}, base64_encoded=False, settings=SETTINGS
    )
    assert job.compiler_options == ["-O0", "-Wall", "-DX=1"]
    assert errors({**c, "compiler_options": "-O2 -fplugin=x.so -o /tmp/x"}) == {
        "compiler_options": [
            "compiler option -fplugin=x.so is not allowed",
            "compiler option -o is not allowed",
            "compiler option /tmp/x is not allowed",
        ]
    }
    assert errors({**HELLO, "compiler_options": "-O2"}) == {
        "compiler_options": ["setting compiler options is only allowed for compiled languages"]
    }
    assert errors({**c, "compiler_options": "x" * 513}) == {
        "compiler_options": ["is too long (maximum is 512 characters)"]
    }
    assert errors({**c, "compiler_options": "'-O2"}) == {
        "compiler_options": ["has an unclosed quote"]
    }
    assert errors({**c, "compiler_options": " ".join(["-O2"] * 17)}) == {
        "compiler_options": ["at most 16 compiler options are allowed"]
    }
    # Upstream strips shell characters: `-O2;` is `-O2`, never a second command.
    _, job = j.accept({**c, "compiler_options": "-O2;"}, base64_encoded=False, settings=SETTINGS)
    assert job.compiler_options == ["-O2"]


def test_command_line_arguments() -> None:
    _, job = accept(command_line_arguments="a 'b c' \"d\" e;f $HOME `x` |y")
    assert job.args == ["a", "b c", "d", "ef", "HOME", "x", "y"]
    assert accept(command_line_arguments="   ")[1].args == []
    assert errors({**HELLO, "command_line_arguments": "x" * 513}) == {
        "command_line_arguments": ["is too long (maximum is 512 characters)"]
    }
    assert errors({**HELLO, "command_line_arguments": '"a'}) == {
        "command_line_arguments": ["has an unclosed quote"]
    }
    assert list(errors({**HELLO, "command_line_arguments": "a " * 65})) == [
        "command_line_arguments"
    ]


# -- base64_encoded --------------------------------------------------------------------------------


def test_base64_decodes_source_stdin_and_expected_only() -> None:
    raw = {
        "source_code": "cHJpbnQoMSk=",
        "language_id": 71,
        "stdin": "eA",  # no padding
        "expected_output": "MQo=",
        "command_line_arguments": "YQ==",  # not decoded upstream either
    }
    sub, job = j.accept(raw, base64_encoded=True, settings=SETTINGS)
    assert (sub.source_code, sub.stdin, sub.expected_output) == ("print(1)", "x", "1\n")
    assert job.args == ["YQ=="]


def test_base64_text_must_be_utf8() -> None:
    raw = {**HELLO, "source_code": base64.b64encode(b"\xff\xfe").decode()}
    assert errors(raw, b64=True) == {"source_code": ["is not valid UTF-8 text"]}


# -- additional_files ------------------------------------------------------------------------------


def test_additional_files_become_data_files() -> None:
    archive = zipped({"data.txt": "hello", "blob.bin": b"\x00\xff", "script.py": "ignored"})
    sub, job = accept(additional_files=archive)
    assert sub.additional_files == archive
    files = {f.name: f for f in job.files}
    assert set(files) == {"data.txt", "blob.bin"}  # upstream's `unzip -n`: the source wins
    assert all(f.encoding == "base64" for f in files.values())
    assert base64.b64decode(files["blob.bin"].content) == b"\x00\xff"
    assert job.code == "print(1)" and job.filename == "script.py"


def test_additional_files_are_always_base64_and_lenient() -> None:
    archive = zipped({"a.txt": "x"})
    wrapped = "\n".join(archive[i : i + 60] for i in range(0, len(archive), 60))
    sub, _ = j.accept(
        {**HELLO, "additional_files": wrapped}, base64_encoded=False, settings=SETTINGS
    )
    assert sub.additional_files == archive


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"../escape.txt": "x"}, "only files at the top level"),
        ({"dir/inner.txt": "x"}, "only files at the top level"),
        ({"/etc/passwd": "x"}, "only files at the top level"),
        ({".hidden": "x"}, "invalid file name"),
        ({"main": "x"}, "invalid file name"),  # our compiled binary's name
        ({"big.bin": b"\x00" * (10240 * 1024 + 1)}, "is larger than 10240 KB extracted"),
        ({f"f{i}.txt": "x" for i in range(16)}, "has more than 15 files"),
    ],
)
def test_unsafe_archives_are_refused(files: dict[str, Any], message: str) -> None:
    found = errors({**HELLO, "additional_files": zipped(files)})
    assert list(found) == ["additional_files"]
    assert message in found["additional_files"][0], found


def test_not_a_zip_is_refused() -> None:
    assert errors({**HELLO, "additional_files": "bm90IGEgemlw"}) == {
        "additional_files": ["is not a valid zip archive"]
    }


def test_symlinks_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    found = errors({**HELLO, "additional_files": base64.b64encode(buffer.getvalue()).decode()})
    assert "symbolic links" in found["additional_files"][0]


def test_a_bomb_whose_headers_lie_is_caught_while_extracting() -> None:
    """Declared sizes patched down to 1 byte: zipfile reads no more than declared and checks
    the CRC, and our budget counts what was really read; either way it is refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\x00" * (11 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    real = (11 * 1024 * 1024).to_bytes(4, "little")
    for at in range(len(data) - 3):  # the local header's and the central directory's size
        if data[at : at + 4] == real:
            data[at : at + 4] = (1).to_bytes(4, "little")
    found = errors({**HELLO, "additional_files": base64.b64encode(bytes(data)).decode()})
    assert list(found) == ["additional_files"]


# -- translation to our job ------------------------------------------------------------------------


def test_limits_in_our_units() -> None:
    _, job = accept()
    limits = job.limits
    assert limits.time_s == 10.0 and limits.cpu_s == 6.0  # the limit plus its extra time
    assert limits.memory_mb == 125 and limits.processes == 60
    assert limits.file_size_mb == 1 and limits.stack_kb == 64000
    _, job = accept(cpu_time_limit=10, cpu_extra_time=5, memory_limit=2048, max_file_size=1025)
    assert job.limits.cpu_s == 10.0  # cut at EXECUTION_TIMEOUT
    assert job.limits.memory_mb == 16  # our minimum
    assert job.limits.stack_kb == 16 * 1024  # at most the memory limit
    assert job.limits.file_size_mb == 2  # rounded up
    _, job = accept(cpu_time_limit=0, cpu_extra_time=0, stack_limit=0, max_file_size=0)
    assert job.limits.cpu_s is None and job.limits.stack_kb is None and job.limits.file_size_mb == 1


def test_a_plain_run() -> None:
    _, job = accept(stdin="in", redirect_stderr_to_stdout=True)
    assert job.language == "python" and job.stdin == "in" and job.tests is None
    assert job.merge_stderr is True and job.stop_on_failure is False


def test_expected_output_is_one_judged_test() -> None:
    _, job = accept(stdin="in", expected_output="out")
    assert job.stdin is None and job.compare == "lines" and job.stop_on_failure
    assert [(t.stdin, t.expected_output) for t in job.tests] == [("in", "out")]


def test_number_of_runs_is_that_many_tests() -> None:
    _, job = accept(number_of_runs=3, stdin="in")
    assert [(t.stdin, t.expected_output) for t in job.tests] == [("in", None)] * 3
    assert job.stop_on_failure


def test_our_plan_refusals_are_422s() -> None:
    small = Settings(_env_file=None, max_code_kb=1, max_input_kb=1, max_tests_kb=1)
    assert list(errors({**HELLO, "source_code": "#" * 2000}, settings=small)) == ["source_code"]
    assert list(errors({**HELLO, "stdin": "x" * 2000}, settings=small)) == ["stdin"]
    judged = {**HELLO, "stdin": "x" * 600, "number_of_runs": 2}
    assert list(errors(judged, settings=small)) == ["stdin"]


# -- results as Judge0's statuses ------------------------------------------------------------------

SUB = j.Submission(source_code="x", language_id=71)


def result(status: str, **fields: Any) -> JobResult:
    base: dict[str, Any] = {"cpu_time": 0.01, "execution_time": 0.02, "memory_kb": 1000}
    return JobResult(job_id="0" * 32, status=status, **{**base, **fields})


@pytest.mark.parametrize(
    ("status", "fields", "status_id", "message", "exit_signal"),
    [
        ("ok", {"exit_code": 0}, 3, None, None),
        ("timeout", {"signal": "SIGKILL", "cpu_time": 6.0}, 5, "Time limit exceeded", 9),
        ("timeout", {"signal": "SIGKILL"}, 5, "Time limit exceeded (wall clock)", 9),
        ("runtime_error", {"signal": "SIGSEGV"}, 7, "Caught fatal signal 11", 11),
        ("runtime_error", {"signal": "SIGXFSZ"}, 8, "Caught fatal signal 25", 25),
        ("runtime_error", {"signal": "SIGFPE"}, 9, "Caught fatal signal 8", 8),
        ("runtime_error", {"signal": "SIGABRT"}, 10, "Caught fatal signal 6", 6),
        ("runtime_error", {"signal": "SIGUSR1"}, 12, "Caught fatal signal 10", 10),
        ("runtime_error", {"signal": "SIG40"}, 12, "Caught fatal signal 40", 40),
        ("runtime_error", {"exit_code": 3}, 11, "Exited with error status 3", None),
        ("memory_limit", {"signal": "SIGKILL"}, 12, "Memory limit exceeded", 9),
        ("output_limit", {"signal": "SIGKILL"}, 8, "Output limit exceeded", 9),
        ("killed", {"message": "the gateway stopped"}, 13, "the gateway stopped", None),
        ("internal_error", {"message": "the sandbox failed"}, 13, "the sandbox failed", None),
    ],
)
def test_verdicts(
    status: str,
    fields: dict[str, Any],
    status_id: int,
    message: str | None,
    exit_signal: int | None,
) -> None:
    out = j.outcome(result(status, **fields), SUB)
    assert (out.status_id, out.message, out.exit_signal) == (status_id, message, exit_signal)
    assert out.exit_code == fields.get("exit_code") or out.exit_code == 0  # `exitcode || 0`


def test_clean_run_over_its_cpu_limit_is_a_tle() -> None:
    """Upstream's extra time lets a program run on past its CPU limit; the verdict is TLE."""
    out = j.outcome(result("ok", exit_code=0, cpu_time=5.5), SUB)
    assert (out.status_id, out.message) == (5, "Time limit exceeded")
    unlimited = SUB.model_copy(update={"cpu_time_limit": 0.0})
    assert j.outcome(result("ok", exit_code=0, cpu_time=5.5), unlimited).status_id == 3


def test_pending_and_errors() -> None:
    assert j.outcome(result("queued"), SUB) == j.Outcome(1)
    assert j.outcome(result("running"), SUB) == j.Outcome(2)
    out = j.outcome(result("error", message="no live worker serves python"), SUB)
    assert (out.status_id, out.message, out.time) == (13, "no live worker serves python", None)


def test_compile_errors_have_only_compile_output() -> None:
    out = j.outcome(result("compile_error", compile_output="main.c:1: error", exit_code=1), SUB)
    assert out == j.Outcome(6, compile_output="main.c:1: error")
    slow = result("compile_error", message="compilation took longer than 30 s")
    assert j.outcome(slow, SUB).compile_output == "Compilation time limit exceeded."


def test_outputs_empty_are_null_and_compile_warnings_stay() -> None:
    out = j.outcome(result("ok", exit_code=0, stdout="", compile_output="warning: x"), SUB)
    assert out.stdout is None and out.stderr is None and out.compile_output == "warning: x"


def report(index: int, status: Status, **fields: Any) -> Report:
    base: dict[str, Any] = {"exit_code": 0, "execution_time": 0.1, "cpu_time": 0.1}
    return Report(index=index, status=status, **{**base, **fields})


def test_judged_runs_average_time_and_memory() -> None:
    reports = [
        report(0, Status.ACCEPTED, cpu_time=0.1, memory_kb=1000, stdout="a\n"),
        report(1, Status.ACCEPTED, cpu_time=0.3, memory_kb=2001, stdout="b\n", execution_time=0.7),
    ]
    out = j.outcome(result("accepted", tests=reports, stdout=""), SUB)
    assert out.status_id == 3 and out.stdout == "b\n"
    assert out.time == pytest.approx(0.2) and out.memory == 1500
    assert out.wall_time == 0.7  # the last run's, not averaged (upstream)


def test_judged_runs_stop_at_the_first_failure() -> None:
    reports = [
        report(0, Status.ACCEPTED),
        report(1, Status.WRONG_ANSWER, stdout="no\n", message="the output differs"),
        report(2, Status.ACCEPTED),
    ]
    out = j.outcome(result("wrong_answer", tests=reports), SUB)
    assert (out.status_id, out.stdout, out.message) == (4, "no\n", None)
    over = [report(0, Status.ACCEPTED, cpu_time=5.2), report(1, Status.ACCEPTED)]
    assert j.outcome(result("accepted", tests=over), SUB).status_id == 5


# -- the serializer --------------------------------------------------------------------------------

TOKEN = "f1b2c3d4-0000-4000-8000-000000000000"


def shown(out: j.Outcome, sub: j.Submission = SUB, finished: float | None = 2.5) -> j.Shown:
    record = j.Record(submission=sub, created_at=1712123451.3064)
    return j.Shown(TOKEN, record, out, "Python (3.11.2)", finished)


DONE = j.Outcome(3, stdout="hi\n", time=0.0021, wall_time=0.01, memory=1024, exit_code=0)


def test_default_fields_in_column_order() -> None:
    body = j.render(shown(DONE), j.parse_fields(None), base64_encoded=False)
    assert body == {
        "stdout": "hi\n",
        "time": "0.002",
        "memory": 1024,
        "stderr": None,
        "token": TOKEN,
        "compile_output": None,
        "message": None,
        "status": {"id": 3, "description": "Accepted"},
    }


def test_every_field() -> None:
    body = j.render(shown(DONE), j.parse_fields("*"), base64_encoded=False)
    assert tuple(body) == j.ALL_FIELDS and len(body) == 35
    assert body["created_at"] == "2024-04-03T05:50:51.306Z"
    assert body["finished_at"] == "1970-01-01T00:00:02.500Z"
    assert body["cpu_time_limit"] == "5.0" and body["cpu_extra_time"] == "1.0"
    assert body["wall_time_limit"] == "10.0" and body["wall_time"] == "0.01"
    assert body["memory_limit"] == 128000 and body["stack_limit"] == 64000
    assert body["language"] == {"id": 71, "name": "Python (3.11.2)"} and body["status_id"] == 3
    assert body["exit_code"] == 0 and body["exit_signal"] is None


def test_the_sdk_takes_every_field_we_send() -> None:
    """The SDK setattr()s each key on its pydantic model: one unknown key and it raises."""
    sub = SUB.model_copy(update={"additional_files": zipped({"a.txt": "x"})})
    body = j.render(shown(DONE, sub), j.parse_fields("*"), base64_encoded=True)
    submission = sdk.Submission()
    submission.set_attributes(body)
    assert submission.stdout == "hi\n" and submission.status == sdk.Status.ACCEPTED
    assert submission.time == 0.002 and submission.memory == 1024
    assert submission.finished_at is not None and submission.created_at is not None


def test_base64_mode_encodes_every_text_message_too() -> None:
    out = j.Outcome(11, stdout="x" * 61, stderr="e", message="Exited with error status 1")
    sub = SUB.model_copy(update={"stdin": "in", "expected_output": ""})
    body = j.render(shown(out, sub), j.parse_fields("*"), base64_encoded=True)
    assert body["stdout"] == j.encode64(b"x" * 61) and body["stdout"].count("\n") == 2
    assert body["message"] == "RXhpdGVkIHdpdGggZXJyb3Igc3RhdHVzIDE=\n"
    assert body["source_code"] == "eA==\n" and body["stdin"] == "aW4=\n"
    assert body["expected_output"] == "" and body["compile_output"] is None


def test_additional_files_are_always_shown_in_base64() -> None:
    archive = zipped({"a.txt": "x"})
    sub = SUB.model_copy(update={"additional_files": archive})
    body = j.render(shown(DONE, sub), ("additional_files",), base64_encoded=False)
    assert body["additional_files"] == j.encode64(base64.b64decode(archive))


def test_pending_submission() -> None:
    body = j.render(shown(j.Outcome(1), finished=None), j.parse_fields("*"), False)
    assert body["status"] == {"id": 1, "description": "In Queue"}
    assert body["time"] is None and body["memory"] is None and body["finished_at"] is None
    assert body["exit_code"] is None and body["stdout"] is None


def test_text_that_utf8_cannot_carry() -> None:
    out = j.Outcome(3, stdout="\ud800")
    with pytest.raises(j.NotUtf8):
        j.render(shown(out), ("stdout",), base64_encoded=False)
    assert j.render(shown(j.Outcome(3, stdout="あ")), ("stdout",), False) == {"stdout": "あ"}


def test_decimals() -> None:
    assert [j.decimal(v) for v in (0.0021, 5, 2.5, 0.0, 1e-05, 12.3456)] == [
        "0.002",
        "5.0",
        "2.5",
        "0.0",
        "0.0",
        "12.346",
    ]
    assert j.decimal(None) is None


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (
            None,
            ("stdout", "time", "memory", "stderr", "token", "compile_output", "message", "status"),
        ),
        ("", j.parse_fields(None)),
        ("status,stdout", ("stdout", "status")),  # the serializer's order, not the request's
        ("stdout,", ("stdout",)),  # Ruby's split drops a trailing empty string
        ("*", j.ALL_FIELDS),
        ("stdout,*", j.ALL_FIELDS),
    ],
)
def test_fields(raw: str | None, fields: tuple[str, ...]) -> None:
    assert j.parse_fields(raw) == fields


def test_invalid_fields() -> None:
    with pytest.raises(j.InvalidFields) as caught:
        j.parse_fields("stdout,foo,,bar")
    assert str(caught.value) == "invalid fields: [foo, , bar]"
    with pytest.raises(j.InvalidFields, match=r"^invalid fields: \[started_at\]$"):
        j.parse_fields("started_at")  # master's column: not in 1.13.1


def test_tokens_are_uuid4_job_ids() -> None:
    token, job_id = j.new_token()
    assert len(job_id) == 32 and j.job_id_of(token) == job_id
    assert j.job_id_of(token.upper()) == job_id
    for bad in (job_id, "nope", "", f"{{{token}}}", "urn:uuid:" + token):
        assert j.job_id_of(bad) is None


# -- the routes that need no Redis -----------------------------------------------------------------


def app_client(mode: str) -> TestClient:
    settings = Settings(_env_file=None, jwt_secret="s" * 40, api_keys="k1", judge0_api=mode)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient]:
    with app_client("key") as client:
        yield client


def test_off_is_not_there() -> None:
    with app_client("off") as client:
        for path in ("/judge0", "/judge0/about", "/judge0/languages", "/judge0/submissions/x"):
            reply = client.get(path, headers={"X-Auth-Token": "k1"})
            assert reply.status_code == 404, path
            assert reply.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_a_key_is_needed(keyed: TestClient) -> None:
    for method, path in (("GET", "/judge0/about"), ("POST", "/judge0/submissions")):
        reply = keyed.request(method, path, headers={"X-Auth-Token": "wrong"})
        assert (reply.status_code, reply.content) == (401, b"")
    assert keyed.get("/judge0/").status_code == 200 and keyed.get("/judge0").content == b""


def test_static_routes_with_trailing_slashes(keyed: TestClient) -> None:
    key = {"X-Auth-Token": "k1"}
    assert keyed.get("/judge0/about/", headers=key).json() == j.ABOUT
    assert keyed.get("/judge0/about", params={"X-Auth-Token": "k1"}).json()["version"] == "1.13.1"
    assert keyed.get("/judge0/statuses", headers=key).json() == j.statuses()
    assert len(keyed.get("/judge0/config_info/", headers=key).json()) == 39
    assert keyed.get("/judge0/version", headers=key).text == "1.13.1"
    assert keyed.get("/judge0/submissions", headers=key).status_code == 403
    assert keyed.delete(f"/judge0/submissions/{TOKEN}", headers=key).status_code == 403


def test_request_refusals_before_any_redis(keyed: TestClient) -> None:
    key = {"X-Auth-Token": "k1"}
    bad_fields = keyed.post("/judge0/submissions?fields=nope", headers=key, json=HELLO)
    assert (bad_fields.status_code, bad_fields.json()) == (400, {"error": "invalid fields: [nope]"})
    invalid = keyed.post("/judge0/submissions/", headers=key, json={"language_id": 71})
    assert (invalid.status_code, invalid.json()) == (422, {"source_code": ["can't be blank"]})
    not_json = keyed.post("/judge0/submissions", headers=key, content=b"{nope")
    assert not_json.status_code == 400 and "error" in not_json.json()
    form = keyed.post("/judge0/submissions", headers=key, data={"language_id": "71"})
    assert form.json() == {"source_code": ["can't be blank"]}
    huge = keyed.post("/judge0/submissions", headers=key, content=b" " * (2049 * 1024))
    assert huge.status_code == 413 and "error" in huge.json()
    assert keyed.get("/judge0/submissions/batch", headers=key).status_code == 400


def test_openapi_lists_the_judge0_routes_once_each() -> None:
    settings = Settings(_env_file=None, jwt_secret="s" * 40, api_keys="k1")
    paths = create_app(settings).openapi()["paths"]
    assert set(paths["/judge0/submissions/{token}"]) == {"get", "delete"}
    assert set(paths["/judge0/submissions"]) == {"get", "post"}
    assert "/judge0/submissions/" not in paths  # the trailing-slash twins stay out
    token = paths["/judge0/submissions/{token}"]["get"]["parameters"]
    assert token == [
        {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


@pytest.mark.parametrize(
    ("error", "status", "body", "retry"),
    [
        (QueueFull("the job queue is full"), 503, b'{"error":"queue is full"}', "5"),
        (RateLimited("too many", retry_after_s=7), 429, b'{"error":"too many"}', "7"),
        (TryAgainLater("the key runs 50 jobs"), 429, b'{"error":"the key runs 50 jobs"}', "1"),
        (
            ServiceUnavailable("redis: OOM", reason="OOM"),
            503,
            b'{"error":"the service is temporarily unavailable"}',
            "5",
        ),
        (AuthError("bad key"), 401, b"", None),
        (NotFound("no such job"), 404, b'{"status":404,"error":"Not Found"}', None),
        (MessageTooLarge("over 2048 KB"), 413, b'{"error":"over 2048 KB"}', None),
    ],
)
def test_our_errors_in_judge0s_shapes(
    error: RequestError | ServiceUnavailable, status: int, body: bytes, retry: str | None
) -> None:
    reply = translate(error).response()
    assert (reply.status_code, reply.body) == (status, body)
    assert reply.headers.get("retry-after") == retry
