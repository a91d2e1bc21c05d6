"""lib.results: what a result keeps of a stream, the result of a finished job, the states before
one, and what Redis holds (pure)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from lib import results
from lib.codes import ErrorCode, Status
from lib.protocol import Complete, Error
from lib.protocol import TestReport as Report  # not Test*: pytest would try to collect it
from lib.results import RESULT_OUTPUT_KB, Captured, JobResult, JobState, Outputs, ResultError

JOB = "0123456789abcdef0123456789abcdef"

OUTPUTS = Outputs(
    stdout="out",
    stderr="err",
    compile_output="cc",
    stdout_truncated=True,
    stderr_truncated=False,
    compile_output_truncated=True,
)


def report(index: int, status: Status = Status.ACCEPTED) -> Report:
    return Report(index=index, status=status, exit_code=0, execution_time=0.5, stdout=f"{index}\n")


# --- Captured -----------------------------------------------------------------------------------


def test_captured_keeps_everything_below_the_limit() -> None:
    c = Captured(limit_chars=10)
    c.add("abc")
    c.add("def")
    assert c.text == "abcdef"
    assert c.size == 6
    assert c.truncated is False


def test_captured_exactly_at_the_limit_is_not_truncated() -> None:
    c = Captured(limit_chars=6)
    c.add("abc")
    c.add("def")
    assert c.text == "abcdef"
    assert c.truncated is False
    c.add("")
    assert c.truncated is False


def test_captured_cuts_at_the_limit() -> None:
    c = Captured(limit_chars=4)
    c.add("abc")
    c.add("def")
    assert c.text == "abcd"
    assert c.size == 4
    assert c.truncated is True


def test_captured_keeps_nothing_after_the_limit() -> None:
    c = Captured(limit_chars=3)
    c.add("abcdef")
    c.add("ghi")
    assert c.text == "abc"
    assert c.size == 3
    assert c.truncated is True


def test_captured_at_the_limit_then_more() -> None:
    c = Captured(limit_chars=3)
    c.add("abc")
    assert c.truncated is False
    c.add("d")
    assert c.text == "abc"
    assert c.truncated is True


def test_captured_counts_characters() -> None:
    c = Captured(limit_chars=2)
    c.add("\u00e9\u00e9\u00e9")
    assert c.text == "\u00e9\u00e9"
    assert c.truncated is True


def test_captured_default_limit() -> None:
    c = Captured()
    assert c.limit == RESULT_OUTPUT_KB * 1024
    c.add("x" * c.limit)
    assert c.truncated is False
    c.add("y")
    assert c.truncated is True
    assert c.text == "x" * c.limit


def test_captured_empty() -> None:
    c = Captured()
    assert c.text == ""
    assert c.truncated is False


# --- from_final ---------------------------------------------------------------------------------


def test_from_a_complete() -> None:
    final = Complete(
        exit_code=3,
        execution_time=1.25,
        status=Status.RUNTIME_ERROR,
        signal="SIGSEGV",
        cpu_time=0.5,
        memory_kb=2048,
        message="boom",
    )
    result = results.from_final(JOB, "c", final, OUTPUTS)
    assert result == JobResult(
        job_id=JOB,
        status="runtime_error",
        language="c",
        exit_code=3,
        signal="SIGSEGV",
        stdout="out",
        stderr="err",
        compile_output="cc",
        stdout_truncated=True,
        stderr_truncated=False,
        compile_output_truncated=True,
        execution_time=1.25,
        cpu_time=0.5,
        memory_kb=2048,
        message="boom",
    )
    assert result.tests is None and result.passed is None and result.total is None
    assert result.error is None


def test_from_a_judged_complete() -> None:
    reports = [report(0), report(1, Status.WRONG_ANSWER)]
    final = Complete(
        exit_code=0,
        execution_time=1.0,
        status=Status.WRONG_ANSWER,
        message="test 1: differs",
        passed=1,
        total=2,
    )
    result = results.from_final(JOB, "python", final, Outputs(), reports)
    assert result.status == "wrong_answer"
    assert result.tests == reports
    assert (result.passed, result.total) == (1, 2)
    assert result.message == "test 1: differs"


def test_from_an_error() -> None:
    final = Error(code=ErrorCode.LANGUAGE_UNAVAILABLE, message="rust is not installed here")
    result = results.from_final(JOB, "rust", final, OUTPUTS, [report(0)])
    assert result.status == JobState.ERROR.value == "error"
    assert result.language == "rust"
    assert result.error == ResultError(
        code=ErrorCode.LANGUAGE_UNAVAILABLE, message="rust is not installed here"
    )
    assert result.message == "rust is not installed here"
    assert result.exit_code is None
    assert result.tests is None  # an error has no verdicts
    assert (result.stdout, result.compile_output) == ("out", "cc")
    assert result.stdout_truncated is True


# --- before a verdict ---------------------------------------------------------------------------


@pytest.mark.parametrize(("started", "state"), [(False, "queued"), (True, "running")])
def test_pending(started: bool, state: str) -> None:
    result = results.pending(JOB, started)
    assert result == JobResult(job_id=JOB, status=state)
    assert result.language is None
    assert result.stdout == ""
    assert result.error is None


# --- what Redis holds ---------------------------------------------------------------------------


def test_encode_decode_round_trip() -> None:
    final = Complete(exit_code=0, execution_time=0.5, status=Status.ACCEPTED, passed=2, total=2)
    result = results.from_final(JOB, "cpp", final, OUTPUTS, [report(0), report(1)])
    raw = results.encode_stored("key-9", result)
    assert json.loads(raw)["key_id"] == "key-9"
    assert json.loads(raw)["result"]["tests"][1]["type"] == "test"
    for form in (raw, raw.encode()):
        stored = results.decode_stored(form)
        assert stored.key_id == "key-9"
        assert stored.result == result


def test_round_trip_of_an_error_and_of_a_pending_result() -> None:
    error = results.from_final(JOB, "c", Error(code=ErrorCode.INTERNAL_ERROR, message="m"), OUTPUTS)
    assert results.decode_stored(results.encode_stored("", error)).result == error
    queued = results.pending(JOB, False)
    assert results.decode_stored(results.encode_stored("k", queued)).result == queued


def test_decode_refuses_what_is_not_a_stored_result() -> None:
    with pytest.raises(ValidationError):
        results.decode_stored("{}")
    with pytest.raises(ValidationError):
        results.decode_stored("not json")
