"""The Redis connection and the one place where redis-py errors become ours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lib.errors import ServiceUnavailable

if TYPE_CHECKING:
    Redis = aioredis.Redis
else:
    Redis = aioredis.Redis

CONNECT_TIMEOUT_S = 3.0
# Every blocking read (XREAD/XREADGROUP BLOCK) in this project waits at most 5 s, so a reply is due
# within this; redis-py 8's default of 5 s would time out a full-length blocking read.
SOCKET_TIMEOUT_S = 15.0
T = TypeVar("T")


def connect(url: str, max_connections: int = 10_000) -> Redis:
    """A pooled client. Blocking stream reads hold a connection each, hence the large pool."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=CONNECT_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
        decode_responses=False,
    )
    return aioredis.Redis(connection_pool=pool)


_orphans: set[asyncio.Future[Any]] = set()


async def blocking(call: Awaitable[T]) -> T:
    """Await a blocking Redis read so that cancelling the caller never cancels the read itself.

    redis-py does not take cancellation cleanly in the middle of a blocking read (seen with
    redis-py 8 on Python 3.11: the cancellation came back as a TimeoutError, or was lost and the
    read went on). So the caller is released at once and the read finishes on its own within its
    BLOCK time, its result discarded, its connection back in the pool.
    """
    future = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        _orphans.add(future)
        future.add_done_callback(_forget)
        raise


def _forget(future: asyncio.Future[Any]) -> None:
    _orphans.discard(future)
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it as never retrieved


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn redis-py connection failures into ServiceUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"redis is unreachable: {exc.__class__.__name__}") from exc


async def ping(redis: Redis) -> None:
    """Raise ServiceUnavailable unless Redis answers."""
    async with translate_errors():
        await redis.ping()
