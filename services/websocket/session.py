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
from collections.abc import Awaitable, Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lib import queue, tokens
from lib.config import Settings
from lib.errors import (
    AuthError,
    MessageTooLarge,
    PolicyViolation,
    RequestError,
    ServiceUnavailable,
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
    ValidationWarning,
    encode,
    parse_client_message,
)
from lib.store import Redis
from lib.validation import CodeRejected, Validator, Violation

log = logging.getLogger(__name__)

EVENT_BLOCK_MS = 5000
_JOB_ID = re.compile(JOB_ID_PATTERN)


class ClientGone(Exception):
    """The client closed the connection."""


class Session:
    def __init__(
        self, ws: WebSocket, settings: Settings, redis: Redis, validator: Validator
    ) -> None:
        self.ws = ws
        self.validator = validator
        self.warnings: list[Violation] = []
        self.settings = settings
        self.redis = redis
        self.keys = Keys(settings.key_prefix)
        self.job_id = "-"
        self.events: EventLog | None = None
        self.input_bytes = 0

    async def run(self) -> None:
        await self.ws.accept()
        try:
            execute = await self._receive_execute()
            spec = await self._admit(execute)
            await self._start(spec, execute.stdin)
            await self._relay()
        except CodeRejected as exc:
            await self._fail(exc.code, exc.message, exc.close_code, exc.violations)
        except RequestError as exc:
            await self._fail(exc.code, exc.message, exc.close_code)
        except ServiceUnavailable as exc:
            log.warning("job %s: %s", self.job_id, exc)
            await self._fail(exc.code, "the service is temporarily unavailable", exc.close_code)
        except ClientGone:
            log.info("job %s: client disconnected", self.job_id)
        except Exception:  # the session's top: log with the job id, tell the client, close
            log.exception("job %s: session failed", self.job_id)
            await self._fail(ErrorCode.INTERNAL_ERROR, "internal error", CloseCode.INTERNAL_ERROR)

    # -- before the run --------------------------------------------------------------------

    async def _receive_execute(self) -> Execute:
        try:
            async with asyncio.timeout(self.settings.execute_wait_s):
                message = await self._receive()
        except TimeoutError as exc:
            raise PolicyViolation(
                f"no execute message within {self.settings.execute_wait_s:g} s",
                code=ErrorCode.EXECUTE_TIMEOUT,
            ) from exc
        if not isinstance(message, Execute):
            raise UnexpectedMessage("the first message must be `execute`")
        return message

    async def _admit(self, execute: Execute) -> JobSpec:
        """Token first (cheap, pure), then the request, then spend the token in Redis."""
        if not _JOB_ID.fullmatch(execute.job_id):
            raise AuthError("job_id is not a job id issued by this service")
        claims = tokens.verify(
            self.settings.jwt_secret.get_secret_value(), execute.job_token, execute.job_id
        )
        self.job_id = execute.job_id
        spec = build_spec(execute, self.settings)
        self.input_bytes = len(utf8(execute.stdin or "", "stdin"))
        # Up to the validator's time budget on hostile input: off the event loop.
        self.warnings = await asyncio.to_thread(self.validator.enforce, spec.language, spec.files)
        await tokens.claim_once(self.redis, self.keys, claims)
        return spec

    async def _start(self, spec: JobSpec, stdin: str | None) -> None:
        self.events = EventLog(self.redis, self.keys, spec.job_id, self.settings.event_ttl_s)
        if self.warnings:
            # Through the event stream, so the warning comes first and a resumed client gets it.
            await self.events.publish(
                ValidationWarning(
                    message=f"{len(self.warnings)} finding(s) of the code validator",
                    violations=_violations(self.warnings),
                )
            )
        if stdin:
            await self.events.send_control(Input(type="input", data=stdin))
        await queue.enqueue(self.redis, self.keys, spec)
        log.info("job %s: enqueued (%s, %d files)", spec.job_id, spec.language, len(spec.files))

    # -- during the run --------------------------------------------------------------------

    async def _relay(self) -> None:
        try:
            terminal = await _race(self._relay_events(), self._forward_input())
        except (RequestError, ClientGone):
            await self._kill_job()
            raise
        close = CloseCode.NORMAL if isinstance(terminal, Complete) else CloseCode.INTERNAL_ERROR
        await self._close(close)

    async def _relay_events(self) -> Complete | Error:
        assert self.events is not None
        after = "0"
        while True:
            for entry_id, event in await self.events.read_events(after, EVENT_BLOCK_MS):
                after = entry_id
                await self._send(encode(event))
                if isinstance(event, Complete | Error):
                    log.info("job %s: %s", self.job_id, getattr(event, "status", event.type))
                    return event

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
                raise UnexpectedMessage("`execute` was already received for this connection")

    def _count_input(self, data: str) -> None:
        self.input_bytes += len(utf8(data, "input"))
        if self.input_bytes > self.settings.max_input_kb * 1024:
            raise MessageTooLarge(
                f"input is over {self.settings.max_input_kb} KB in total",
                code=ErrorCode.INPUT_TOO_LARGE,
            )

    async def _kill_job(self) -> None:
        if self.events is not None:
            with contextlib.suppress(ServiceUnavailable):
                await self.events.send_control(Kill(type="kill"))

    # -- frames ----------------------------------------------------------------------------

    async def _receive(self) -> Execute | Input | Eof | Kill:
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


async def _race(first: Awaitable[Any], second: Awaitable[Any]) -> Any:
    """Run both until one finishes, cancel the other, and return the finished one's result (or
    raise its error). If both finish in the same turn, `first` wins: a terminal event already
    sent to the client must not be followed by an error."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    winner = tasks[0] if tasks[0] in done and not tasks[0].cancelled() else tasks[1]
    return winner.result()
