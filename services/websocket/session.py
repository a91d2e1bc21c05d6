"""One WebSocket at /ws/execute: authenticate → validate → enqueue → relay events ↔ forward input.

The event stream is read from id "0", so nothing the worker publishes before we start reading is
lost, and input is appended to the job's input stream, which the worker also reads from id "0", so
input sent before the program started is delivered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lib import logs, tokens
from lib.errors import (
    AuthError,
    MessageTooLarge,
    PolicyViolation,
    RequestError,
    ServiceUnavailable,
    UnexpectedMessage,
)
from lib.events import EventLog
from lib.jobs import utf8
from lib.protocol import (
    Client,
    CloseCode,
    Complete,
    Eof,
    Error,
    ErrorCode,
    Execute,
    Input,
    Kill,
    Resume,
    ResumeToken,
    Signal,
    encode,
    parse_client_message,
)
from lib.validation import CodeRejected, Violation
from services.websocket.jobs import (
    LEASE_S,
    Admitted,
    JobService,
    check_signal,
    is_job_id,
    race,
)
from services.websocket.jobs import violations as job_violations

log = logging.getLogger(__name__)


@contextlib.contextmanager
def counted(state: Any) -> Iterator[None]:
    """One open WebSocket (any door's) in the app's count: /metrics shows it, and a shutdown
    waits until every one has said goodbye (services/websocket/__main__.py)."""
    state.sessions += 1
    state.no_sessions.clear()
    try:
        yield
    finally:
        state.sessions -= 1
        if not state.sessions:
            state.no_sessions.set()


class ClientGone(Exception):
    """The client closed the connection."""


class GoingAway(Exception):
    """The gateway is shutting down."""


class Session:
    """One client connection. A job is either started here (`execute`) or reattached (`resume`);
    then events are relayed and input forwarded until the job's terminal event."""

    def __init__(self, ws: WebSocket, jobs: JobService, shutdown: asyncio.Event) -> None:
        self.ws = ws
        self.jobs = jobs
        self.settings = jobs.settings
        self.shutdown = shutdown
        self.job_id = "-"
        self.key_id = ""
        self.events: EventLog | None = None
        self.resumable = False
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
                message = await race(self._receive(), self._wait_shutdown())
        except TimeoutError as exc:
            raise PolicyViolation(
                f"no execute message within {self.settings.execute_wait_s:g} s",
                code=ErrorCode.EXECUTE_TIMEOUT,
            ) from exc
        if not isinstance(message, Execute | Resume):
            raise UnexpectedMessage("the first message must be `execute` (or `resume`)")
        return message

    async def _admit(self, execute: Execute) -> Admitted:
        """Token first (cheap, pure), then the request and the code, then spend the token."""
        if not is_job_id(execute.job_id):
            raise AuthError("job_id is not a job id issued by this service")
        secret = self.settings.jwt_secret.get_secret_value()
        claims = tokens.verify(secret, execute.job_token, execute.job_id)
        self.job_id = execute.job_id
        logs.job_id.set(execute.job_id)  # this connection's task context only
        self.key_id = claims.key_id
        admitted = await self.jobs.admit(
            execute, job_id=execute.job_id, key_id=claims.key_id, claims=claims
        )
        self.input_bytes = admitted.input_bytes
        return admitted

    async def _start(self, admitted: Admitted, execute: Execute) -> None:
        job_id = admitted.spec.job_id
        # The resume token is the first message of a resumable job, before any of its events.
        offer = partial(self._offer_resume, job_id) if execute.resumable else None
        self.events = await self.jobs.start(admitted, offer)

    async def _offer_resume(self, job_id: str) -> None:
        self.resumable = True
        secret = self.settings.jwt_secret.get_secret_value()
        token = tokens.issue_resume(secret, job_id, self.settings.event_ttl_s, self.key_id)
        grace = self.settings.resume_grace_s
        await self._send(encode(ResumeToken(job_id=job_id, token=token, grace_s=grace)))

    async def _reattach(self, resume: Resume) -> int:
        """Authenticate a `resume`; returns how many of the job's events to skip."""
        if not is_job_id(resume.job_id):
            raise AuthError("job_id is not a job id issued by this service")
        secret = self.settings.jwt_secret.get_secret_value()
        self.key_id = tokens.verify_resume(secret, resume.resume_token, resume.job_id)
        self.job_id = resume.job_id
        self.resumable = True
        self.events = self.jobs.events(resume.job_id)
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
        assert self.events is not None
        lost = asyncio.Event()
        lease = asyncio.create_task(self.jobs.hold(self.events, lost))
        try:
            terminal = await race(
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
        seen = 0
        async for _entry_id, event in self.jobs.follow(self.events):
            seen += 1
            if seen > skip:
                await self._send(encode(event))
            if isinstance(event, Complete | Error):
                log.info("job %s: %s", self.job_id, getattr(event, "status", event.type))
                return event
        raise ServiceUnavailable("the job's events ended without a terminal event")

    async def _forward_input(self) -> None:
        assert self.events is not None
        while True:
            message = await self._receive()
            if isinstance(message, Input):
                self._count_input(message.data)
                await self.jobs.send(self.events, message)
            elif isinstance(message, Eof | Kill):
                await self.jobs.send(self.events, message)
            elif isinstance(message, Signal):
                await self.jobs.send(self.events, check_signal(message))
            else:
                raise UnexpectedMessage("the job was already started on this connection")

    async def _wait_shutdown(self) -> None:
        await self.shutdown.wait()
        raise GoingAway()

    async def _lease_lost(self, lost: asyncio.Event) -> None:
        await lost.wait()
        raise ServiceUnavailable("redis refused the job's lease for longer than the lease")

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
                await self.jobs.send(self.events, Kill(type="kill"))
                await self._finish()

    async def _finish(self) -> None:
        if self.job_id != "-":
            with contextlib.suppress(ServiceUnavailable):
                await self.jobs.done(self.key_id, self.job_id)

    # -- frames ----------------------------------------------------------------------------

    async def _receive(self) -> Client:
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
        error = Error(code=code, message=message, violations=job_violations(violations) or None)
        with contextlib.suppress(ClientGone):
            await self._send(encode(error))
        await self._close(close)

    async def _close(self, code: CloseCode) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close(int(code))
