"""The cold sandbox: each stage is a new cexec-enter → Firejail → cexec-reaper chain in the slot's
user, cgroup and job directory (services/worker/sandbox.py builds its command line)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib import jobs
from lib.errors import SandboxError
from services.worker import sandbox, workspace
from services.worker.cgroups import Cgroups, StageCgroup
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Natives, Slot
from services.worker.sandboxes import StageRequest
from services.worker.stage import Emit, InputFeed, Stage, StageResult
from services.worker.workspace import JobFile


@dataclass(frozen=True)
class FirejailSandbox:
    firejail: str  # absolute path
    natives: Natives
    cgroups: Cgroups | None
    host_namespaces: tuple[str, str]
    job_disk_mb: int
    job_inodes: int
    hidden: tuple[str, ...] = ()  # host paths blacklisted in every sandbox
    visible: tuple[str, ...] = ()  # toolchain prefixes under a masked directory, shown

    async def create_dir(
        self, slot: Slot, name: str, files: Sequence[JobFile], cleanup: Cleanup, *, last: bool
    ) -> Path:
        path = await asyncio.to_thread(workspace.create_with, slot, name, files)
        if last:
            disk, inodes = self.job_disk_mb, self.job_inodes
            cleanup.add("the job directory", lambda: workspace.clean_up(slot, path, disk, inodes))
        else:
            cleanup.add(f"the directory {name}", lambda: workspace.remove(path))
        return path

    async def read_file(self, job_dir: Path, name: str, max_bytes: int) -> bytes | None:
        return await asyncio.to_thread(workspace.read_artefact, job_dir, name, max_bytes)

    async def run_stage(
        self,
        req: StageRequest,
        emit: Emit,
        feed: InputFeed | None,
        kill: asyncio.Event,
        cleanup: Cleanup,
    ) -> StageResult:
        """Run one stage to its end; its cgroup's removal is left to `cleanup`."""
        cg = self._cgroup(req)
        if cg is not None:
            cleanup.add(f"the {req.name} cgroup", cg.remove)
        stage = self._stage(req, cg)
        return await stage.run(emit, feed, kill)

    def _stage(self, req: StageRequest, cg: StageCgroup | None) -> Stage:
        """The stage's process: its command line (services/worker/sandbox.py) and its watch."""
        status_read, status_write = os.pipe()
        os.set_blocking(status_read, False)
        argv = sandbox.stage_argv(
            natives=self.natives,
            firejail=self.firejail,
            slot=req.slot,
            cgroup_procs=cg.procs_files if cg else [],
            job_dir=req.job_dir,
            status_fd=status_write,
            limits=self.argv_limits(req.limits),
            program=req.program,
            hidden=self.hidden,
            visible=self.visible,
        )
        return Stage(
            argv=argv,
            env=sandbox.launcher_env(),
            cwd=str(req.job_dir),
            status_fd=status_write,
            status_read=status_read,
            wall_s=req.limits.wall_s,
            output_bytes=req.limits.output_kb * 1024,
            cgroup=cg,
            host_namespaces=self.host_namespaces,
            streams=req.streams,
            merge_stderr=req.merge_stderr,
            uid=req.slot.uid,
        )

    def argv_limits(self, limits: jobs.StageLimits) -> sandbox.StageLimits:
        """The plan's limits as rlimits; without cgroups, memory falls back to RLIMIT_AS."""
        return sandbox.StageLimits(
            wall_s=limits.wall_s,
            cpu_s=limits.cpu_s,
            memory_mb=limits.memory_mb,
            processes=limits.processes,
            open_files=limits.open_files,
            file_size_mb=limits.file_size_mb,
            address_space=self.cgroups is None,
            stack_kb=limits.stack_kb,
        )

    def _cgroup(self, req: StageRequest) -> StageCgroup | None:
        if self.cgroups is None:
            return None
        tasks = req.limits.processes + sandbox.FIREJAIL_OVERHEAD_TASKS
        try:
            return self.cgroups.create(req.slot.key, req.name, req.limits.memory_mb, tasks)
        except OSError as exc:
            raise SandboxError(f"cannot create the {req.name} cgroup: {exc}") from exc
