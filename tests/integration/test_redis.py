"""The Redis layer against a real redis-server started by the fixture on a free port."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from lib import queue, registry, tokens
from lib.config import Settings
from lib.errors import AuthError, ServiceUnavailable
from lib.events import EventLog
from lib.jobs import JobSpec, build_spec
from lib.keys import WORKER_GROUP, Keys
from lib.protocol import Complete, Eof, Input, JobRequest, Kill, Output, Status, Stream
from lib.store import connect
from tests.conftest import free_port

SECRET = "s" * 40
KEYS = Keys("it")


def spec(job_id: str) -> JobSpec:
    request = JobRequest(language="python", code="print(1)", limits={"time_s": 1})
    return build_spec(request, Settings(), job_id=job_id)


async def test_token_claimed_once(redis: aioredis.Redis) -> None:
    issued = tokens.issue(SECRET, tokens.new_job_id(), 60)
    claims = tokens.verify(SECRET, issued.token, issued.job_id)
    await tokens.claim_once(redis, KEYS, claims)
    with pytest.raises(AuthError, match="already been used"):
        await tokens.claim_once(redis, KEYS, claims)
    ttl = await redis.ttl(KEYS.token_use(claims.jti))
    assert 0 < ttl <= 60 + tokens.LEEWAY_S


async def test_token_claim_fails_closed_without_redis() -> None:
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")
    issued = tokens.issue(SECRET, tokens.new_job_id(), 60)
    claims = tokens.verify(SECRET, issued.token, issued.job_id)
    with pytest.raises(ServiceUnavailable):
        await tokens.claim_once(dead, KEYS, claims)
    await dead.aclose()


async def test_queue_claim_ack(redis: aioredis.Redis) -> None:
    await queue.ensure_group(redis, KEYS)
    await queue.ensure_group(redis, KEYS)  # idempotent
    await queue.enqueue(redis, KEYS, spec("a" * 32))
    assert await queue.length(redis, KEYS) == 1
    claimed = await queue.claim(redis, KEYS, "w1", block_ms=100)
    assert claimed is not None
    entry_id, got = claimed
    assert got.job_id == "a" * 32
    assert await queue.claim(redis, KEYS, "w2", block_ms=100) is None  # nobody else gets it
    await queue.ack(redis, KEYS, entry_id)
    assert await queue.length(redis, KEYS) == 0
    assert (await redis.xpending(KEYS.queue, WORKER_GROUP))["pending"] == 0


async def test_claimed_job_of_dead_worker_stays_recoverable(redis: aioredis.Redis) -> None:
    await queue.ensure_group(redis, KEYS)
    await queue.enqueue(redis, KEYS, spec("b" * 32))
    assert await queue.claim(redis, KEYS, "doomed", block_ms=100) is not None
    # The worker "dies" without acknowledging: the entry is pending on its name, with its code.
    pending = await redis.xpending_range(KEYS.queue, WORKER_GROUP, "-", "+", 10)
    assert [p["consumer"] for p in pending] == [b"doomed"]
    reclaimed = await redis.xautoclaim(KEYS.queue, WORKER_GROUP, "rescuer", 0, "0-0")
    assert len(reclaimed[1]) == 1


async def test_events_read_from_zero_by_a_late_reader(redis: aioredis.Redis) -> None:
    log = EventLog(redis, KEYS, "c" * 32, ttl_s=60)
    await log.publish(Output(stream=Stream.STDOUT, data="early"))
    await log.publish(Complete(exit_code=0, execution_time=0.1, status=Status.OK))
    events = await log.read_events("0", block_ms=100)
    assert [type(e).__name__ for _, e in events] == ["Output", "Complete"]
    assert await log.read_events(events[-1][0], block_ms=50) == []
    assert 0 < await redis.ttl(KEYS.events("c" * 32)) <= 60


async def test_controls_keep_order(redis: aioredis.Redis) -> None:
    log = EventLog(redis, KEYS, "d" * 32, ttl_s=60)
    sent = [
        Input(type="input", data="1\n"),
        Input(type="input", data="2\n"),
        Eof(type="eof"),
        Kill(type="kill"),
    ]
    for control in sent:
        await log.send_control(control)
    got = [c for _, c in await log.read_controls("0", block_ms=100)]
    assert got == sent


async def test_starter_tells_the_worker_and_its_heartbeat_in_one_call(
    redis: aioredis.Redis,
) -> None:
    events = EventLog(redis, KEYS, "c" * 32, 60)
    assert await events.starter() == (None, False)
    await events.mark_started("w-1")
    assert await events.starter() == ("w-1", False)
    await registry.beat(redis, KEYS, "w-1", {"languages": {}}, 5)
    assert await events.starter() == ("w-1", True)


async def test_finish_stores_the_result_with_the_terminal_event_once(
    redis: aioredis.Redis,
) -> None:
    events = EventLog(redis, KEYS, "d" * 32, 60)
    done = Complete(exit_code=0, execution_time=0.1, status=Status.OK)
    assert await events.finish(done, "w-1", '{"r": 1}', 30)
    assert not await events.finish(done, "w-2", '{"r": 2}', 30)
    assert await events.stored_result() == b'{"r": 1}'
    assert 0 < await redis.ttl(KEYS.result("d" * 32)) <= 30
    assert len(await events.read_events("0", 0)) == 1
