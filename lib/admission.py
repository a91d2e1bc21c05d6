"""Admission control: a cap on the queue, and per API key a rate limit on job creation and a cap on
jobs running at once. State lives in Redis, so every gateway enforces the same limits."""

from __future__ import annotations

import time

from lib import queue
from lib.config import Settings
from lib.errors import QueueFull, RateLimited, TryAgainLater
from lib.keys import Keys
from lib.store import Redis, translate_errors

# A running-set entry must be gone by then even if its gateway died without removing it.
RUNNING_SLACK_S = 600


async def check_create(redis: Redis, keys: Keys, settings: Settings, key_id: str) -> None:
    """Raise QueueFull, RateLimited or TryAgainLater unless a new job of this key may be created
    now; counts the creation against the key's rate."""
    if settings.max_queue_length and await queue.length(redis, keys) >= settings.max_queue_length:
        raise QueueFull("the job queue is full; try again shortly")
    if settings.rate_limit_per_minute:
        minute = int(time.time() // 60)
        async with translate_errors():
            pipe = redis.pipeline(transaction=False)
            pipe.incr(keys.rate(key_id, minute))
            pipe.expire(keys.rate(key_id, minute), 120)
            created, _ = await pipe.execute()
        if created > settings.rate_limit_per_minute:
            wait = 60 - int(time.time()) % 60
            message = f"more than {settings.rate_limit_per_minute} jobs a minute for this API key"
            raise RateLimited(message, retry_after_s=wait)
    if (
        settings.max_running_per_key
        and await running(redis, keys, key_id) >= settings.max_running_per_key
    ):
        raise TryAgainLater(f"this API key already runs {settings.max_running_per_key} jobs")


async def running(redis: Redis, keys: Keys, key_id: str) -> int:
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.zremrangebyscore(keys.running(key_id), "-inf", time.time())
        pipe.zcard(keys.running(key_id))
        _, count = await pipe.execute()
    return int(count)


async def start(
    redis: Redis, keys: Keys, key_id: str, job_id: str, must_end_by: float, cap: int
) -> bool:
    """Count a job as running for its key; False (and not counted) if the key is at its cap."""
    name = keys.running(key_id)
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.zremrangebyscore(name, "-inf", time.time())
        pipe.zadd(name, {job_id: must_end_by + RUNNING_SLACK_S})
        pipe.expire(name, int(must_end_by - time.time()) + RUNNING_SLACK_S)
        pipe.zcard(name)
        *_, count = await pipe.execute()
        if cap and count > cap:
            await redis.zrem(name, job_id)
            return False
    return True


async def finish(redis: Redis, keys: Keys, key_id: str, job_id: str) -> None:
    async with translate_errors():
        await redis.zrem(keys.running(key_id), job_id)
