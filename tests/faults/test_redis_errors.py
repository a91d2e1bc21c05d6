"""Redis error replies on real parts (issue 7.2): a real redis-server that reaches `maxmemory`
under `noeviction` answers writes with `OOM command not allowed`. Job creation must answer 503,
an open job must end with a clear error, nothing may crash, and once memory is freed jobs run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_sync

from tests.client import open_job, run
from tests.conftest import RedisServer, Stack, scaled, start_stack

pytestmark = pytest.mark.e2e

TICKER = (
    "import time\nfor i in range(200):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n"
)
BALLAST = "ballast"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


def fill_to_the_limit(client: redis_sync.Redis) -> None:
    """32 MB of ballast under a maxmemory of 16 MB: every write that needs memory is refused
    (OOM) until the ballast goes; what the jobs hold is far below 16 MB."""
    client.config_set("maxmemory-policy", "noeviction")
    client.set(BALLAST, b"x" * (32 << 20))
    client.config_set("maxmemory", str(16 << 20))
    with pytest.raises(redis_sync.exceptions.OutOfMemoryError):
        client.set("probe", b"y" * 4096)


async def create_status(stack: Stack) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        return await http.post("/api/jobs/create", headers={"X-API-Key": stack.api_key})


def assert_alive(stack: Stack) -> None:
    assert stack.gateway.proc.poll() is None, stack.gateway.output()[-3000:]
    assert stack.worker.proc.poll() is None, stack.worker.output()[-3000:]
    for service in (stack.gateway, stack.worker):
        assert "Traceback" not in service.output(), service.output()[-3000:]


async def test_redis_out_of_memory_then_freed(own_redis: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(own_redis.url, tmp_path)
    client = redis_sync.Redis.from_url(own_redis.url)
    try:
        assert (await run(stack, "python", 'print("before")\n')).stdout == "before\n"
        async with open_job(stack, "python", TICKER) as conn:
            await conn.wait_for_output("tick 1\n")
            fill_to_the_limit(client)
            full_at = time.monotonic()
            out = await conn.finish(timeout=30)
            ended_after = time.monotonic() - full_at
        assert out.error["code"] == "unavailable", out.summary()
        assert out.close_code == 1013
        assert ended_after < scaled(10), f"the client heard after {ended_after:.1f}s"
        reply = await create_status(stack)
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"]["code"] == "unavailable"
        assert "Retry-After" in reply.headers
        assert_alive(stack)
        client.delete(BALLAST)  # the operator frees memory; maxmemory stays where it was
        await asyncio.sleep(0.5)
        after = await run(stack, "python", 'print("after")\n', timeout=60)
        assert after.stdout == "after\n" and after.status == "ok", after.summary()
        assert_alive(stack)
    finally:
        client.config_set("maxmemory", "0")
        stack.gateway.stop()
        stack.worker.stop()
