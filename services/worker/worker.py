"""The worker process: start-up checks, the claim loop over its slots, heartbeats, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

from lib import admission, logs, metrics, queue, registry, results
from lib.config import Settings
from lib.errors import ConfigError, ServiceUnavailable
from lib.events import EventLog
from lib.jobs import JobSpec
from lib.keys import Keys
from lib.protocol import Complete, Error, Status
from lib.store import Redis
from services.worker import cgroups, natives, sandbox, slots, toolchains, workspace
from services.worker.execution import Execution, Runtime
from services.worker.firejail import FirejailSandbox
from services.worker.sandbox import SANDBOX_PATH, Natives, Slot
from services.worker.stage import own_namespaces

log = logging.getLogger(__name__)

CLAIM_BLOCK_MS = 2000
RECOVER_EVERY_S = 2.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A pending entry whose worker has no heartbeat is taken over once it has been idle this long.
ORPHAN_IDLE_MS = 1000


def prepare_runtime(settings: Settings) -> tuple[Runtime, list[Slot], list[int]]:
    """Everything a worker checks and builds before it claims its first job; fails fast."""
    if os.geteuid() != 0:
        raise ConfigError("the worker must run as root: it starts each sandbox as a slot user")
    cg = cgroups.detect(settings.cgroup_name)
    log.info("cgroups: %s", cg.version if cg else "unavailable (RLIMIT_AS fallback)")
    slot_list, locks = slots.acquire(
        settings.sandbox_user_prefix,
        settings.worker_concurrency,
        os.geteuid(),
        cg.lock_dir if cg else None,
    )
    log.info("slots: %s", ", ".join(slot.user for slot in slot_list))
    for slot in slot_list:
        if not workspace.prepare_slot(slot, settings.job_disk_mb, settings.job_inodes):
            log.warning(
                "%s: no tmpfs for job files; disk use is bounded by file size only", slot.user
            )
        if cg is not None:
            cg.clean_slot(slot.key)
    firejail = shutil.which(settings.firejail, path=SANDBOX_PATH)
    if firejail is None:
        raise ConfigError(f"{settings.firejail} not found: apt-get install firejail (make install)")
    found = toolchains.detect(settings.language_list)
    native = natives.ensure_natives(settings.native_dir)
    cold = FirejailSandbox(
        firejail=firejail,
        natives=native,
        cgroups=cg,
        host_namespaces=own_namespaces(),
        job_disk_mb=settings.job_disk_mb,
        job_inodes=settings.job_inodes,
        hidden=hidden_paths(settings),
        visible=visible_paths([t.path for t in found.values()], native),
    )
    return Runtime(settings, cold, native, found), slot_list, locks


def visible_paths(tools: list[str], native: Natives) -> tuple[str, ...]:
    """Toolchains and our natives installed under a directory every sandbox masks (/opt, /srv,
    /var, ...): their install prefixes stay visible (sandbox.visible_dirs)."""
    real = [os.path.realpath(p) for p in (*tools, native.reaper, native.stdio)]
    return sandbox.visible_dirs(real)


def hidden_paths(settings: Settings) -> tuple[str, ...]:
    """What no sandbox may see: this project's code and configuration (its `.env` holds the
    secrets; the repository would show the service's internals), the slot locks, and a Redis
    unix socket if Redis is reached through one."""
    paths = [str(PROJECT_ROOT), str(slots.LOCK_DIR)]
    if settings.redis_url.startswith("unix://"):
        paths.append(settings.redis_url.removeprefix("unix://").split("?")[0])
    return tuple(p for p in paths if os.path.exists(p))


class Worker:
    """Claims jobs while it has free slots, recovers the jobs of dead workers, and shuts down
    gracefully: on stop() it claims nothing more, lets running jobs finish for up to
    SHUTDOWN_GRACE_S, then kills them (status `killed`, with a message) and returns."""

    def __init__(self, settings: Settings, redis: Redis, runtime: Runtime, slot_list: list[Slot]):
        self.settings = settings
        self.redis = redis
        self.runtime = runtime
        self.keys = Keys(settings.key_prefix)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.free: asyncio.Queue[Slot] = asyncio.Queue()
        for slot in slot_list:
            self.free.put_nowait(slot)
        self.running: dict[str, Execution] = {}
        self.retired: list[Slot] = []  # slots whose clean-up failed: never given a job again
        self.slots = list(slot_list)
        self.idle = asyncio.Event()  # set while no job runs
        self.idle.set()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        log.info(
            "worker %s ready: %d slots, languages %s",
            self.id,
            self.free.qsize(),
            ", ".join(sorted(self.runtime.toolchains)),
        )
        async with asyncio.TaskGroup() as tg:
            heartbeat = tg.create_task(self._heartbeat())
            tg.create_task(self._recover_loop(tg))
            await self._claim_loop(tg)
            await self._drain_running()
            heartbeat.cancel()
        with contextlib.suppress(ServiceUnavailable):
            await registry.leave(self.redis, self.keys, self.id)
        await asyncio.to_thread(workspace.release_slots, self.slots)
        log.info("worker %s stopped", self.id)

    def stop(self) -> None:
        """Begin a graceful shutdown; calling it again changes nothing."""
        if not self.stopping.is_set():
            log.info("worker %s stopping: no new jobs, %d running", self.id, len(self.running))
        self.stopping.set()

    async def _next_slot(self) -> Slot | None:
        """A free slot, or None once stopping."""
        getter = asyncio.ensure_future(self.free.get())
        stopper = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait([getter, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if getter.done() and not self.stopping.is_set():
            return getter.result()
        getter.cancel()
        if getter.done() and not getter.cancelled():
            self.free.put_nowait(getter.result())
        return None

    async def _claim_loop(self, tg: asyncio.TaskGroup) -> None:
        backoff = Backoff()
        while (slot := await self._next_slot()) is not None:
            try:
                await queue.ensure_group(self.redis, self.keys)
                claimed = await queue.claim(self.redis, self.keys, self.id, CLAIM_BLOCK_MS)
            except ServiceUnavailable as exc:
                self.free.put_nowait(slot)
                await backoff.wait(f"claim: {exc}", self.stopping)
                continue
            backoff.reset()
            if claimed is None or self.stopping.is_set():
                self.free.put_nowait(slot)
                continue  # a job claimed while stopping stays pending; a live worker recovers it
            entry_id, spec = claimed
            tg.create_task(self._run_job(slot, entry_id, spec))

    def _events(self, spec: JobSpec) -> EventLog:
        return EventLog(self.redis, self.keys, spec.job_id, self.settings.event_ttl_s)

    async def _run_job(self, slot: Slot, entry_id: str, spec: JobSpec) -> None:
        logs.job_id.set(spec.job_id)  # in this job's own task context: on each of its log lines
        started = time.monotonic()
        waited = time.time() - spec.enqueued_at
        log.info("job %s: %s on %s, queued %.3fs", spec.job_id, spec.language, slot.user, waited)
        execution = Execution(self.runtime, slot, spec, self._events(spec), self.id)
        self.running[spec.job_id] = execution
        self.idle.clear()
        final: Complete | Error | None = None
        try:
            final = await execution.run()
        except Exception:  # a task's top: log with the job id, tell the client, keep the slot
            log.exception("job %s: failed", spec.job_id)
            await self._report(spec, "the worker failed to run the job")
        finally:
            log.info("job %s: done in %.3fs", spec.job_id, time.monotonic() - started)
            finished = metrics.finished(
                spec.language, waited, final, execution.verdicts, execution.compiles
            )
            await self._record(spec.job_id, finished)
            await self._uncount(spec)
            await self._ack(spec.job_id, entry_id)
            await self._release(slot, execution)
            del self.running[spec.job_id]
            if not self.running:
                self.idle.set()

    async def _release(self, slot: Slot, execution: Execution) -> None:
        """After `complete`: the job's host work, off the event loop; then the slot is free
        again, or retired if it could not be made clean (a job must never see another's)."""
        began = time.monotonic()
        failures = await execution.cleanup.run()
        log.info("%s: cleaned up in %.3fs", slot.user, time.monotonic() - began)
        if not failures:
            self.free.put_nowait(slot)
            return
        log.error("%s retired: its clean-up failed (%s)", slot.user, "; ".join(failures))
        self.retired.append(slot)

    async def _record(self, job_id: str, job: metrics.FinishedJob) -> None:
        """Count the finished job in the cluster's metrics; this never fails the job."""
        try:
            await metrics.record(self.redis, self.keys, job)
        except ServiceUnavailable as exc:
            log.warning("job %s: metrics not recorded (%s)", job_id, exc)
        except Exception:  # e.g. a Redis error reply (OOM): it must not end the task group
            log.exception("job %s: metrics not recorded", job_id)

    async def _uncount(self, spec: JobSpec) -> None:
        """The job no longer counts against its key's running cap. The door that waited on it
        does this too; a job nobody waits on (`wait=false`) has only the worker to do it."""
        if not spec.key_id:
            return
        try:
            await admission.finish(self.redis, self.keys, spec.key_id, spec.job_id)
        except ServiceUnavailable as exc:
            log.warning("job %s: still counted as running (%s)", spec.job_id, exc)

    async def _ack(self, job_id: str, entry_id: str) -> None:
        try:
            await queue.ack(self.redis, self.keys, entry_id)
        except ServiceUnavailable as exc:
            log.warning("job %s: not acknowledged (%s); it stays pending", job_id, exc)

    async def _report(self, spec: JobSpec, message: str) -> None:
        """End a job with internal_error, unless something already ended it."""
        final = Complete(
            exit_code=None, execution_time=0.0, status=Status.INTERNAL_ERROR, message=message
        )
        result = results.from_final(spec.job_id, spec.language, final, results.Outputs())
        stored = results.encode_stored(spec.key_id, result)
        try:
            await self._events(spec).finish(final, self.id, stored, self.settings.result_ttl_s)
        except ServiceUnavailable:
            log.error("job %s: cannot publish the internal error either", spec.job_id)

    async def _drain_running(self) -> None:
        """Graceful shutdown: running jobs get SHUTDOWN_GRACE_S to finish, then are killed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), self.settings.shutdown_grace_s)
        for execution in list(self.running.values()):
            execution.kill("the worker shut down before the job finished")
        await self.idle.wait()

    # -- recovering the jobs of dead workers ---------------------------------------------------

    async def _recover_loop(self, tg: asyncio.TaskGroup) -> None:
        while not self.stopping.is_set():
            try:
                await self._recover(tg)
            except ServiceUnavailable as exc:
                log.warning("recovery: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), RECOVER_EVERY_S)

    async def _recover(self, tg: asyncio.TaskGroup) -> None:
        live = set(await registry.live(self.redis, self.keys)) | {self.id}
        for entry_id in await queue.orphans(self.redis, self.keys, live, ORPHAN_IDLE_MS):
            spec = await queue.peek(self.redis, self.keys, entry_id)
            if spec is None or await self._events(spec).was_started():
                # The program had started: running it again could repeat its effects (and its
                # input is spent), so the client gets a clear internal_error instead.
                if await queue.take_over(self.redis, self.keys, self.id, entry_id, ORPHAN_IDLE_MS):
                    await self._fail_orphan(entry_id, spec)
                continue
            slot = await self._next_slot()
            if slot is None:
                return
            if await queue.take_over(self.redis, self.keys, self.id, entry_id, ORPHAN_IDLE_MS):
                log.info("job %s: retried after its worker died before it started", spec.job_id)
                tg.create_task(self._run_job(slot, entry_id, spec))
            else:
                self.free.put_nowait(slot)

    async def _fail_orphan(self, entry_id: str, spec: JobSpec | None) -> None:
        if spec is not None:
            log.warning("job %s: its worker died while it ran", spec.job_id)
            await self._report(spec, "the worker running this job stopped unexpectedly")
        await queue.ack(self.redis, self.keys, entry_id)

    async def _heartbeat(self) -> None:
        s = self.settings
        languages = {k: t.version for k, t in self.runtime.toolchains.items()}
        while True:
            info = {"languages": languages, "free": self.free.qsize(), "running": len(self.running)}
            try:
                await registry.beat(self.redis, self.keys, self.id, info, s.heartbeat_ttl_s)
            except ServiceUnavailable as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(s.heartbeat_s)


class Backoff:
    """Exponential back-off for a loop that keeps failing on Redis; never a crash loop."""

    def __init__(self, first: float = 0.2, most: float = 5.0) -> None:
        self.first, self.most, self.delay = first, most, first

    def reset(self) -> None:
        self.delay = self.first

    async def wait(self, reason: str, stop: asyncio.Event) -> None:
        log.warning("redis unavailable (%s); retrying in %.1fs", reason, self.delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.delay)
        self.delay = min(self.delay * 2, self.most)
