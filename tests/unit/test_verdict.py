"""services.worker.verdict: from a stage result to the `complete` message (pure)."""

from __future__ import annotations

import json
import signal as signals

import pytest

from lib.protocol import Complete, Status, encode
from services.worker.stage import ReaperStatus, StageResult, Stop
from services.worker.verdict import compile_failure, complete, run_status, signal_name

SIGSEGV = int(signals.SIGSEGV)
SIGKILL = int(signals.SIGKILL)
SIGXCPU = int(signals.SIGXCPU)


def reaper(
    exit_code: int | None = 0,
    signal: int | None = None,
    wall_s: float = 0.5,
    cpu_s: float = 0.25,
    max_rss_kb: int = 2048,
) -> ReaperStatus:
    return ReaperStatus(exit_code, signal, wall_s, cpu_s, max_rss_kb)


OK_REAPER = reaper()
_DEFAULT = object()


def result(
    *,
    stopped: Stop | None = None,
    status: ReaperStatus | object | None = _DEFAULT,
    oom_kills: int = 0,
    wall_s: float = 0.75,
    cpu_s: float | None = None,
    peak_kb: int | None = None,
) -> StageResult:
    return StageResult(
        stopped=stopped,
        started=True,
        reaper=OK_REAPER if status is _DEFAULT else status,  # type: ignore[arg-type]
        returncode=0,
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_kb=peak_kb,
        oom_kills=oom_kills,
    )


# --- signal_name --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (11, "SIGSEGV"),
        (9, "SIGKILL"),
        (6, "SIGABRT"),
        (8, "SIGFPE"),
        (15, "SIGTERM"),
        (SIGXCPU, "SIGXCPU"),
        (0, None),
        (None, None),
        (200, "SIG200"),
    ],
)
def test_signal_name(number: int | None, name: str | None) -> None:
    assert signal_name(number) == name


# --- run_status ---------------------------------------------------------------------------------


def test_run_ok() -> None:
    assert run_status(result()) == (Status.OK, None)


def test_run_killed_by_the_client() -> None:
    status, message = run_status(result(stopped=Stop.KILLED))
    assert status is Status.KILLED
    assert message


def test_run_output_limit() -> None:
    status, message = run_status(result(stopped=Stop.OUTPUT))
    assert status is Status.OUTPUT_LIMIT
    assert message


def test_run_wall_timeout() -> None:
    status, message = run_status(result(stopped=Stop.TIMEOUT, status=None))
    assert status is Status.TIMEOUT
    assert message


def test_run_out_of_memory() -> None:
    status, message = run_status(result(oom_kills=1, status=reaper(None, SIGKILL)))
    assert status is Status.MEMORY_LIMIT
    assert message


def test_run_sigxcpu_is_a_timeout() -> None:
    status, message = run_status(result(status=reaper(None, SIGXCPU)))
    assert status is Status.TIMEOUT
    assert message and "CPU" in message


def test_run_reaper_missing_is_a_runtime_error() -> None:
    status, message = run_status(result(status=None))
    assert status is Status.RUNTIME_ERROR
    assert message


@pytest.mark.parametrize("code", [1, 2, 127, 255])
def test_run_nonzero_exit_is_a_runtime_error(code: int) -> None:
    assert run_status(result(status=reaper(code))) == (Status.RUNTIME_ERROR, None)


@pytest.mark.parametrize("sig", [SIGSEGV, SIGKILL, int(signals.SIGABRT)])
def test_run_signal_is_a_runtime_error(sig: int) -> None:
    assert run_status(result(status=reaper(None, sig))) == (Status.RUNTIME_ERROR, None)


def test_run_precedence_killed_over_everything() -> None:
    r = result(stopped=Stop.KILLED, oom_kills=3, status=reaper(None, SIGXCPU))
    assert run_status(r)[0] is Status.KILLED


def test_run_precedence_output_over_oom() -> None:
    assert run_status(result(stopped=Stop.OUTPUT, oom_kills=1))[0] is Status.OUTPUT_LIMIT


def test_run_precedence_timeout_over_oom() -> None:
    assert run_status(result(stopped=Stop.TIMEOUT, oom_kills=1))[0] is Status.TIMEOUT


def test_run_precedence_oom_over_missing_reaper() -> None:
    assert run_status(result(oom_kills=1, status=None))[0] is Status.MEMORY_LIMIT


def test_run_oom_even_when_the_program_exited_zero() -> None:
    # A child process was OOM-killed though the main program exited cleanly.
    assert run_status(result(oom_kills=1, status=reaper(0)))[0] is Status.MEMORY_LIMIT


# --- compile_failure ----------------------------------------------------------------------------


def test_compile_success_is_none() -> None:
    assert compile_failure(result(), 30.0) is None


def test_compile_killed() -> None:
    failure = compile_failure(result(stopped=Stop.KILLED), 30.0)
    assert failure is not None
    assert failure[0] is Status.KILLED


