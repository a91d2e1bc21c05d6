"""A job's two streams: events out (worker → gateway) and control in (gateway → worker).

Both are read from id "0", so a reader that starts late still gets every entry from the first:
events published before the gateway began reading, input sent before the program started.
"""

from __future__ import annotations

import weakref

from redis.commands.core import AsyncScript

from lib import streams
from lib.keys import FIELD, Keys
from lib.protocol import (
    Complete,
    Control,
    Error,
    Event,
    encode,
    parse_run_control,
)
from lib.protocol import parse_server_message as parse_event
from lib.store import Redis, translate_errors

EVENT_BATCH = 16  # events per read; each is at most 64 KiB of output

# The terminal event, once: the worker that ran the job, a gateway that saw its worker die, and a
# worker recovering a dead one's job may all try to end it; the first SET NX wins and appends.
# The job's result (lib.results) is set by the same script: it exists once the job has ended.
_FINISH = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3]) then
  local id = redis.call('XADD', KEYS[2], '*', ARGV[4], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if ARGV[5] ~= '' then
    redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
  end
  return id
end
return false
"""
# Who started the job and whether that worker's heartbeat is current, in one round trip (the
# gateway asks this every HEARTBEAT_S while a job's events are silent).
_STARTER = """
local worker = redis.call('GET', KEYS[1])
if not worker then
  return false
end
return {worker, redis.call('EXISTS', ARGV[1] .. worker)}
"""
# One Script object per client (it holds the SHA1 and re-loads the script on NOSCRIPT).
_scripts: weakref.WeakKeyDictionary[Redis, dict[str, AsyncScript]] = weakref.WeakKeyDictionary()


def _script(redis: Redis, source: str) -> AsyncScript:
    scripts = _scripts.setdefault(redis, {})
    if source not in scripts:
        scripts[source] = redis.register_script(source)
    return scripts[source]


ServerEvent = Event

__all__ = ["Control", "EventLog", "ServerEvent", "parse_event"]


class EventLog:
    """The streams of one job, as seen from either side."""

    def __init__(self, redis: Redis, keys: Keys, job_id: str, ttl_s: int) -> None:
        self.redis = redis
        self.keys = keys
        self.job_id = job_id
        self.events_key = keys.events(job_id)
        self.started_key = keys.started(job_id)
        self.attached_key = keys.attached(job_id)
        self.record_key = keys.job(job_id)
        self.input_key = keys.input(job_id)
        self.ended_key = keys.ended(job_id)
        self.result_key = keys.result(job_id)
        self.ttl_s = ttl_s

    async def publish(self, event: ServerEvent) -> str:
        return await streams.append(self.redis, self.events_key, encode(event), self.ttl_s)

    async def finish(
        self, event: Complete | Error, by: str, result: str = "", result_ttl_s: int = 0
    ) -> bool:
        """Publish the job's terminal event, and store its result (encoded: lib.results), unless
        someone already ended the job; True if this call did."""
        keys = [self.ended_key, self.events_key, self.result_key]
        args: list[str | int] = [encode(event), by, self.ttl_s, FIELD, result, result_ttl_s]
        async with translate_errors():
            entry = await _script(self.redis, _FINISH)(keys=keys, args=args)
        return entry is not None

    async def stored_result(self) -> bytes | None:
        """The encoded result of the job if it has ended and its result is still kept."""
        async with translate_errors():
            raw = await self.redis.get(self.result_key)
        return raw if isinstance(raw, bytes) or raw is None else str(raw).encode()

    async def has_ended(self) -> bool:
        async with translate_errors():
            return bool(await self.redis.exists(self.ended_key))

    async def read_events(self, after: str, block_ms: int) -> list[tuple[str, ServerEvent]]:
        # A few events at a time: what a slow client has not taken yet waits in Redis (bounded by
        # the job's output limit), not in the gateway's memory.
        entries = await streams.read(self.redis, self.events_key, after, block_ms, EVENT_BATCH)
        return [(entry_id, parse_event(payload)) for entry_id, payload in entries]

    async def mark_started(self, worker_id: str) -> None:
        """Recorded before user code first runs: a job whose worker dies after this is not
        retried (its program may have had effects, and its input is spent)."""
        async with translate_errors():
            await self.redis.set(self.started_key, worker_id, ex=self.ttl_s)

    async def was_started(self) -> bool:
        return await self.started_by() is not None

    async def started_by(self) -> str | None:
        """The id of the worker that started the job's program, if one did."""
        async with translate_errors():
            value = await self.redis.get(self.started_key)
        return value.decode() if isinstance(value, bytes) else value

    async def starter(self) -> tuple[str | None, bool]:
        """The worker that started the job (None: not started) and whether it is live."""
        prefix = self.keys.worker("")
        async with translate_errors():
            reply = await _script(self.redis, _STARTER)(keys=[self.started_key], args=[prefix])
        if not reply:
            return None, False
        worker, live = reply
        return (worker.decode() if isinstance(worker, bytes) else str(worker)), bool(live)

    async def attach(self, lease_s: int) -> None:
        """Renew the lease that says a client is connected (the gateway, every second)."""
        async with translate_errors():
            await self.redis.set(self.attached_key, "1", ex=lease_s)

    async def detach(self) -> None:
        async with translate_errors():
            await self.redis.delete(self.attached_key)

    async def is_attached(self) -> bool:
        async with translate_errors():
            return bool(await self.redis.exists(self.attached_key))

    async def record(self, key_id: str) -> None:
        """The job exists (for `resume`), whether or not it has published anything yet."""
        async with translate_errors():
            await self.redis.set(self.record_key, key_id, ex=self.ttl_s)

    async def exists(self) -> bool:
        async with translate_errors():
            return bool(await self.redis.exists(self.record_key))

    async def owner(self) -> str | None:
        """The API key id recorded when the job started, or None if the record is gone."""
        async with translate_errors():
            value = await self.redis.get(self.record_key)
        return value.decode() if isinstance(value, bytes) else value

    async def send_control(self, control: Control) -> str:
        return await streams.append(self.redis, self.input_key, encode(control), self.ttl_s)

    async def read_controls(self, after: str, block_ms: int) -> list[tuple[str, Control]]:
        entries = await streams.read(self.redis, self.input_key, after, block_ms)
        return [(entry_id, parse_run_control(payload)) for entry_id, payload in entries]
