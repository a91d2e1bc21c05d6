"""Appending to and reading from Redis Streams whose entries hold one JSON message each."""

from __future__ import annotations

from typing import Any

from lib.keys import FIELD
from lib.store import Redis, blocking, translate_errors

Entry = tuple[str, bytes]  # (stream id, JSON payload)


async def append(redis: Redis, key: str, payload: str, ttl_s: int) -> str:
    """XADD one message and refresh the stream's expiry, in one round trip."""
    async with translate_errors():
        pipe = redis.pipeline(transaction=False)
        pipe.xadd(key, {FIELD: payload})
        pipe.expire(key, ttl_s)
        entry_id, _ = await pipe.execute()
    return _text(entry_id)


async def read(redis: Redis, key: str, after: str, block_ms: int, count: int = 100) -> list[Entry]:
    """Entries after `after` ("0" for all), waiting up to block_ms for the first one."""
    async with translate_errors():
        reply = await blocking(redis.xread({key: after}, count=count, block=block_ms))
    return entries_of(reply)


def entries_of(reply: Any) -> list[Entry]:
    """Flatten redis-py's (RESP2) XREAD/XREADGROUP reply into (id, payload) pairs."""
    out: list[Entry] = []
    for _key, items in reply or []:
        for entry_id, fields in items:
            if fields:  # an entry deleted while pending comes back with no fields
                out.append((_text(entry_id), fields.get(FIELD.encode(), b"")))
    return out


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
