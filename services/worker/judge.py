"""Judge mode's verdicts: one test's, and the job's from its tests'. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from lib.codes import Status
from lib.compare import Comparison, matches
from lib.protocol import Complete, TestReport

FAILED = "the output differs from the expected output"


def test_status(
    run: tuple[Status, str | None], comparison: Comparison, expected: str | None, stdout: str
) -> tuple[Status, str | None]:
    """A test's verdict: a run that ended well is accepted when its output matches (or when the
    test expects no particular output), else a wrong answer; any other run keeps its own verdict
    (timeout, runtime_error, ...)."""
    status, reason = run
    if status is not Status.OK:
        return status, reason
    if expected is None or matches(comparison, expected, stdout):
        return Status.ACCEPTED, None
    return Status.WRONG_ANSWER, FAILED


def job_complete(reports: Sequence[TestReport], total: int) -> Complete:
    """`accepted` when every test ran and passed; else the first failing test's verdict (a
    job stopped before its last test has one: killed, or stop_on_failure). Times are summed
    over the tests, memory is the largest."""
    failing = next((r for r in reports if r.status is not Status.ACCEPTED), None)
    passed = sum(r.status is Status.ACCEPTED for r in reports)
    first = failing or (reports[-1] if reports else None)
    status = Status.ACCEPTED if failing is None and len(reports) == total else Status.KILLED
    if failing is not None:
        status = failing.status
    message = None
    if failing is not None:
        message = f"test {failing.index}: {failing.message or failing.status.value}"
    return Complete(
        exit_code=first.exit_code if first else None,
        execution_time=round(sum(r.execution_time for r in reports), 4),
        status=status,
        signal=failing.signal if failing else None,
        cpu_time=round(sum(r.cpu_time for r in reports), 4),
        memory_kb=max((r.memory_kb for r in reports), default=0),
        message=message,
        passed=passed,
        total=total,
    )
