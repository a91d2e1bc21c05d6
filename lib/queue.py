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
from lib.store import Redis, blocking, translate_errors
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
