"""Host work left for after a job's `complete`: removing cgroups and job files, remounting storage.

It can take seconds (a program that left 200,000 files, a remount) and it blocks (rmdir loops,
unlink, mount), so it runs in a thread, after the client has its verdict; the slot is handed to
the next job only once it is done (issue 7.3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Step = Callable[[], None]


class Cleanup:
    """Steps collected while a job runs, run once, in order, off the event loop."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Step]] = []

    def add(self, what: str, step: Step) -> None:
        self._steps.append((what, step))

    async def run(self) -> list[str]:
        """Run every step (a failing one does not stop the rest); the failures, described. The
        steps that failed stay, to be run again or taken over by another Cleanup."""
        steps, self._steps = self._steps, []
        failed, failures = await asyncio.to_thread(_run_all, steps)
        self._steps = failed + self._steps
        return failures

    def take_over(self, other: Cleanup) -> None:
        """Make `other`'s remaining steps this one's (run after those already here)."""
        self._steps.extend(other._steps)
        other._steps = []


def _run_all(steps: list[tuple[str, Step]]) -> tuple[list[tuple[str, Step]], list[str]]:
    failed, failures = [], []
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - every step runs; the caller retires the slot
            log.warning("clean-up of %s failed: %s", what, exc)
            failed.append((what, step))
            failures.append(f"{what}: {exc}")
    return failed, failures
