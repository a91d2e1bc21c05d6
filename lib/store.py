"""The Redis connection and the one place where redis-py errors become ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lib.errors import ServiceUnavailable

if TYPE_CHECKING:
    Redis = aioredis.Redis
else:
    Redis = aioredis.Redis

CONNECT_TIMEOUT_S = 3.0


def connect(url: str, max_connections: int = 10_000) -> Redis:
    """A pooled client. Blocking stream reads hold a connection each, hence the large pool."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=CONNECT_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=30,
        decode_responses=False,
    )
    return aioredis.Redis(connection_pool=pool)


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn redis-py connection failures into ServiceUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"redis is unreachable: {exc.__class__.__name__}") from exc
