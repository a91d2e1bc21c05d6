"""services.worker.judge: one test's verdict and the job's verdict from its tests' (pure)."""

from __future__ import annotations

import pytest

from lib.codes import Status
from lib.compare import parse_compare
from lib.protocol import TestReport as Report  # not Test*: pytest would try to collect it
from services.worker import judge
from services.worker.judge import FAILED, job_complete

LINES = parse_compare("lines")
EXACT = parse_compare("exact")
TOKENS = parse_compare("tokens")


def report(
    index: int,
    status: Status = Status.ACCEPTED,
    *,
    exit_code: int | None = 0,
    signal: str | None = None,
    time_s: float = 0.5,
    cpu_s: float = 0.25,
    memory_kb: int = 1000,
    message: str | None = None,
) -> Report:
    return Report(
        index=index,
        status=status,
        exit_code=exit_code,
        signal=signal,
        execution_time=time_s,
        cpu_time=cpu_s,
        memory_kb=memory_kb,
        message=message,
    )


# --- judge.test_status ----------------------------------------------------------------------------


def test_matching_output_is_accepted() -> None:
    assert judge.test_status((Status.OK, None), LINES, "4\n", "4\n") == (Status.ACCEPTED, None)


def test_differing_output_is_a_wrong_answer() -> None:
    assert judge.test_status((Status.OK, None), LINES, "4\n", "5\n") == (
        Status.WRONG_ANSWER,
        FAILED,
    )


def test_the_comparison_decides() -> None:
    run = (Status.OK, None)
    assert judge.test_status(run, TOKENS, "1 2", "1\n2\n")[0] is Status.ACCEPTED
    assert judge.test_status(run, EXACT, "1 2", "1\n2\n")[0] is Status.WRONG_ANSWER
    assert judge.test_status(run, LINES, "1\n2", "1 \n2\n\n")[0] is Status.ACCEPTED
    assert judge.test_status(run, EXACT, "1\n2", "1 \n2\n\n")[0] is Status.WRONG_ANSWER


def test_empty_output_against_empty_expected_is_accepted() -> None:
    assert judge.test_status((Status.OK, None), EXACT, "", "")[0] is Status.ACCEPTED
    assert judge.test_status((Status.OK, None), EXACT, "", "\n")[0] is Status.WRONG_ANSWER


@pytest.mark.parametrize(
    "status",
    [
        Status.RUNTIME_ERROR,
        Status.TIMEOUT,
        Status.MEMORY_LIMIT,
        Status.OUTPUT_LIMIT,
        Status.KILLED,
        Status.INTERNAL_ERROR,
    ],
)
def test_a_run_that_did_not_end_well_keeps_its_verdict(status: Status) -> None:
    # even when what it printed before it ended happens to match
    assert judge.test_status((status, "why"), LINES, "4\n", "4\n") == (status, "why")
    assert judge.test_status((status, None), LINES, "4\n", "5\n") == (status, None)


# --- job_complete -------------------------------------------------------------------------------


def test_no_tests_at_all() -> None:
    final = job_complete([], 0)
    assert final.status is Status.ACCEPTED
    assert (final.passed, final.total) == (0, 0)
    assert final.exit_code is None
    assert final.signal is None
    assert final.message is None
    assert (final.execution_time, final.cpu_time, final.memory_kb) == (0.0, 0.0, 0)


def test_killed_before_the_first_test() -> None:
    final = job_complete([], 3)
    assert final.status is Status.KILLED
    assert (final.passed, final.total) == (0, 3)
    assert final.exit_code is None
    assert final.message is None
    assert (final.execution_time, final.memory_kb) == (0.0, 0)


def test_all_accepted() -> None:
    reports = [report(0, exit_code=0), report(1, exit_code=0), report(2, exit_code=0)]
    final = job_complete(reports, 3)
    assert final.status is Status.ACCEPTED
    assert (final.passed, final.total) == (3, 3)
    assert final.message is None
    assert final.signal is None
    assert final.exit_code == 0


def test_the_first_failing_test_is_the_verdict() -> None:
    reports = [
        report(0),
        report(1, Status.WRONG_ANSWER, message=FAILED, exit_code=0),
        report(2, Status.RUNTIME_ERROR, exit_code=None, signal="SIGSEGV"),
        report(3, Status.TIMEOUT, message="too slow"),
    ]
    final = job_complete(reports, 4)
    assert final.status is Status.WRONG_ANSWER
    assert final.message == f"test 1: {FAILED}"
    assert final.exit_code == 0
    assert final.signal is None
    assert (final.passed, final.total) == (1, 4)


def test_the_failing_tests_exit_code_and_signal() -> None:
    reports = [
        report(0, exit_code=0),
        report(1, Status.RUNTIME_ERROR, exit_code=None, signal="SIGSEGV"),
    ]
    final = job_complete(reports, 2)
    assert final.status is Status.RUNTIME_ERROR
    assert final.exit_code is None
    assert final.signal == "SIGSEGV"
    # no message of its own: the verdict names itself
    assert final.message == "test 1: runtime_error"


def test_a_failure_after_a_pass_is_still_the_verdict() -> None:
    final = job_complete([report(0), report(1), report(2, Status.MEMORY_LIMIT, message="oom")], 3)
    assert final.status is Status.MEMORY_LIMIT
    assert final.message == "test 2: oom"
    assert (final.passed, final.total) == (2, 3)


def test_times_are_summed_and_memory_is_the_largest() -> None:
    reports = [
        report(0, time_s=0.1, cpu_s=0.05, memory_kb=300),
        report(1, time_s=0.2, cpu_s=0.15, memory_kb=9000),
        report(2, time_s=0.3, cpu_s=0.25, memory_kb=700),
    ]
    final = job_complete(reports, 3)
    assert final.execution_time == 0.6  # rounded: 0.1 + 0.2 + 0.3 is 0.6000000000000001
    assert final.cpu_time == 0.45
    assert final.memory_kb == 9000


def test_times_include_the_failing_and_later_tests() -> None:
    reports = [report(0, time_s=1.0), report(1, Status.TIMEOUT, time_s=2.0), report(2, time_s=4.0)]
    assert job_complete(reports, 3).execution_time == 7.0


def test_killed_between_tests() -> None:
    """Every test that ran passed, but not every test ran: the job was stopped."""
    final = job_complete([report(0), report(1, exit_code=5)], 5)
    assert final.status is Status.KILLED
    assert (final.passed, final.total) == (2, 5)
    assert final.message is None
    assert final.exit_code == 5  # the last test that ran


def test_killed_during_a_test() -> None:
    reports = [report(0), report(1), report(2, Status.KILLED, exit_code=None, message="stopped")]
    final = job_complete(reports, 5)
    assert final.status is Status.KILLED
    assert final.message == "test 2: stopped"
    assert (final.passed, final.total) == (2, 5)


def test_stopped_on_failure_before_the_end() -> None:
    final = job_complete([report(0), report(1, Status.WRONG_ANSWER)], 5)
    assert final.status is Status.WRONG_ANSWER
    assert (final.passed, final.total) == (1, 5)
