"""The Redis connection and the one place where redis-py errors become ours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as rx

from lib.errors import ServiceUnavailable, StoreFault

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


# Every exception class redis-py defines, mapped once (as httpx maps its transport's errors).
# ServiceUnavailable: a state that passes (Redis down, slow, full, read-only after a failover,
# loading its data, running a long script); StoreFault: a refusal that retrying will not mend.
# tests/unit/test_store.py walks redis.exceptions and fails on any class missing here.
FOREIGN_ERRORS: dict[type[BaseException], type[ServiceUnavailable]] = {
    rx.RedisError: StoreFault,
    rx.ConnectionError: ServiceUnavailable,
    rx.TimeoutError: ServiceUnavailable,
    rx.AuthenticationError: StoreFault,  # a wrong password is configuration, not a blip
    rx.AuthorizationError: StoreFault,
    rx.AuthenticationWrongNumberOfArgsError: StoreFault,
    rx.ExternalAuthProviderError: ServiceUnavailable,
    rx.BusyLoadingError: ServiceUnavailable,  # LOADING: a restarted Redis reads its AOF/RDB
    rx.MaxConnectionsError: ServiceUnavailable,
    rx.ResponseError: StoreFault,  # refined by its first word below (BUSY, MISCONF, ...)
    rx.OutOfMemoryError: ServiceUnavailable,  # OOM: maxmemory reached under noeviction
    rx.ReadOnlyError: ServiceUnavailable,  # READONLY: we reach a replica after a failover
    rx.TryAgainError: ServiceUnavailable,
    rx.ClusterError: ServiceUnavailable,
    rx.ClusterDownError: ServiceUnavailable,
    rx.MasterDownError: ServiceUnavailable,
    rx.AskError: ServiceUnavailable,
    rx.MovedError: ServiceUnavailable,
    rx.ClusterCrossSlotError: StoreFault,
    rx.ExecAbortError: StoreFault,
    rx.NoScriptError: StoreFault,  # redis-py's Script reloads on NOSCRIPT; seen here it is a bug
    rx.NoPermissionError: StoreFault,
    rx.NoSuchFieldsetError: StoreFault,
    rx.ModuleError: StoreFault,
    rx.DataError: StoreFault,
    rx.PubSubError: StoreFault,
    rx.WatchError: ServiceUnavailable,  # a key changed under a WATCH: try again
    rx.InvalidResponse: ServiceUnavailable,  # a garbled reply: the connection is dropped
    rx.LockError: StoreFault,
    rx.LockNotOwnedError: StoreFault,
    rx.ChildDeadlockedError: StoreFault,
    rx.RedisClusterException: StoreFault,
    rx.CrossSlotTransactionError: StoreFault,
    rx.InvalidPipelineStack: StoreFault,
    rx.SlotNotCoveredError: ServiceUnavailable,
    rx.IncorrectPolicyType: StoreFault,
    OSError: ServiceUnavailable,  # socket errors redis-py lets through
}
# Error replies redis-py leaves as a plain ResponseError whose first word says the state passes
# (https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors).
TRANSIENT_REPLIES = frozenset(
    {"BUSY", "MISCONF", "NOREPLICAS", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "OOM"}
)
_CAUGHT = tuple(FOREIGN_ERRORS)


def translate(exc: BaseException) -> ServiceUnavailable:
    """Our error for a foreign one (the most specific mapped class in its MRO)."""
    kind = next((FOREIGN_ERRORS[c] for c in type(exc).__mro__ if c in FOREIGN_ERRORS), StoreFault)
    reason = type(exc).__name__
    if type(exc) is rx.ResponseError:  # redis-py strips the word only of the replies it knows
        reason = str(exc).split(" ", 1)[0].upper() or reason
        if reason in TRANSIENT_REPLIES:
            kind = ServiceUnavailable
    detail = f"{reason}: {str(exc)[:200]}" if str(exc) else reason
    if kind is StoreFault:
        return StoreFault(f"redis refused a command: {detail}", reason=reason)
    return ServiceUnavailable(f"redis is unavailable: {detail}", reason=reason)


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn every redis-py exception (and socket error) into ServiceUnavailable or StoreFault.

    Except in a task that is being cancelled: redis-py can turn a cancellation in mid-command
    into a TimeoutError (see `blocking` below), and translated into ServiceUnavailable it would be
    retried by a loop that backs off, so the task would never end and whoever awaits it (a
    TaskGroup, a session's race) would hang. Such a task gets its CancelledError back."""
    try:
        yield
    except _CAUGHT as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError() from exc
        raise translate(exc) from exc


async def ping(redis: Redis) -> None:
    """Raise ServiceUnavailable unless Redis answers."""
    async with translate_errors():
        await redis.ping()