@pytest.mark.parametrize(("limit", "text"), [(30.0, "30 s"), (2.5, "2.5 s"), (0.25, "0.25 s")])
def test_compile_timeout(limit: float, text: str) -> None:
    failure = compile_failure(result(stopped=Stop.TIMEOUT, status=None), limit)
    assert failure is not None
    assert failure[0] is Status.COMPILE_ERROR
    assert text in failure[1]


def test_compile_output_limit() -> None:
    failure = compile_failure(result(stopped=Stop.OUTPUT), 30.0)
    assert failure is not None
    assert failure[0] is Status.COMPILE_ERROR
    assert "output" in failure[1]


def test_compile_out_of_memory() -> None:
    failure = compile_failure(result(oom_kills=2, status=reaper(None, SIGKILL)), 30.0)
    assert failure is not None
    assert failure[0] is Status.COMPILE_ERROR
    assert "memory" in failure[1]


@pytest.mark.parametrize(
    "status",
    [None, reaper(1), reaper(None, SIGSEGV), reaper(None, SIGXCPU), reaper(4, None)],
    ids=["no-reaper", "exit-1", "sigsegv", "sigxcpu", "exit-4"],
)
def test_compile_failed(status: ReaperStatus | None) -> None:
    assert compile_failure(result(status=status), 30.0) == (
        Status.COMPILE_ERROR,
        "compilation failed",
    )


def test_compile_precedence_killed_over_timeout() -> None:
    failure = compile_failure(result(stopped=Stop.KILLED, oom_kills=1), 30.0)
    assert failure is not None
    assert failure[0] is Status.KILLED


# --- complete -----------------------------------------------------------------------------------


def test_complete_without_a_result() -> None:
    msg = complete(Status.COMPILE_ERROR, None, "compilation failed")
    assert msg == Complete(
        exit_code=None,
        execution_time=0.0,
        status=Status.COMPILE_ERROR,
        signal=None,
        cpu_time=0.0,
        memory_kb=0,
        message="compilation failed",
    )


def test_complete_from_the_reaper() -> None:
    r = result(
        status=reaper(3, None, wall_s=1.234567, cpu_s=0.987654, max_rss_kb=4096),
        wall_s=9.0,
        cpu_s=8.0,
        peak_kb=999,
    )
    msg = complete(Status.RUNTIME_ERROR, r)
    assert msg.exit_code == 3
    assert msg.execution_time == 1.2346
    assert msg.cpu_time == 0.9877
    assert msg.memory_kb == 4096
    assert msg.signal is None
    assert msg.status is Status.RUNTIME_ERROR
    assert msg.message is None


def test_complete_with_a_signal() -> None:
    msg = complete(Status.RUNTIME_ERROR, result(status=reaper(None, SIGSEGV)))
    assert msg.signal == "SIGSEGV"
    assert msg.exit_code is None
    data = json.loads(encode(msg))
    assert data["signal"] == "SIGSEGV"
    assert data["exit_code"] is None


def test_complete_ok_has_exit_code_zero_and_null_signal() -> None:
    data = json.loads(encode(complete(Status.OK, result())))
    assert data["exit_code"] == 0
    assert data["signal"] is None
    assert data["status"] == "ok"


def test_complete_memory_falls_back_to_the_cgroup_peak() -> None:
    msg = complete(Status.OK, result(status=reaper(max_rss_kb=0), peak_kb=777))
    assert msg.memory_kb == 777


def test_complete_without_reaper_uses_the_clock_and_the_cgroup() -> None:
    r = result(stopped=Stop.TIMEOUT, status=None, wall_s=2.000049, cpu_s=1.23456, peak_kb=5000)
    msg = complete(Status.TIMEOUT, r, "the program ran past its time limit")
    assert msg.exit_code is None
    assert msg.signal is None
    assert msg.execution_time == 2.0
    assert msg.cpu_time == 1.2346
    assert msg.memory_kb == 5000
    assert msg.message == "the program ran past its time limit"


def test_complete_without_reaper_or_cgroup() -> None:
    msg = complete(Status.KILLED, result(status=None, wall_s=0.5, cpu_s=None, peak_kb=None))
    assert msg.cpu_time == 0.0
    assert msg.memory_kb == 0
    assert msg.execution_time == 0.5


def test_complete_memory_is_an_int() -> None:
    msg = complete(Status.OK, result(status=reaper(max_rss_kb=0), peak_kb=None))
    assert msg.memory_kb == 0
    assert isinstance(msg.memory_kb, int)


def test_sigkill_at_the_hard_cpu_limit_is_a_timeout() -> None:
    # A program that ignores SIGXCPU is killed at the hard limit, one second later.
    hit = result(status=reaper(None, SIGKILL, cpu_s=4.2))
    assert run_status(hit, cpu_limit_s=4)[0] is Status.TIMEOUT
    below = result(status=reaper(None, SIGKILL, cpu_s=1.0))
    assert run_status(below, cpu_limit_s=4)[0] is Status.RUNTIME_ERROR
    assert run_status(hit)[0] is Status.RUNTIME_ERROR  # no limit known: just a signal
