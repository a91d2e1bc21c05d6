"""The gateway under faults and pressure, on real parts: resume after a lost connection, kill on
disconnect, SIGTERM with open connections, a Redis outage, admission control, and scale-out."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync
import websockets

from lib.keys import Keys
from tests.client import JobConnection, create_job, open_job, run
from tests.conftest import (
    FACTOR,
    RedisServer,
    Service,
    Stack,
    free_port,
    scaled,
    service_env,
    start_service,
    start_stack,
    wait_until,
)

pytestmark = pytest.mark.e2e

COUNTER = "import time\nfor i in range(6):\n    print(i, flush=True)\n    time.sleep(0.4)\n"


@pytest.fixture
def grace_stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    stack = start_stack(redis_server.url, tmp_path, RESUME_GRACE_S="2", WORKER_CONCURRENCY="1")
    yield stack
    stack.gateway.stop()
    stack.worker.stop()


def events_of(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    client = redis_sync.Redis.from_url(stack.redis_url)
    entries = client.xrange(Keys(stack.prefix).events(job_id))
    return [json.loads(fields[b"m"]) for _, fields in entries]


def wait_for_final(stack: Stack, job_id: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        finals = [e for e in events_of(stack, job_id) if e["type"] in ("complete", "error")]
        if finals:
            return finals[0]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} has no terminal event after {seconds}s")


async def test_resume_receives_every_missed_event_in_order(grace_stack: Stack) -> None:
    stack = grace_stack
    async with open_job(stack, "python", COUNTER, resumable=True) as conn:
        offer = await conn.next_event()
        assert offer is not None and offer["type"] == "resume_token"
        await conn.wait_for_output("1\n")
        seen = len(conn.outcome.events) - 1  # the resume_token is not one of the job's events
    await asyncio.sleep(1.0)  # events keep coming while nobody listens
    async with websockets.connect(stack.ws_url) as ws:
        again = JobConnection(ws)
        await again.send(
            {
                "type": "resume",
                "job_id": offer["job_id"],
                "resume_token": offer["token"],
                "received": seen,
            }
        )
        out = await again.finish()
    before = "".join(e["data"] for e in conn.outcome.events if e["type"] == "output")
    assert before + out.stdout == "".join(f"{i}\n" for i in range(6))
    assert out.status == "ok" and out.close_code == 1000


async def test_resume_after_the_job_finished(grace_stack: Stack) -> None:
    stack = grace_stack
    async with open_job(stack, "python", 'print("done")\n', resumable=True) as conn:
        offer = await conn.next_event()
        assert offer is not None
    await asyncio.sleep(1.5)
    async with websockets.connect(stack.ws_url) as ws:
        again = JobConnection(ws)
        await again.send(
            {"type": "resume", "job_id": offer["job_id"], "resume_token": offer["token"]}
        )
        out = await again.finish()
    assert out.stdout == "done\n" and out.status == "ok"


async def test_resume_token_is_checked(grace_stack: Stack) -> None:
    job = await create_job(grace_stack)
    async with websockets.connect(grace_stack.ws_url) as ws:
        conn = JobConnection(ws)
        # A job token is not a resume token.
        await conn.send(
            {"type": "resume", "job_id": job["job_id"], "resume_token": job["job_token"]}
        )
        out = await conn.finish()
    assert out.error["code"] == "auth" and out.close_code == 1008


async def test_unresumed_job_is_killed_after_the_grace(grace_stack: Stack) -> None:
    stack = grace_stack
    async with open_job(
        stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(60)\n', resumable=True
    ) as conn:
        offer = await conn.next_event()
        await conn.wait_for_output("up\n")
    final = wait_for_final(stack, offer["job_id"], 15)
    assert final["status"] == "killed"
    assert "no client" in final["message"]


async def test_disconnect_kills_a_plain_job_within_a_second(grace_stack: Stack) -> None:
    stack = grace_stack
    async with open_job(
        stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(60)\n'
    ) as conn:
        await conn.wait_for_output("up\n")
        job_id = conn.job_id
        left_at = time.monotonic()
    final = wait_for_final(stack, job_id, 5)
    assert final["status"] == "killed"
    assert time.monotonic() - left_at < 1.0 * FACTOR


async def test_gateway_sigterm_says_goodbye_with_1001(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1")
    try:
        async with open_job(
            stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(30)\n'
        ) as conn:
            await conn.wait_for_output("up\n")
            stack.gateway.proc.send_signal(signal.SIGTERM)
            out = await conn.finish(timeout=15)
        assert out.error["code"] == "going_away"
        assert out.close_code == 1001
        # uvicorn re-raises the signal once shut down, as processes conventionally do.
        assert stack.gateway.proc.wait(scaled(15)) in (0, -signal.SIGTERM)
    finally:
        stack.gateway.stop()
        stack.worker.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


async def test_redis_outage_then_recovery(own_redis: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(own_redis.url, tmp_path, WORKER_CONCURRENCY="1")
    try:
        assert (await run(stack, "python", 'print("before")\n')).stdout == "before\n"
        async with open_job(
            stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(30)\n'
        ) as conn:
            await conn.wait_for_output("up\n")
            own_redis.stop()
            out = await conn.finish(timeout=30)
        assert out.error["code"] == "unavailable" and out.close_code == 1013
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=stack.base_url) as http:
            reply = await http.post("/api/jobs/create", headers={"X-API-Key": stack.api_key})
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"]["code"] == "unavailable"
        assert "Retry-After" in reply.headers
        assert time.monotonic() - started < 5
        restarted = RedisServer.start(own_redis.port)
        try:
            wait_until(
                lambda: redis_sync.Redis.from_url(own_redis.url).keys(f"{stack.prefix}:worker:*"),
                30,
                "worker back",
            )
            out = await run(stack, "python", 'print("after")\n')
            assert out.stdout == "after\n"
            assert stack.gateway.proc.poll() is None and stack.worker.proc.poll() is None
        finally:
            restarted.stop()
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def create_status(stack: Stack) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        return await http.post("/api/jobs/create", headers={"X-API-Key": stack.api_key})


async def test_rate_limit_per_key(redis_server: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(
        redis_server.url, tmp_path, WORKER_CONCURRENCY="1", RATE_LIMIT_PER_MINUTE="3"
    )
    try:
        codes = [(await create_status(stack)).status_code for _ in range(3)]
        refused = await create_status(stack)
        assert codes == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_running_cap_per_key(redis_server: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1", MAX_RUNNING_PER_KEY="1")
    try:
        async with open_job(
            stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(30)\n'
        ) as conn:
            await conn.wait_for_output("up\n")
            refused = await create_status(stack)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_running"
            await conn.send({"type": "kill"})
            await conn.finish()
        assert (await create_status(stack)).status_code == 200
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_queue_cap(redis_server: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1", MAX_QUEUE_LENGTH="1")
    try:
        async with open_job(
            stack, "python", 'import time\nprint("up", flush=True)\ntime.sleep(30)\n'
        ) as conn:
            await conn.wait_for_output("up\n")
            refused = await create_status(stack)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "queue_full"
            assert refused.headers["Retry-After"] == "5"
            await conn.send({"type": "kill"})
            await conn.finish()
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_two_gateways_two_workers(redis_server: RedisServer, tmp_path: Path) -> None:
    a = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1")
    port = free_port()
    env = service_env(redis_server.url, a.prefix, WORKER_CONCURRENCY="1", PORT=str(port))
    gateway_b: Service = start_service("services.websocket", env, tmp_path)
    worker_b: Service = start_service("services.worker", env, tmp_path)
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, 20, "B")
        b_url = f"ws://127.0.0.1:{port}/ws/execute"
        job = await create_job(a)  # created through gateway A ...
        async with websockets.connect(b_url) as ws:  # ... run through gateway B
            conn = JobConnection(ws)
            await conn.send(
                {"type": "execute", **job, "language": "python", "code": 'print("via B")\n'}
            )
            out = await conn.finish()
        job.pop("expires_at", None)
        assert out.stdout == "via B\n"
        jobs = [run(a, "python", 'import time\ntime.sleep(0.5)\nprint("x")\n') for _ in range(6)]
        assert all(o.stdout == "x\n" for o in await asyncio.gather(*jobs))
        assert "job " in a.worker.output() and "job " in worker_b.output()
    finally:
        for service in (a.gateway, a.worker, gateway_b, worker_b):
            service.stop()
