"""services.worker.stage: the reaper's report and the output budget (the pure parts)."""

from __future__ import annotations

import pytest

from lib.errors import SandboxError
from services.worker.stage import (
    OutputBudget,
    ReaperReport,
    ReaperStatus,
    check_isolated,
    parse_reaper_report,
    parse_status_line,
)

PID_NS = "pid:[4026532001]"
NET_NS = "net:[4026532002]"
HOST = ("pid:[4026531836]", "net:[4026531840]")
STARTED = f"started {PID_NS} {NET_NS}\n".encode()

# --- parse_reaper_report ------------------------------------------------------------------------


def test_started_only() -> None:
    assert parse_reaper_report(STARTED) == ReaperReport(True, (PID_NS, NET_NS), None)


def test_started_without_newline() -> None:
    report = parse_reaper_report(STARTED.rstrip(b"\n"))
    assert report == ReaperReport(True, (PID_NS, NET_NS), None)


def test_full_report() -> None:
    report = parse_reaper_report(STARTED + b"0 0 1500000 250000 2048\n")
    assert report.started
    assert report.namespaces == (PID_NS, NET_NS)
    assert report.status == ReaperStatus(
        exit_code=0, signal=None, wall_s=1.5, cpu_s=0.25, max_rss_kb=2048
    )


def test_full_report_without_final_newline() -> None:
    report = parse_reaper_report(STARTED + b"7 0 10 20 30")
    assert report.started
    assert report.status == ReaperStatus(7, None, 1e-05, 2e-05, 30)


def test_report_of_a_signaled_program() -> None:
    report = parse_reaper_report(STARTED + b"-1 11 2000 1000 512\n")
    assert report.started
    assert report.status == ReaperStatus(
        exit_code=None, signal=11, wall_s=0.002, cpu_s=0.001, max_rss_kb=512
    )


def test_report_with_a_partial_status_line() -> None:
    # The reaper was killed while writing: the sandbox started but there is no status.
    report = parse_reaper_report(STARTED + b"0 0 15")
    assert report.started
    assert report.status is None


def test_report_with_garbage_after_started() -> None:
    report = parse_reaper_report(STARTED + b"not a status line\n")
    assert report.started
    assert report.status is None


def test_unreadable_namespaces_are_reported_as_question_marks() -> None:
    report = parse_reaper_report(b"started ? ?\n0 0 1 2 3\n")
    assert report.started
    assert report.namespaces == ("?", "?")


def test_non_utf8_namespace_is_decoded_with_replacement() -> None:
    report = parse_reaper_report(b"started pid:[\xff] net:[1]\n")
    assert report.started
    assert report.namespaces == ("pid:[\ufffd]", "net:[1]")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"garbage",
        b"started",
        b"started\n0 0 1 2 3\n",
        b"started pid:[1]\n0 0 1 2 3\n",
        b"started pid:[1] net:[2] extra\n0 0 1 2 3\n",
        b"start pid:[1] net:[2]\n0 0 1 2 3\n",
        b"Started pid:[1] net:[2]\n0 0 1 2 3\n",
        b"\x00\xff\xfe",
    ],
)
def test_garbage_is_not_started(raw: bytes) -> None:
    report = parse_reaper_report(raw)
    assert report.started is False
    assert report.status is None


def test_missing_started_line() -> None:
    report = parse_reaper_report(b"0 0 1500000 250000 2048\n")
    assert report == ReaperReport(started=False)


def test_status_line_before_started_is_not_started() -> None:
    assert not parse_reaper_report(b"0 0 1 2 3\n" + STARTED).started


def test_lines_after_the_status_are_ignored() -> None:
    report = parse_reaper_report(STARTED + b"1 0 1 2 3\n0 9 9 9 9\n")
    assert report.started
    assert report.status is not None
    assert report.status.exit_code == 1
    assert report.status.signal is None


# --- check_isolated -----------------------------------------------------------------------------


def test_isolated_stage_passes() -> None:
    check_isolated(ReaperReport(True, (PID_NS, NET_NS)), HOST)


def test_stage_that_never_started_is_not_checked() -> None:
    check_isolated(ReaperReport(False), HOST)
    check_isolated(ReaperReport(False, HOST), HOST)


