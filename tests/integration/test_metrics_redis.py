"""lib.metrics and lib.queue.waiting against a real redis-server."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from lib import metrics, queue, registry
from lib.errors import ServiceUnavailable
from lib.keys import Keys
from lib.protocol import Complete, Error, ErrorCode, Status
from lib.store import connect
from tests.conftest import free_port
from tests.integration.test_redis import spec

KEYS = Keys("mt")


async def test_record_then_collect(redis: aioredis.Redis) -> None:
    ok = Complete(exit_code=0, execution_time=0.03, status=Status.OK)
    failed = Complete(exit_code=1, execution_time=2.0, status=Status.RUNTIME_ERROR)
    missing = Error(code=ErrorCode.LANGUAGE_UNAVAILABLE, message="no rustc")
    await metrics.record(redis, KEYS, metrics.finished("python", 0.002, ok))
    await metrics.record(redis, KEYS, metrics.finished("python", 0.3, failed))
    await metrics.record(redis, KEYS, metrics.finished("rust", 0.002, missing))
    await registry.beat(redis, KEYS, "w1", {"languages": {"python": "3"}, "free": 3})

    cluster = await metrics.collect(redis, KEYS)
    assert cluster.jobs == {
        ("python", "ok"): 1,
        ("python", "runtime_error"): 1,
        ("rust", "error"): 1,
    }
    assert cluster.queue_wait.count == 3
    assert cluster.queue_wait.sum == pytest.approx(0.304)
    assert cluster.queue_wait.cumulative(metrics.QUEUE_WAIT_BOUNDS)[0] == ("0.005", 2)
    assert set(cluster.execution) == {"python"}  # an `error` has no execution time
    assert cluster.execution["python"].count == 2
    assert (cluster.live_workers, cluster.slots_free, cluster.queue_length) == (1, 3, 0)


async def test_waiting_counts_unclaimed_jobs_only(redis: aioredis.Redis) -> None:
    assert await queue.waiting(redis, KEYS) == 0  # no stream and no group yet
    await queue.enqueue(redis, KEYS, spec("a" * 32))
    assert await queue.waiting(redis, KEYS) == 1  # the group does not exist yet
    await queue.ensure_group(redis, KEYS)
    await queue.enqueue(redis, KEYS, spec("b" * 32))
    assert await queue.waiting(redis, KEYS) == 2
    claimed = await queue.claim(redis, KEYS, "w1", 100)
    assert claimed is not None
    assert await queue.waiting(redis, KEYS) == 1
    await queue.ack(redis, KEYS, claimed[0])
    assert await queue.waiting(redis, KEYS) == 1


async def test_without_redis_both_raise_service_unavailable() -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(ServiceUnavailable):
            await metrics.collect(client, KEYS)
        with pytest.raises(ServiceUnavailable):
            await metrics.record(client, KEYS, metrics.finished("python", 0.0, None))
    finally:
        await client.aclose()
