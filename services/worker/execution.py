"""One job from claim to `complete`: workspace → compile stage → run stage → verdict.

Every path ends with exactly one terminal event (`complete` or, for a job that cannot start,
`error`), published to the job's event stream as soon as the verdict is known; the host work the
job leaves (cgroups, files, a remount) is collected in a Cleanup that the worker runs afterwards,
off the event loop, before the slot takes another job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from lib.config import Settings
from lib.errors import SandboxError, ServiceUnavailable, StoreFault, ToolchainMissing
from lib.events import EventLog
from lib.jobs import JobSpec
from lib.languages import expand
from lib.protocol import Complete, Eof, Error, ErrorCode, Input, Kill, Output, Status, Stream
from services.worker import sandbox, verdict, workspace
from services.worker.cgroups import Cgroups, StageCgroup
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Natives, Slot, StageLimits
from services.worker.stage import Emit, InputFeed, Stage, StageResult
from services.worker.toolchains import Toolchain

log = logging.getLogger(__name__)
T = TypeVar("T")

CONTROL_BLOCK_MS = 5000
CLIENT_CHECK_S = 1.0
COMPILE_TASKS = 128
# Publishing waits out a passing Redis refusal (OOM, READONLY, an outage) this long at most: an
# output chunk holds its pipe meanwhile (the program blocks on write; nothing is lost), the
# terminal event holds the slot.
PUBLISH_RETRY_S = 30.0
RETRY_FIRST_S, RETRY_MOST_S = 0.1, 2.0


@dataclass(frozen=True)
class StageRequest:
    slot: Slot
    job_dir: Path
    name: str  # "compile", "run", "selftest": the stage's cgroup under the slot's
    program: list[str]
    limits: StageLimits
    output_bytes: int
    streams: tuple[str, str]


@dataclass(frozen=True)
class Runtime:
    """What every job on this worker shares, and how it starts one sandboxed stage."""

    settings: Settings
    firejail: str  # absolute path
    natives: Natives
    toolchains: dict[str, Toolchain]
    cgroups: Cgroups | None
    host_namespaces: tuple[str, str]
    hidden: tuple[str, ...] = ()  # host paths blacklisted in every sandbox
    visible: tuple[str, ...] = ()  # toolchain prefixes under a masked directory, shown

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
        status_read, status_write = os.pipe()
        os.set_blocking(status_read, False)
        argv = sandbox.stage_argv(
            natives=self.natives,
            firejail=self.firejail,
            slot=req.slot,
            cgroup_procs=cg.procs_files if cg else [],
            job_dir=req.job_dir,
            status_fd=status_write,
            limits=req.limits,
            program=req.program,
            hidden=self.hidden,
            visible=self.visible,
        )
        stage = Stage(
            argv=argv,
            env=sandbox.launcher_env(),
            cwd=str(req.job_dir),
            status_fd=status_write,
            status_read=status_read,
            wall_s=req.limits.wall_s,
            output_bytes=req.output_bytes,
            cgroup=cg,
            host_namespaces=self.host_namespaces,
            streams=req.streams,
        )
        return await stage.run(emit, feed, kill)

    def _cgroup(self, req: StageRequest) -> StageCgroup | None:
        if self.cgroups is None:
            return None
        tasks = req.limits.processes + sandbox.FIREJAIL_OVERHEAD_TASKS
        try:
            return self.cgroups.create(req.slot.key, req.name, req.limits.memory_mb, tasks)
        except OSError as exc:
            raise SandboxError(f"cannot create the {req.name} cgroup: {exc}") from exc


class Execution:
    def __init__(
        self, runtime: Runtime, slot: Slot, spec: JobSpec, log_: EventLog, worker_id: str
    ) -> None:
        self.rt = runtime
        self.slot = slot
        self.spec = spec
        self.events = log_
        self.worker_id = worker_id
        self.feed = InputFeed()
        self.job_dir: Path | None = None
        self.kill_reason: str | None = None  # set when the worker, not the client, stops the job
        self.cleanup = Cleanup()

    def kill(self, reason: str) -> None:
        """Stop the job from the worker's side (shutdown); it ends `killed` with `reason`."""
        self.kill_reason = reason
        self.feed.kill.set()

    async def run(self) -> Complete | Error:
        """Run the job, publish its terminal event and return it; never raises for the
        program's faults. The worker must then `await execution.cleanup.run()`."""
        reader = asyncio.create_task(self._read_controls())
        watcher = asyncio.create_task(self._watch_client())
        try:
            final = await self._stages()
        except ToolchainMissing as exc:
            final = Error(code=ErrorCode.LANGUAGE_UNAVAILABLE, message=str(exc))
        except SandboxError as exc:
            log.error("job %s: sandbox failure: %s", self.spec.job_id, exc)
            final = verdict.complete(
                Status.INTERNAL_ERROR, None, "the sandbox failed to run the job"
            )
        except ServiceUnavailable as exc:
            log.error("job %s: redis failed while the job ran: %s", self.spec.job_id, exc)
            final = verdict.complete(
                Status.INTERNAL_ERROR, None, "the service's storage failed while the job ran"
            )
        finally:
            for task in (reader, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ServiceUnavailable):
                    await task
        await self._finish(final)
        return final

    async def _finish(self, final: Complete | Error) -> None:
        try:
            await retrying(lambda: self.events.finish(final, self.worker_id), PUBLISH_RETRY_S)
        except ServiceUnavailable as exc:
            log.error("job %s: terminal event not published: %s", self.spec.job_id, exc)

    async def _stages(self) -> Complete | Error:
        toolchain = self.rt.toolchains.get(self.spec.language)
        if toolchain is None:
            raise ToolchainMissing(self.spec.language)
        self.job_dir = await asyncio.to_thread(
            workspace.create, self.slot, self.spec.job_id, self.spec.files
        )
        job_dir, s = self.job_dir, self.rt.settings
        self.cleanup.add(
            "the job directory",
            lambda: workspace.clean_up(self.slot, job_dir, s.job_disk_mb, s.job_inodes),
        )
        await self.events.mark_started(self.worker_id)
        if toolchain.language.compiled:
            compiled = await self._stage("compile", self._compile_argv(toolchain), compiling=True)
            failure = verdict.compile_failure(compiled, self.rt.settings.compilation_timeout)
            if failure is not None:
                return verdict.complete(failure[0], None, self._reason(*failure))
        result = await self._stage("run", self._run_argv(toolchain), compiling=False)
        status, reason = verdict.run_status(result, self._limits(compiling=False).cpu_soft_s)
        return verdict.complete(status, result, self._reason(status, reason))

    def _reason(self, status: Status, reason: str | None) -> str | None:
        return self.kill_reason if status is Status.KILLED and self.kill_reason else reason

    def _compile_argv(self, toolchain: Toolchain) -> list[str]:
        lang = toolchain.language
        assert lang.compile is not None
        sources = [f.name for f in self.spec.files if f.name.endswith(lang.source_suffixes)]
        stdio = self.rt.natives.stdio if lang.line_buffered_stdio else None
        return expand(
            lang.compile, tool=toolchain.path, main=self.spec.main, sources=sources, stdio=stdio
        )

    def _run_argv(self, toolchain: Toolchain) -> list[str]:
        lang = toolchain.language
        argv = expand(lang.run, tool=toolchain.path, main=self.spec.main, sources=[])
        return argv + self.spec.args

    def _limits(self, compiling: bool) -> StageLimits:
        s, lim = self.rt.settings, self.spec.limits
        wall = s.compilation_timeout if compiling else lim.time_s
        return StageLimits(
            wall_s=wall,
            cpu_s=wall,
            memory_mb=s.compile_memory_mb if compiling else lim.memory_mb,
            processes=COMPILE_TASKS if compiling else s.max_processes,
            open_files=s.max_open_files,
            file_size_mb=s.max_file_size_mb,
            address_space=self.rt.cgroups is None,
        )

    async def _stage(self, name: str, program: list[str], compiling: bool) -> StageResult:
        assert self.job_dir is not None
        return await self.rt.run_stage(
            StageRequest(
                slot=self.slot,
                job_dir=self.job_dir,
                name=name,
                program=program,
                limits=self._limits(compiling),
                output_bytes=self.spec.limits.output_kb * 1024,
                streams=(Stream.COMPILE.value,) * 2 if compiling else ("stdout", "stderr"),
            ),
            self._emit,
            None if compiling else self.feed,
            self.feed.kill,
            self.cleanup,
        )

    async def _emit(self, stream: str, text: str) -> None:
        output = Output(stream=Stream(stream), data=text)
        await retrying(lambda: self.events.publish(output), PUBLISH_RETRY_S)

    async def _watch_client(self) -> None:
        """Kill the job once no client has been attached for longer than its grace: a client
        that disconnected without `kill`, or whose gateway died, leaves nobody to read it."""
        lost_at: float | None = None
        while True:
            await asyncio.sleep(CLIENT_CHECK_S)
            try:
                attached = await self.events.is_attached()
            except ServiceUnavailable:
                continue  # Redis is away: no evidence the client is
            if attached:
                lost_at = None
                continue
            lost_at = lost_at or time.monotonic()
            if time.monotonic() - lost_at >= self.spec.detach_grace_s:
                self.kill("no client was connected to the job")
                return

    async def _read_controls(self) -> None:
        """Input, eof and kill from the client, in order, from the first one ever sent; a
        Redis outage only pauses it."""
        after = "0"
        while True:
            read = partial(self.events.read_controls, after, CONTROL_BLOCK_MS)
            for entry_id, control in await retrying(read, None):
                after = entry_id
                if isinstance(control, Input):
                    self.feed.queue.put_nowait(control.data.encode("utf-8", "replace"))
                elif isinstance(control, Eof):
                    self.feed.queue.put_nowait(None)
                elif isinstance(control, Kill):
                    self.feed.kill.set()


async def retrying(call: Callable[[], Awaitable[T]], give_up_s: float | None) -> T:
    """`call()`, again with back-off while Redis is unavailable; after `give_up_s` (None: never)
    the last ServiceUnavailable is raised. A StoreFault is not retried: it will not mend."""
    delay, deadline = RETRY_FIRST_S, None if give_up_s is None else time.monotonic() + give_up_s
    while True:
        try:
            return await call()
        except StoreFault:
            raise
        except ServiceUnavailable as exc:
            if deadline is not None and time.monotonic() + delay > deadline:
                raise
            log.warning("redis unavailable (%s); retrying in %.1fs", exc.reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MOST_S)