@pytest.mark.parametrize(
    "namespaces",
    [
        (HOST[0], NET_NS),
        (PID_NS, HOST[1]),
        HOST,
        ("?", NET_NS),
        (PID_NS, "?"),
        ("?", "?"),
    ],
    ids=["host-pid", "host-net", "host-both", "unknown-pid", "unknown-net", "unknown-both"],
)
def test_shared_or_unknown_namespace_is_refused(namespaces: tuple[str, str]) -> None:
    with pytest.raises(SandboxError, match="not isolated"):
        check_isolated(ReaperReport(True, namespaces), HOST)


def test_isolation_check_of_a_parsed_report() -> None:
    same = f"started {HOST[0]} {NET_NS}\n0 0 1 2 3\n".encode()
    with pytest.raises(SandboxError):
        check_isolated(parse_reaper_report(same), HOST)
    check_isolated(parse_reaper_report(STARTED + b"0 0 1 2 3\n"), HOST)


# --- parse_status_line --------------------------------------------------------------------------


def test_status_line_fields() -> None:
    assert parse_status_line(b"42 0 3000000 1000000 65536") == ReaperStatus(
        exit_code=42, signal=None, wall_s=3.0, cpu_s=1.0, max_rss_kb=65536
    )


def test_status_line_extra_whitespace_is_tolerated() -> None:
    assert parse_status_line(b"  0\t0  1000000 0 1 \r") == ReaperStatus(0, None, 1.0, 0.0, 1)


def test_status_line_negative_exit_code_means_none() -> None:
    status = parse_status_line(b"-1 9 1 1 1")
    assert status is not None
    assert status.exit_code is None
    assert status.signal == 9


def test_status_line_zero_signal_means_none() -> None:
    status = parse_status_line(b"0 0 1 1 1")
    assert status is not None
    assert status.signal is None


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"   ",
        b"0 0 1 2",
        b"0 0 1 2 3 4",
        b"a 0 1 2 3",
        b"0 0 1.5 2 3",
        b"0x1 0 1 2 3",
        b"0 0 1 2 3k",
        b"- 0 1 2 3",
        b"0 0 1 2 +3",
        b"0,0,1,2,3",
        "\u0661 0 1 2 3".encode(),
        "\uff11 0 1 2 3".encode(),
        # Doubled minus signs pass the `lstrip(b"-").isdigit()` check but int() refuses them.
        b"--1 0 1 2 3",
        b"0 --9 1 2 3",
    ],
)
def test_status_line_garbage_is_none(line: bytes) -> None:
    assert parse_status_line(line) is None


# --- OutputBudget -------------------------------------------------------------------------------


def test_budget_take_within_the_limit() -> None:
    budget = OutputBudget(10)
    assert budget.take(4) == 4
    assert budget.left == 6
    assert not budget.exceeded.is_set()


def test_budget_take_exactly_the_limit_is_not_exceeded() -> None:
    budget = OutputBudget(10)
    assert budget.take(10) == 10
    assert budget.left == 0
    assert not budget.exceeded.is_set()


def test_budget_take_splits_the_chunk_that_crosses_the_limit() -> None:
    budget = OutputBudget(10)
    assert budget.take(4) == 4
    assert budget.take(8) == 6
    assert budget.left == 0
    assert budget.exceeded.is_set()


def test_budget_after_exhaustion_gives_nothing() -> None:
    budget = OutputBudget(3)
    assert budget.take(3) == 3
    assert not budget.exceeded.is_set()
    assert budget.take(1) == 0
    assert budget.exceeded.is_set()
    assert budget.take(100) == 0
    assert budget.left == 0


def test_budget_take_zero_never_exceeds() -> None:
    budget = OutputBudget(0)
    assert budget.take(0) == 0
    assert not budget.exceeded.is_set()
    assert budget.take(1) == 0
    assert budget.exceeded.is_set()


def test_budget_is_shared_across_streams() -> None:
    # stdout and stderr draw from one budget: the sum of what is allowed never exceeds it.
    budget = OutputBudget(100)
    taken = [budget.take(n) for n in (30, 30, 30, 30, 30)]
    assert taken == [30, 30, 30, 10, 0]
    assert sum(taken) == 100
    assert budget.exceeded.is_set()
