"""The job queue: a Redis Stream read by the `workers` consumer group.

A claimed entry stays in the group's pending list until the worker acknowledges it, so a job whose
worker dies is still in Redis (XPENDING / XAUTOCLAIM) to be recovered.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from redis.exceptions import ResponseError

from lib.jobs import JobSpec
from lib.keys import FIELD, WORKER_GROUP, Keys
from lib.store import Redis, blocking, translate, translate_errors
from lib.streams import entries_of

log = logging.getLogger(__name__)


async def ensure_group(redis: Redis, keys: Keys) -> None:
    async with translate_errors():
        try:
            await redis.xgroup_create(keys.queue, WORKER_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


async def enqueue(redis: Redis, keys: Keys, spec: JobSpec) -> str:
    async with translate_errors():
        entry_id = await redis.xadd(keys.queue, {FIELD: spec.model_dump_json()})
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def claim(
    redis: Redis, keys: Keys, consumer: str, block_ms: int
) -> tuple[str, JobSpec] | None:
    """Take the next job for this consumer, waiting up to block_ms; None if nothing came."""
    async with translate_errors():
        reply = await blocking(
            redis.xreadgroup(WORKER_GROUP, consumer, {keys.queue: ">"}, count=1, block=block_ms)
        )
    for entry_id, payload in entries_of(reply):
        try:
            return entry_id, JobSpec.model_validate_json(payload)
        except ValidationError:
            log.error("dropping unreadable queue entry %s", entry_id)
            await ack(redis, keys, entry_id)
    return None


async def orphans(
    redis: Redis, keys: Keys, live: set[str], min_idle_ms: int, count: int = 100
) -> list[str]:
    """Entry ids of claimed jobs whose worker is not among the `live` workers."""
    async with translate_errors():
        try:
            pending = await redis.xpending_range(keys.queue, WORKER_GROUP, "-", "+", count)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                return []  # no queue yet (a fresh or restarted Redis): nothing to recover
            raise
    return [
        _text(p["message_id"])
        for p in pending
        if _text(p["consumer"]) not in live and int(p["time_since_delivered"]) >= min_idle_ms
    ]


async def peek(redis: Redis, keys: Keys, entry_id: str) -> JobSpec | None:
    """The job of a queue entry without claiming it; None if it is gone or unreadable."""
    async with translate_errors():
        reply = await redis.xrange(keys.queue, entry_id, entry_id, count=1)
    for _id, fields in reply or []:
        try:
            return JobSpec.model_validate_json((fields or {}).get(FIELD.encode(), b""))
        except ValidationError:
            return None
    return None


async def take_over(
    redis: Redis, keys: Keys, consumer: str, entry_id: str, min_idle_ms: int
) -> bool:
    """Claim a dead worker's entry; False if another worker took it first (XCLAIM resets the
    entry's idle time, so only one claimant within min_idle_ms succeeds)."""
    async with translate_errors():
        reply = await redis.xclaim(
            keys.queue, WORKER_GROUP, consumer, min_idle_ms, [entry_id], justid=True
        )
    return bool(reply)


def _text(value: str | bytes | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def ack(redis: Redis, keys: Keys, entry_id: str) -> None:
    """Acknowledge and delete a finished job's entry (it holds the user's code)."""
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.xack(keys.queue, WORKER_GROUP, entry_id)
        pipe.xdel(keys.queue, entry_id)
        await pipe.execute()


async def length(redis: Redis, keys: Keys) -> int:
    async with translate_errors():
        return int(await redis.xlen(keys.queue))


async def waiting(redis: Redis, keys: Keys) -> int:
    """Jobs no worker has claimed yet: the stream's entries minus those pending in the group
    (ack() deletes an acknowledged entry, so every entry is either waiting or pending)."""
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.xlen(keys.queue)
        pipe.xpending(keys.queue, WORKER_GROUP)
        total, pending = await pipe.execute(raise_on_error=False)
    if isinstance(total, Exception):  # an error reply handed back as a value
        raise translate(total) from total
    # Before the first worker created the group, XPENDING fails (NOGROUP): nothing is claimed.
    claimed = int(pending["pending"]) if isinstance(pending, dict) else 0
    return max(int(total) - claimed, 0)
