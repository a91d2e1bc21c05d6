"""The sandbox interface that execution depends on: make a job directory, run one stage in it
(stream its output, feed its input, stop it on kill, report how it ended), read a file out of it.

services/worker/firejail.py is the real, cold implementation (cexec-enter → Firejail → reaper);
the unit tests of execution run against a fake one (tests/unit/fake_sandbox.py); the warm pool
will be a second real one. Execution never builds a command line or touches a cgroup itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lib.jobs import StageLimits
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Slot
from services.worker.stage import Emit, InputFeed, StageResult
from services.worker.workspace import JobFile


@dataclass(frozen=True)
class StageRequest:
    slot: Slot
    job_dir: Path
    name: str  # "compile", "run", "selftest": the stage's cgroup under the slot's
    program: list[str]
    limits: StageLimits
    streams: tuple[str, str]  # what its stdout and stderr are called in `emit`
    merge_stderr: bool = False  # stderr on the stdout pipe: one stream, in the order written


class Sandbox(Protocol):
    async def create_dir(
        self, slot: Slot, name: str, files: Sequence[JobFile], cleanup: Cleanup, *, last: bool
    ) -> Path:
        """A fresh job directory holding `files`; its removal is added to `cleanup`. `last`: the
        job's own directory, whose clean-up also makes the slot's storage whole again."""

    async def run_stage(
        self,
        req: StageRequest,
        emit: Emit,
        feed: InputFeed | None,
        kill: asyncio.Event,
        cleanup: Cleanup,
    ) -> StageResult:
        """Run one stage to its end (exit, limit or `kill`); what it leaves goes to `cleanup`."""

    async def read_file(self, job_dir: Path, name: str, max_bytes: int) -> bytes | None:
        """A file a finished stage left, read safely (workspace.read_artefact); None if unfit."""
