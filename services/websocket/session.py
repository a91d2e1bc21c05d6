"""One WebSocket at /ws/execute: authenticate → validate → enqueue → relay events ↔ forward input.

The event stream is read from id "0", so nothing the worker publishes before we start reading is
lost, and input is appended to the job's input stream, which the worker also reads from id "0", so
input sent before the program started is delivered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lib import admission, logs, queue, registry, tokens
from lib.config import Settings
from lib.errors import (
    AuthError,
    MessageTooLarge,
    PolicyViolation,
    RequestError,
    ServiceUnavailable,
    TryAgainLater,
    UnexpectedMessage,
)
from lib.events import EventLog
from lib.jobs import JobSpec, build_spec, utf8
from lib.keys import Keys
from lib.protocol import (
    JOB_ID_PATTERN,
    CloseCode,
    CodeViolation,
    Complete,
    Eof,
    Error,
    ErrorCode,
    Execute,
    Input,
    Kill,
    Resume,
    ResumeToken,
    Status,
    ValidationWarning,
    encode,
    parse_client_message,
)
from lib.store import Redis
from lib.validation import CodeRejected, Validator, Violation

log = logging.getLogger(__name__)

LEASE_S = 3  # the worker treats a job as orphaned once this lease has lapsed
LEASE_RENEW_S = 1.0
WORKER_GONE = "the worker running this job stopped unexpectedly"
_JOB_ID = re.compile(JOB_ID_PATTERN)


class ClientGone(Exception):
    """The client closed the connection."""


class GoingAway(Exception):
    """The gateway is shutting down."""


class Session:
    """One client connection. A job is either started here (`execute`) or reattached (`resume`);
    then events are relayed and input forwarded until the job's terminal event."""

    def __init__(
        self,
        ws: WebSocket,
        settings: Settings,
        redis: Redis,
        validator: Validator,
        shutdown: asyncio.Event,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.redis = redis
        self.validator = validator
        self.shutdown = shutdown
        self.keys = Keys(settings.key_prefix)
        self.job_id = "-"
        self.key_id = ""
        self.events: EventLog | None = None
        self.resumable = False
        self.warnings: list[Violation] = []
        self.input_bytes = 0

    async def run(self) -> None:
        await self.ws.accept()
        try:
            first = await self._receive_first()
            if isinstance(first, Execute):
                await self._start(await self._admit(first), first)
                skip = 0
            else:
                skip = await self._reattach(first)
            await self._relay(skip)
        except CodeRejected as exc:
            await self._fail(exc.code, exc.message, exc.close_code, exc.violations)
        except RequestError as exc:
            await self._fail(exc.code, exc.message, exc.close_code)
        except ServiceUnavailable as exc:
            log.warning("job %s: %s", self.job_id, exc)
            await self._fail(exc.code, "the service is temporarily unavailable", exc.close_code)
        except GoingAway:
            message = "the gateway is shutting down" + (
                "; resume elsewhere" if self.resumable else ""
            )
            await self._fail(ErrorCode.GOING_AWAY, message, CloseCode.GOING_AWAY)
        except ClientGone:
            log.info("job %s: client disconnected", self.job_id)
        except Exception:  # the session's top: log with the job id, tell the client, close
            log.exception("job %s: session failed", self.job_id)
            await self._fail(ErrorCode.INTERNAL_ERROR, "internal error", CloseCode.INTERNAL_ERROR)

    # -- before the run --------------------------------------------------------------------

    async def _receive_first(self) -> Execute | Resume:
        try:
            async with asyncio.timeout(self.settings.execute_wait_s):
                message = await _race(self._receive(), self._wait_shutdown())
        except TimeoutError as exc:
            raise PolicyViolation(
                f"no execute message within {self.settings.execute_wait_s:g} s",
                code=ErrorCode.EXECUTE_TIMEOUT,
            ) from exc
        if not isinstance(message, Execute | Resume):
            raise UnexpectedMessage("the first message must be `execute` (or `resume`)")
        return message

    async def _admit(self, execute: Execute) -> JobSpec:
        """Token first (cheap, pure), then the request and the code, then spend the token."""
        if not _JOB_ID.fullmatch(execute.job_id):
            raise AuthError("job_id is not a job id issued by this service")
        secret = self.settings.jwt_secret.get_secret_value()
        claims = tokens.verify(secret, execute.job_token, execute.job_id)
        self.job_id = execute.job_id
        logs.job_id.set(execute.job_id)  # this connection's task context only
        self.key_id = claims.key_id
        spec = build_spec(execute, self.settings)
        self.input_bytes = len(utf8(execute.stdin or "", "stdin"))
        # Up to the validator's time budget on hostile input: off the event loop.
        self.warnings = await asyncio.to_thread(self.validator.enforce, spec.language, spec.files)
        await tokens.claim_once(self.redis, self.keys, claims)
        await self._count_running(spec)
        return spec

    async def _count_running(self, spec: JobSpec) -> None:
        if not self.key_id:
            return
        must_end_by = time.time() + spec.limits.time_s + self.settings.compilation_timeout
        cap = self.settings.max_running_per_key
        if not await admission.start(
            self.redis, self.keys, self.key_id, spec.job_id, must_end_by, cap
        ):
            raise TryAgainLater(f"this API key already runs {cap} jobs; try again when one ends")

    async def _start(self, spec: JobSpec, execute: Execute) -> None:
        self.events = EventLog(self.redis, self.keys, spec.job_id, self.settings.event_ttl_s)
        await self.events.record(self.key_id)
        await self.events.attach(LEASE_S)
        if execute.resumable:
            await self._offer_resume(spec.job_id)
        if self.warnings:
            # Through the event stream, so the warning comes first and a resumed client gets it.
            await self.events.publish(
                ValidationWarning(
                    message=f"{len(self.warnings)} finding(s) of the code validator",
                    violations=_violations(self.warnings),
                )
            )
        if execute.stdin:
            await self.events.send_control(Input(type="input", data=execute.stdin))
        await queue.enqueue(self.redis, self.keys, spec)
        log.info("job %s: enqueued (%s, %d files)", spec.job_id, spec.language, len(spec.files))

    async def _offer_resume(self, job_id: str) -> None:
        self.resumable = True
        secret = self.settings.jwt_secret.get_secret_value()
        token = tokens.issue_resume(secret, job_id, self.settings.event_ttl_s, self.key_id)
        grace = self.settings.resume_grace_s
        await self._send(encode(ResumeToken(job_id=job_id, token=token, grace_s=grace)))

    async def _reattach(self, resume: Resume) -> int:
        """Authenticate a `resume`; returns how many of the job's events to skip."""
        if not _JOB_ID.fullmatch(resume.job_id):
            raise AuthError("job_id is not a job id issued by this service")
        secret = self.settings.jwt_secret.get_secret_value()
        self.key_id = tokens.verify_resume(secret, resume.resume_token, resume.job_id)
        self.job_id = resume.job_id
        self.resumable = True
        self.events = EventLog(self.redis, self.keys, resume.job_id, self.settings.event_ttl_s)
        if not await self.events.exists():
            raise PolicyViolation("the job is unknown or expired", code=ErrorCode.RESUME_EXPIRED)
        await self.events.attach(LEASE_S)
        log.info("job %s: resumed after %d events", self.job_id, resume.received)
        return resume.received

    # -- during the run --------------------------------------------------------------------

    async def _relay(self, skip: int) -> None:
        # The lease task is not one of the racers: a Redis command cancelled in mid-flight may
        # not end promptly (lib.store.blocking), and the race awaits its losers. It reports a
        # lapsed lease through an event instead, and is cancelled without being awaited.
        lost = asyncio.Event()
        lease = asyncio.create_task(self._keep_lease(lost))
        try:
            terminal = await _race(
                self._relay_events(skip),
                self._forward_input(),
                self._wait_shutdown(),
                self._lease_lost(lost),
            )
        except (RequestError, ClientGone, GoingAway) as exc:
            await self._let_go(isinstance(exc, RequestError))
            raise
        finally:
            lease.cancel()
        await self._finish()
        close = CloseCode.NORMAL if isinstance(terminal, Complete) else CloseCode.INTERNAL_ERROR
        await self._close(close)

    async def _relay_events(self, skip: int) -> Complete | Error:
        assert self.events is not None
        after, seen, lapses = "0", 0, 0
        block_ms = int(self.settings.heartbeat_s * 1000)
        while True:
            batch = await self.events.read_events(after, block_ms)
            for entry_id, event in batch:
                after, seen = entry_id, seen + 1
                if seen > skip:
                    await self._send(encode(event))
                if isinstance(event, Complete | Error):
                    log.info("job %s: %s", self.job_id, getattr(event, "status", event.type))
                    return event
            lapses = 0 if batch else await self._check_worker(lapses)

    async def _check_worker(self, lapses: int) -> int:
        """The job's events have stopped: is the worker that started it still alive? A worker
        that dies with no other worker alive leaves nobody else to end the job (issue 7.1), so
        once its heartbeat is seen lapsed twice, one heartbeat apart (a single miss can be a
        worker reconnecting to a restarted Redis), the job ends here with internal_error.
        Returns the lapses seen in a row."""
        assert self.events is not None
        worker = await self.events.started_by()
        if worker is None or await registry.is_live(self.redis, self.keys, worker):
            return 0
        if lapses < 1:
            return lapses + 1
        final = Complete(
            exit_code=None, execution_time=0.0, status=Status.INTERNAL_ERROR, message=WORKER_GONE
        )
        if await self.events.finish(final, "gateway"):
            log.warning("job %s: worker %s has no heartbeat; job ended", self.job_id, worker)
            # If the worker is alive after all (a stalled process), it stops the program too.
            await self.events.send_control(Kill(type="kill"))
        return 0  # the next read returns the terminal event, whoever published it

    async def _forward_input(self) -> None:
        assert self.events is not None
        while True:
            message = await self._receive()
            if isinstance(message, Input):
                self._count_input(message.data)
                await self.events.send_control(message)
            elif isinstance(message, Eof | Kill):
                await self.events.send_control(message)
            else:
                raise UnexpectedMessage("the job was already started on this connection")

    async def _wait_shutdown(self) -> None:
        await self.shutdown.wait()
        raise GoingAway()

    async def _lease_lost(self, lost: asyncio.Event) -> None:
        await lost.wait()
        raise ServiceUnavailable("redis refused the job's lease for longer than the lease")

    async def _keep_lease(self, lost: asyncio.Event) -> None:
        """While connected, tell the worker a client is here (it kills orphaned jobs). Once
        renewals have failed for the whole lease (Redis refusing writes: OOM, READONLY), the
        worker counts the client as gone: the session ends with `unavailable` instead of
        waiting for events that cannot come."""
        assert self.events is not None
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(LEASE_RENEW_S)
            try:
                await self.events.attach(LEASE_S)
                renewed = time.monotonic()
            except ServiceUnavailable:
                if time.monotonic() - renewed >= LEASE_S:
                    lost.set()
                    return

    def _count_input(self, data: str) -> None:
        self.input_bytes += len(utf8(data, "input"))
        if self.input_bytes > self.settings.max_input_kb * 1024:
            raise MessageTooLarge(
                f"input is over {self.settings.max_input_kb} KB in total",
                code=ErrorCode.INPUT_TOO_LARGE,
            )

    async def _let_go(self, protocol_error: bool) -> None:
        """The connection ends before the job: a resumable job waits for its client (the worker
        kills it after RESUME_GRACE_S); any other job is killed now."""
        if self.events is None:
            return
        with contextlib.suppress(ServiceUnavailable):
            if self.resumable and not protocol_error:
                await self.events.detach()
            else:
                await self.events.send_control(Kill(type="kill"))
                await self._finish()

    async def _finish(self) -> None:
        if self.key_id and self.job_id != "-":
            with contextlib.suppress(ServiceUnavailable):
                await admission.finish(self.redis, self.keys, self.key_id, self.job_id)

    # -- frames ----------------------------------------------------------------------------

    async def _receive(self) -> Execute | Resume | Input | Eof | Kill:
        frame = await self.ws.receive()
        if frame["type"] == "websocket.disconnect":
            raise ClientGone()
        text = frame.get("text")
        if text is None:
            raise UnexpectedMessage("binary frames are not supported; send JSON text")
        if len(text.encode("utf-8", "surrogatepass")) > self.settings.max_message_kb * 1024:
            raise MessageTooLarge(f"a message is over {self.settings.max_message_kb} KB")
        return parse_client_message(text)

    async def _send(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise ClientGone() from exc

    async def _fail(
        self,
        code: ErrorCode,
        message: str,
        close: CloseCode,
        violations: Sequence[Violation] = (),
    ) -> None:
        log.info("job %s: error %s: %s", self.job_id, code.value, message)
        error = Error(code=code, message=message, violations=_violations(violations) or None)
        with contextlib.suppress(ClientGone):
            await self._send(encode(error))
        await self._close(close)

    async def _close(self, code: CloseCode) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close(int(code))


def _violations(found: Sequence[Violation]) -> list[CodeViolation]:
    return [CodeViolation.model_validate(v.as_dict()) for v in found]


async def _race(*contenders: Awaitable[Any]) -> Any:
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
