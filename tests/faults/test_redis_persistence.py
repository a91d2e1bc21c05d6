"""Queued jobs survive a Redis crash when Redis keeps an append-only file, as `make run`'s does.

Real parts: a redis-server with AOF (`appendfsync everysec`) in a temporary directory, the real
gateway, and, only after Redis came back, a real worker with Firejail. Jobs are queued while no
worker runs, redis-server is SIGKILLed (no chance to save anything on the way out) and restarted
on the same port and directory; every job must then run and reach its client, which reconnects
with `resume` as a client that lost its connection does.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import websockets

from lib.keys import Keys
from tests.client import JobConnection, create_job, execute_message
from tests.conftest import (
    RedisServer,
    Service,
    Stack,
    scaled,
    service_env,
    start_service,
    start_stack,
    wait_until,
)

pytestmark = pytest.mark.e2e

# Distinct programs: one reads the `stdin` it was sent with (the input stream must survive too).
JOBS = [
    ("python", 'print("first")\n', None),
    ("python", 'print("hello,", input())\n', "Ada\n"),
    ("javascript", 'console.log("third")\n', None),
]
EXPECTED = ["first\n", "hello, Ada\n", "third\n"]


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Path]]:
    data = tmp_path / "redis"
    data.mkdir()
    server = RedisServer.start(data_dir=data)
    yield server, data
    server.stop()


async def read_all(conn: JobConnection, timeout: float = 30) -> list[dict[str, Any]]:
    await conn.finish(timeout)
    return conn.outcome.events


async def resume(stack: Stack, offer: dict[str, Any]) -> JobConnection:
    ws = await websockets.connect(stack.ws_url)
    conn = JobConnection(ws)
    await conn.send(
        {"type": "resume", "job_id": offer["job_id"], "resume_token": offer["token"], "received": 0}
    )
    return conn


async def test_queued_jobs_survive_redis_sigkill(
    aof_redis: tuple[RedisServer, Path], tmp_path: Path
) -> None:
    server, data = aof_redis
    # A stack as in production (the worker created its consumer group), then no worker at all.
    stack = start_stack(server.url, tmp_path, WORKER_CONCURRENCY="3")
    stack.worker.stop()
    client = redis_sync.Redis.from_url(server.url)
    worker: Service | None = None
    try:
        # 1. Queue three resumable jobs; nobody runs them.
        offers, executes, first = [], [], []
        for language, code, stdin in JOBS:
            job = await create_job(stack)
            executes.append(execute_message(job, language, code, stdin=stdin, resumable=True))
            conn = JobConnection(await websockets.connect(stack.ws_url))
            await conn.send(executes[-1])
            offer = await conn.next_event()
            assert offer is not None and offer["type"] == "resume_token", conn.outcome.summary()
            offers.append(offer)
            first.append(conn)
        keys = Keys(stack.prefix)
        wait_until(lambda: client.xlen(keys.queue) == len(JOBS), 5, "three queued jobs")

        # 2. Let `appendfsync everysec` reach the disk, then kill Redis without warning.
        await asyncio.sleep(1.5)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        # Each open connection hears that Redis is gone (and nothing of its job).
        for conn in first:
            events = await read_all(conn)
            assert [e["type"] for e in events] == ["resume_token", "error"], events
            assert events[-1]["code"] == "unavailable"
            await conn.ws.close()

        # 3. Redis again, on the same port and data; then the first worker of this stack.
        restarted = RedisServer.start(server.port, data_dir=data)
        server.proc = restarted.proc  # the fixture stops whichever runs
        assert client.xlen(keys.queue) == len(JOBS), "the queue did not survive the restart"

        # Two clients come back before the worker runs their jobs, one only after they finished.
        early = [await resume(stack, offer) for offer in offers[:2]]
        env = service_env(server.url, stack.prefix, WORKER_CONCURRENCY="3")
        worker = start_service("services.worker", env, tmp_path)
        started = time.monotonic()
        outcomes = [await conn.finish(timeout=60) for conn in early]
        late = await resume(stack, offers[2])
        outcomes.append(await late.finish(timeout=60))
        for conn in [*early, late]:
            await conn.ws.close()
        ran_in = time.monotonic() - started

        for outcome, expected in zip(outcomes, EXPECTED, strict=True):
            assert outcome.stdout == expected, outcome.summary()
            assert outcome.status == "ok", outcome.summary()
            assert outcome.close_code == 1000
        assert ran_in < scaled(30), f"queued jobs took {ran_in:.1f} s after the worker started"

        # The spent job tokens were persisted too: replaying one is refused, nothing runs twice.
        replay = JobConnection(await websockets.connect(stack.ws_url))
        await replay.send(executes[0])
        refused = await replay.finish(timeout=10)
        assert refused.error["code"] == "auth", refused.summary()
        assert client.xlen(keys.queue) == 0
    finally:
        stack.gateway.stop()
        if worker is not None:
            worker.stop()
