"""The job service: every door (WebSocket, REST, and the compatible APIs to come) admits, starts,
follows, steers and reads jobs through this one class, and no door owns any of it.

    admit    schema → files → limits → code validation → the key's running cap   (JobRequest)
    start    record, lease, warnings, stdin, enqueue                            (Admitted)
    follow   the job's events from any point, ending the job if its worker died (issue 7.1)
    send     input, eof, kill
    result   the stored result by id, for the API key that started the job

Errors are RequestError / ServiceUnavailable subclasses carrying code, close code and HTTP status;
each door renders them in its own shape.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib import admission, queue, results, tokens
from lib.codes import Status
from lib.config import Settings
from lib.errors import InvalidRequest, NotFound, ServiceUnavailable, TryAgainLater
from lib.events import Control, EventLog
from lib.jobs import UNATTENDED, JobSpec, build_spec, check_stdin
from lib.keys import Keys
from lib.protocol import (
    JOB_ID_PATTERN,
    SIGNALS,
    CodeViolation,
    Complete,
    Eof,
    Error,
    Event,
    Input,
    JobRequest,
    Kill,
    Signal,
    ValidationWarning,
)
from lib.store import Redis
from lib.validation import Validator, Violation

log = logging.getLogger(__name__)

LEASE_S = 3  # the worker treats a job as orphaned once this lease has lapsed
LEASE_RENEW_S = 1.0
WORKER_GONE = "the worker running this job stopped unexpectedly"
_JOB_ID = re.compile(JOB_ID_PATTERN)


@dataclass(frozen=True)
class Admitted:
    """A job that passed every check and is counted against its key; not yet queued."""

    spec: JobSpec
    stdin: str | None
    warnings: list[Violation] = field(default_factory=list)
    input_bytes: int = 0


def is_job_id(value: str) -> bool:
    return bool(_JOB_ID.fullmatch(value))


def check_signal(message: Signal) -> Signal:
    """A signal a program may be sent (lib.protocol.SIGNALS); else InvalidRequest."""
    if message.signal not in SIGNALS:
        allowed = ", ".join(sorted(SIGNALS))
        raise InvalidRequest(f"signal {message.signal!r} cannot be sent; one of {allowed}")
    return message


def violations(found: Sequence[Violation]) -> list[CodeViolation]:
    return [CodeViolation.model_validate(v.as_dict()) for v in found]


class JobService:
    def __init__(self, settings: Settings, redis: Redis, validator: Validator) -> None:
        self.settings = settings
        self.redis = redis
        self.validator = validator
        self.keys = Keys(settings.key_prefix)

    def events(self, job_id: str) -> EventLog:
        return EventLog(self.redis, self.keys, job_id, self.settings.event_ttl_s)

    # -- admit ---------------------------------------------------------------------------------

    async def check_create(self, key_id: str) -> None:
        """Whether the key may create a job now (queue cap, rate, running cap); counts it."""
        await admission.check_create(self.redis, self.keys, self.settings, key_id)

    async def admit(
        self,
        request: JobRequest,
        *,
        job_id: str,
        key_id: str,
        claims: tokens.TokenClaims | None = None,
        unattended: bool = False,
    ) -> Admitted:
        """Every check of a request, cheapest first; a token (WebSocket) is spent only once the
        request is known good. Raises a RequestError subclass."""
        spec = build_spec(request, self.settings, job_id=job_id, key_id=key_id)
        if unattended:
            spec = spec.model_copy(update={"detach_grace_s": UNATTENDED})
        input_bytes = check_stdin(request.stdin, self.settings)
        # Up to the validator's time budget on hostile input: off the event loop.
        # Data files (base64 that is not text) too: the validator refuses those that could be
        # loaded as code (lib.validation.data_findings) and parses the rest.
        warnings = await asyncio.to_thread(self.validator.enforce, spec.language, spec.files)
        if claims is not None:
            await tokens.claim_once(self.redis, self.keys, claims)
        await self._count_running(spec, key_id)
        return Admitted(spec, request.stdin, list(warnings), input_bytes)

    async def _count_running(self, spec: JobSpec, key_id: str) -> None:
        if not key_id:
            return
        must_end_by = time.time() + spec.longest_s
        cap = self.settings.max_running_per_key
        if not await admission.start(self.redis, self.keys, key_id, spec.job_id, must_end_by, cap):
            raise TryAgainLater(f"this API key already runs {cap} jobs; try again when one ends")

    # -- start ---------------------------------------------------------------------------------

    async def start(
        self,
        job: Admitted,
        recorded: Callable[[], Awaitable[None]] | None = None,
        *,
        close_stdin: bool = False,
    ) -> EventLog:
        """Queue the job; its events can be followed from the first. The lease says a client
        is attached (the door renews it with `hold`). `recorded` runs once the job exists (a
        `resume` finds it) and before anything of it is published. `close_stdin`: the request's
        `stdin` is all the input there is (a door with no live input): EOF follows it."""
        spec = job.spec
        events = self.events(spec.job_id)
        await events.record(spec.key_id)
        await events.attach(LEASE_S)
        if recorded is not None:
            await recorded()
        if job.warnings:
            # Through the event stream, so the warning comes first and a resumed client gets it.
            await events.publish(
                ValidationWarning(
                    message=f"{len(job.warnings)} finding(s) of the code validator",
                    violations=violations(job.warnings),
                )
            )
        if job.stdin:
            await events.send_control(Input(type="input", data=job.stdin))
        if close_stdin:
            await events.send_control(Eof(type="eof"))
        await queue.enqueue(self.redis, self.keys, spec)
        log.info("job %s: enqueued (%s, %d files)", spec.job_id, spec.language, len(spec.files))
        return events

    async def send(self, events: EventLog, control: Control) -> None:
        """Input, eof or kill, appended to the job's input stream (the worker reads it from the
        first entry, so input sent before the program started arrives, in order)."""
        await events.send_control(control)

    async def done(self, key_id: str, job_id: str) -> None:
        """The door no longer waits for the job: it stops counting against its key."""
        if key_id:
            await admission.finish(self.redis, self.keys, key_id, job_id)

    # -- follow --------------------------------------------------------------------------------

    async def follow(self, events: EventLog, after: str = "0") -> AsyncIterator[tuple[str, Event]]:
        """The job's events after `after` ("0": from the first), ending with its terminal event.
        While they are silent, the worker that started the job is checked (`_check_worker`)."""
        lapses = 0
        block_ms = int(self.settings.heartbeat_s * 1000)
        while True:
            batch = await events.read_events(after, block_ms)
            for entry_id, event in batch:
                after = entry_id
                yield entry_id, event
                if isinstance(event, Complete | Error):
                    return
            lapses = 0 if batch else await self._check_worker(events, lapses)

    async def _check_worker(self, events: EventLog, lapses: int) -> int:
        """The job's events have stopped: is the worker that started it still alive? A worker
        that dies with no other worker alive leaves nobody else to end the job (issue 7.1), so
        once its heartbeat is seen lapsed twice, one heartbeat apart (a single miss can be a
        worker reconnecting to a restarted Redis), the job ends here with internal_error.
        Returns the lapses seen in a row."""
        worker, live = await events.starter()
        if worker is None or live:
            return 0
        if lapses < 1:
            return lapses + 1
        final = Complete(
            exit_code=None, execution_time=0.0, status=Status.INTERNAL_ERROR, message=WORKER_GONE
        )
        owner = await events.owner() or ""
        result = results.from_final(events.job_id, "", final, results.Outputs())
        stored = results.encode_stored(owner, result)
        if await events.finish(final, "gateway", stored, self.settings.result_ttl_s):
            log.warning("job %s: worker %s has no heartbeat; job ended", events.job_id, worker)
            # If the worker is alive after all (a stalled process), it stops the program too.
            await events.send_control(Kill(type="kill"))
        return 0  # the next read returns the terminal event, whoever published it

    async def hold(self, events: EventLog, lost: asyncio.Event) -> None:
        """While a client waits, tell the worker one is here (it kills orphaned jobs). Once
        renewals have failed for the whole lease (Redis refusing writes: OOM, READONLY), the
        worker counts the client as gone: `lost` is set and the door ends with `unavailable`."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(LEASE_RENEW_S)
            try:
                await events.attach(LEASE_S)
                renewed = time.monotonic()
            except ServiceUnavailable:
                if time.monotonic() - renewed >= LEASE_S:
                    lost.set()
                    return

    # -- result --------------------------------------------------------------------------------

    async def result(self, job_id: str, key_id: str) -> results.JobResult:
        """The job's result if it has ended, else its state; NotFound for an unknown or expired
        id, or one started with another API key (not told apart: ids are not to be probed)."""
        if not is_job_id(job_id):
            raise NotFound("no such job")
        events = self.events(job_id)
        raw = await events.stored_result()
        if raw is not None:
            stored = results.decode_stored(raw)
            if stored.key_id != key_id:
                raise NotFound("no such job")
            return stored.result
        if await events.owner() != key_id:
            raise NotFound("no such job")
        return results.pending(job_id, await events.was_started())


async def race(*contenders: Awaitable[Any]) -> Any:
    """Run all until one finishes, cancel the rest, and return the finished one's result (or
    raise its error). If several finish in the same turn, the earliest listed wins: a terminal
    event already sent to the client must not be followed by an error."""
    tasks = [asyncio.ensure_future(c) for c in contenders]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return next(t for t in tasks if t in done and not t.cancelled()).result()
