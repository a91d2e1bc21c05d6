"""The worker process: start-up checks, the claim loop over its slots, heartbeats, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import time
import uuid

from lib import queue
from lib.config import Settings
from lib.errors import ConfigError, ServiceUnavailable
from lib.events import EventLog
from lib.jobs import JobSpec
from lib.keys import Keys
from lib.protocol import Complete, Status
from lib.store import Redis, translate_errors
from services.worker import cgroups, natives, slots, toolchains, workspace
from services.worker.execution import Execution, Runtime
from services.worker.sandbox import SANDBOX_PATH, Slot
from services.worker.stage import own_namespaces

log = logging.getLogger(__name__)

CLAIM_BLOCK_MS = 2000
HEARTBEAT_S = 5
HEARTBEAT_TTL_S = 15
RETRY_DELAY_S = 1.0


def prepare_runtime(settings: Settings) -> tuple[Runtime, list[Slot], list[int]]:
    """Everything a worker checks and builds before it claims its first job; fails fast."""
    if os.geteuid() != 0:
        raise ConfigError("the worker must run as root: it starts each sandbox as a slot user")
    slot_list, locks = slots.acquire(
        settings.sandbox_user_prefix, settings.worker_concurrency, os.geteuid()
    )
    cg = cgroups.detect(settings.cgroup_name)
    log.info("cgroups: %s", cg.version if cg else "unavailable (RLIMIT_AS fallback)")
    for slot in slot_list:
        if not workspace.prepare_slot(slot, settings.job_disk_mb, settings.job_inodes):
            log.warning(
                "%s: no tmpfs for job files; disk use is bounded by file size only", slot.user
            )
        if cg is not None:
            cg.clean_slot(slot.user)
    firejail = shutil.which(settings.firejail, path=SANDBOX_PATH)
    if firejail is None:
        raise ConfigError(f"{settings.firejail} not found: apt-get install firejail (make install)")
    runtime = Runtime(
        settings,
        firejail,
        natives.ensure_natives(settings.native_dir),
        toolchains.detect(settings.language_list),
        cg,
        own_namespaces(),
    )
    return runtime, slot_list, locks


class Worker:
    def __init__(self, settings: Settings, redis: Redis, runtime: Runtime, slot_list: list[Slot]):
        self.settings = settings
        self.redis = redis
        self.runtime = runtime
        self.keys = Keys(settings.key_prefix)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.free: asyncio.Queue[Slot] = asyncio.Queue()
        for slot in slot_list:
            self.free.put_nowait(slot)
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        log.info(
            "worker %s ready: %d slots, languages %s",
            self.id,
            self.free.qsize(),
            ", ".join(sorted(self.runtime.toolchains)),
        )
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._heartbeat())
            await self._claim_loop(tg)
            self.stopping.set()

    def stop(self) -> None:
        self.stopping.set()

    async def _claim_loop(self, tg: asyncio.TaskGroup) -> None:
        while not self.stopping.is_set():
            slot = await self.free.get()
            try:
                await queue.ensure_group(self.redis, self.keys)
                claimed = await queue.claim(self.redis, self.keys, self.id, CLAIM_BLOCK_MS)
            except ServiceUnavailable as exc:
                self.free.put_nowait(slot)
                log.warning("redis unavailable (%s); retrying", exc)
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            if claimed is None:
                self.free.put_nowait(slot)
                continue
            entry_id, spec = claimed
            tg.create_task(self._run_job(slot, entry_id, spec))

    async def _run_job(self, slot: Slot, entry_id: str, spec: JobSpec) -> None:
        events = EventLog(self.redis, self.keys, spec.job_id, self.settings.event_ttl_s)
        started = time.monotonic()
        log.info(
            "job %s: %s on %s, queued %.3fs",
            spec.job_id,
            spec.language,
            slot.user,
            time.time() - spec.enqueued_at,
        )
        try:
            await Execution(self.runtime, slot, spec, events).run()
        except Exception:  # a task's top: log with the job id, tell the client, keep the slot
            log.exception("job %s: failed", spec.job_id)
            await self._report_failure(events)
        try:
            await queue.ack(self.redis, self.keys, entry_id)
        except ServiceUnavailable as exc:
            log.warning("job %s: not acknowledged (%s); it stays pending", spec.job_id, exc)
        finally:
            self.free.put_nowait(slot)
            log.info("job %s: done in %.3fs", spec.job_id, time.monotonic() - started)

    async def _report_failure(self, events: EventLog) -> None:
        final = Complete(
            exit_code=None,
            execution_time=0.0,
            status=Status.INTERNAL_ERROR,
            message="the worker failed to run the job",
        )
        try:
            await events.publish(final)
        except ServiceUnavailable:
            log.error("job %s: cannot publish the internal error either", events.job_id)

    async def _heartbeat(self) -> None:
        languages = {k: t.version for k, t in self.runtime.toolchains.items()}
        while not self.stopping.is_set():
            info = json.dumps({"id": self.id, "languages": languages, "free": self.free.qsize()})
            try:
                async with translate_errors():
                    await self.redis.set(self.keys.worker(self.id), info, ex=HEARTBEAT_TTL_S)
            except ServiceUnavailable as exc:
                log.warning("heartbeat failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), HEARTBEAT_S)
