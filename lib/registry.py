"""Live workers: each refreshes a heartbeat key that expires, so a dead worker vanishes from
here within HEARTBEAT_TTL_S. Used by workers (to recover a dead one's jobs), /ready and /metrics."""

from __future__ import annotations

import json
from typing import Any

from lib.keys import Keys
from lib.store import Redis, translate_errors

HEARTBEAT_S = 2.0
HEARTBEAT_TTL_S = 6


async def beat(
    redis: Redis, keys: Keys, worker_id: str, info: dict[str, Any], ttl_s: int = HEARTBEAT_TTL_S
) -> None:
    async with translate_errors():
        await redis.set(keys.worker(worker_id), json.dumps(info), ex=ttl_s)


async def leave(redis: Redis, keys: Keys, worker_id: str) -> None:
    async with translate_errors():
        await redis.delete(keys.worker(worker_id))


async def live(redis: Redis, keys: Keys) -> dict[str, dict[str, Any]]:
    """Every live worker's id and its last heartbeat."""
    found: dict[str, dict[str, Any]] = {}
    async with translate_errors():
        names = [name async for name in redis.scan_iter(match=keys.worker_pattern, count=500)]
        values = await redis.mget(names) if names else []
    prefix = keys.worker("")
    for name, value in zip(names, values, strict=True):
        if value is not None:
            key = name.decode() if isinstance(name, bytes) else name
            found[key.removeprefix(prefix)] = json.loads(value)
    return found


def languages(workers: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Each language some live worker serves, with the versions found (sorted, no repeats)."""
    found: dict[str, set[str]] = {}
    for info in workers.values():
        for name, version in (info.get("languages") or {}).items():
            found.setdefault(name, set()).add(str(version))
    return {name: sorted(found[name]) for name in sorted(found)}


def slots_free(workers: dict[str, dict[str, Any]]) -> int:
    """Free job slots across the live workers, as of their last heartbeats."""
    return sum(int(info.get("free") or 0) for info in workers.values())
