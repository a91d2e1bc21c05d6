"""services.worker.stage: the reaper's report and the output budget (the pure parts)."""

from __future__ import annotations

import pytest

from services.worker.stage import (
    OutputBudget,
    ReaperStatus,
    parse_reaper_report,
    parse_status_line,
)

# --- parse_reaper_report ------------------------------------------------------------------------


def test_started_only() -> None:
    assert parse_reaper_report(b"started\n") == (True, None)


def test_started_without_newline() -> None:
    assert parse_reaper_report(b"started") == (True, None)


def test_full_report() -> None:
    raw = b"started\n0 0 1500000 250000 2048\n"
    assert parse_reaper_report(raw) == (
        True,
        ReaperStatus(exit_code=0, signal=None, wall_s=1.5, cpu_s=0.25, max_rss_kb=2048),
    )


def test_full_report_without_final_newline() -> None:
    started, status = parse_reaper_report(b"started\n7 0 10 20 30")
    assert started
    assert status == ReaperStatus(7, None, 1e-05, 2e-05, 30)


def test_report_of_a_signaled_program() -> None:
    started, status = parse_reaper_report(b"started\n-1 11 2000 1000 512\n")
    assert started
    assert status == ReaperStatus(exit_code=None, signal=11, wall_s=0.002, cpu_s=0.001, max_rss_kb=512)


def test_report_with_a_partial_status_line() -> None:
    # The reaper was killed while writing: the sandbox started but there is no status.
    assert parse_reaper_report(b"started\n0 0 15") == (True, None)


def test_report_with_garbage_after_started() -> None:
    assert parse_reaper_report(b"started\nnot a status line\n") == (True, None)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"garbage",
        b"start\n0 0 1 2 3\n",
        b"Started\n0 0 1 2 3\n",
        b"started \n0 0 1 2 3\n",
        b" started\n0 0 1 2 3\n",
        b"\x00\xff\xfe",
    ],
)
def test_garbage_is_not_started(raw: bytes) -> None:
    assert parse_reaper_report(raw) == (False, None)


def test_missing_started_line() -> None:
    assert parse_reaper_report(b"0 0 1500000 250000 2048\n") == (False, None)


def test_status_line_before_started_is_not_started() -> None:
    assert parse_reaper_report(b"0 0 1 2 3\nstarted\n") == (False, None)


def test_lines_after_the_status_are_ignored() -> None:
    started, status = parse_reaper_report(b"started\n1 0 1 2 3\n0 9 9 9 9\n")
    assert started
    assert status is not None
    assert status.exit_code == 1
    assert status.signal is None


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
        b"0 0 1 2 -" + b"-" * 3 + b"4",
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
