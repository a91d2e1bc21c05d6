"""The Piston v2 API at `/api/v2` (and the public instance's `/api/v2/piston`): a thin adapter over
the job service; every translation is in lib/piston.py (pure), every difference in docs/compat.md.

    GET  /            {"message": "Piston v3.1.1"}
    GET  /runtimes    the live workers' toolchains, in Piston's names
    POST /execute     one job, answered with Piston's response once it has ended
    GET  /packages    our runtimes, installed; POST and DELETE are refused (403)
    WS   /connect     Piston's interactive protocol on our live streaming
    *    anything else: 404 {"message": "Not Found"}

PISTON_API says who may call it: `key` (an API key), `open` (anyone; rate limits per client
address) or `off` (404, as if these routes did not exist). Every refusal is Piston's `{"message"}`
with an HTTP status, never our `{"error": {...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lib import piston, registry, tokens
from lib.codes import ErrorCode, Status
from lib.config import ApiMode
from lib.errors import (
    AuthError,
    MalformedMessage,
    RequestError,
    ServiceUnavailable,
)
from lib.events import EventLog
from lib.jobs import utf8
from lib.protocol import SIGNALS, Complete, Eof, Error, Input, Kill, Signal
from lib.results import JobResult, JobState
from lib.validation import CodeRejected
from services.websocket.jobs import JobService, race
from services.websocket.session import counted
from services.websocket.waiting import read_body, wait_for_end

log = logging.getLogger(__name__)

router = APIRouter(tags=["piston"])
PREFIXES = ("/api/v2", "/api/v2/piston")
AUTH_MESSAGE = (
    "missing or invalid API key (Authorization: <key>, Authorization: Bearer <key>, or X-API-Key)"
)
PACKAGES_MESSAGE = (
    "packages cannot be installed or removed here: the runtimes are the toolchains installed on "
    "the workers (GET /api/v2/runtimes lists them)"
)
INIT_TIMEOUT_S = 1.0  # `setTimeout(..., 1000)` after the connection opens (v2.js)
Endpoint = Callable[[Request], Awaitable[Response]]


def _route(path: str, methods: list[str], summary: str) -> Callable[[Endpoint], Endpoint]:
    """The endpoint at both prefixes, with and without a trailing slash, one route per method
    (the OpenAPI document lists /api/v2 without the slash, HEAD left out), answering every
    refusal in Piston's shape."""

    def add(endpoint: Endpoint) -> Endpoint:
        answer = _piston_errors(endpoint)
        for method in methods:
            for prefix in PREFIXES:
                for slash in ("", "/"):
                    router.add_api_route(
                        prefix + path + slash,
                        answer,
                        methods=[method],
                        summary=summary,
                        operation_id=f"piston_{endpoint.__name__}_{method.lower()}",
                        include_in_schema=(prefix, slash) == (PREFIXES[0], "") and method != "HEAD",
                    )
        return endpoint

    return add


def _piston_errors(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except (RequestError, ServiceUnavailable) as exc:
            return refusal(exc)

    return answer


def refusal(exc: RequestError | ServiceUnavailable) -> JSONResponse:
    """`{"message"}` with the error's status; a refused code is a 400 (upstream has no 422), and
    a 429 or 503 says when to try again."""
    if isinstance(exc, ServiceUnavailable):
        log.warning("piston: %s", exc)
        message, status = exc.public_message, 503
    else:
        message, status = exc.message, 400 if isinstance(exc, CodeRejected) else exc.http_status
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def client_id(conn: HTTPConnection) -> str:
    """Who calls, by PISTON_API: the API key's id (`key`), or `ip:<address>` (`open`), under
    which rate limits and running caps count. `off`: a 404, as for any route that is not here."""
    state = conn.app.state
    mode: ApiMode = state.settings.piston_api
    if mode is ApiMode.OFF:
        raise StarletteHTTPException(404)
    if mode is ApiMode.OPEN:
        return "ip:" + (conn.client.host if conn.client else "unknown")
    presented = piston.presented_key(
        conn.headers.get("x-api-key"), conn.headers.get("authorization")
    )
    key_id: str | None = state.api_keys.identify(presented)
    if key_id is None:
        raise AuthError(AUTH_MESSAGE)
    return key_id


async def live_runtimes(conn: HTTPConnection) -> list[piston.Runtime]:
    state = conn.app.state
    return piston.runtimes(registry.languages(await registry.live(state.redis, state.keys)))


# -- REST ------------------------------------------------------------------------------------


@_route("", ["GET", "HEAD"], "Piston's version banner")
async def root(request: Request) -> Response:
    client_id(request)
    return JSONResponse({"message": f"Piston v{piston.VERSION}"})


@_route("/runtimes", ["GET", "HEAD"], "The runtimes the live workers serve, in Piston's names")
async def runtimes(request: Request) -> Response:
    client_id(request)
    return JSONResponse([rt.as_json() for rt in await live_runtimes(request)])


@_route("/packages", ["GET", "HEAD"], "Our runtimes as Piston packages, all installed")
async def packages(request: Request) -> Response:
    client_id(request)
    return JSONResponse(piston.packages(await live_runtimes(request)))


@_route("/packages", ["POST", "DELETE"], "Refused: packages are the workers' toolchains")
async def manage_packages(request: Request) -> Response:
    client_id(request)
    return JSONResponse({"message": PACKAGES_MESSAGE}, status_code=403)


@_route("/execute", ["POST"], "Run a job; Piston's request and response")
async def execute(request: Request) -> Response:
    """Checks in Piston's order, then admission; the job runs with its stdin then EOF, and the
    answer is built from its events (each stage's output in order) and its stored result. A
    client that disconnects first cancels the job."""
    key_id = client_id(request)
    jobs: JobService = request.app.state.jobs
    raw = await read_body(request, jobs.settings.max_message_kb)
    body = piston.parse_body(raw, request.headers.get("content-type"))
    job = piston.job(body, await live_runtimes(request), piston.Caps.of(jobs.settings))
    await jobs.check_create(key_id)
    job_id = tokens.new_job_id()
    admitted = await jobs.admit(job.request, job_id=job_id, key_id=key_id)
    transcript = piston.Transcript()
    try:
        events = await jobs.start(admitted, close_stdin=True)
        final = await wait_for_end(request, jobs, events, transcript.add)
    finally:
        with contextlib.suppress(ServiceUnavailable):
            await jobs.done(key_id, job_id)
    if final is None:
        log.info("job %s: Piston client disconnected; job killed", job_id)
        return Response(status_code=499)
    return _answer(job.runtime, await jobs.result(job_id, key_id), transcript)


@router.api_route(
    "/api/v2/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
@_piston_errors
async def not_found(request: Request) -> Response:
    """Upstream's catch-all (`index.js`); registered after every other /api/v2 route."""
    client_id(request)
    return JSONResponse({"message": "Not Found"}, status_code=404)


def _answer(rt: piston.Runtime, result: JobResult, transcript: piston.Transcript) -> Response:
    """200 with Piston's response; a job that could not run at all (no worker took its
    language after all) is a 503, an `error` of ours otherwise a 500, each with a message."""
    if result.status == JobState.ERROR.value and result.error is not None:
        unavailable = result.error.code is ErrorCode.LANGUAGE_UNAVAILABLE
        return JSONResponse(
            {"message": result.error.message},
            status_code=503 if unavailable else 500,
            headers={"Retry-After": "5"} if unavailable else None,
        )
    return JSONResponse(piston.execute_response(rt, result, transcript))


# -- WebSocket -------------------------------------------------------------------------------


class Closing(Exception):
    """End the connection with Piston's close code; `message` is sent first as an `error`."""

    def __init__(self, code: int, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.message = message


class ClientGone(Exception):
    """The client closed the connection."""


def completed() -> Closing:
    return Closing(4999, "Job Completed")


def notified(message: str) -> Closing:
    """Upstream's catch-all: `{"type":"error","message"}`, then 4002 "Notified Error"."""
    return Closing(4002, "Notified Error", message)


class PistonSession:
    """One `/connect` socket: `init` within a second, then the job's stages relayed as
    `stage`/`data`/`exit` while `data` (stdin) and `signal` go to the program; 4999 at the end."""

    def __init__(self, ws: WebSocket, jobs: JobService, shutdown: asyncio.Event) -> None:
        self.ws = ws
        self.jobs = jobs
        self.settings = jobs.settings
        self.shutdown = shutdown
        self.key_id = ""
        self.job_id = "-"
        self.events: EventLog | None = None
        self.input_bytes = 0

    async def run(self) -> None:
        await self.ws.accept()
        try:
            self.key_id = self._authenticate()
            await self._start(await self._init())
            await self._relay()
        except Closing as closing:
            await self._close(closing)
        except ClientGone:
            log.info("job %s: Piston client disconnected", self.job_id)
        except Exception:  # the session's top: log with the job id, tell the client, close
            log.exception("job %s: Piston session failed", self.job_id)
            await self._close(notified("internal error"))
        finally:
            await self._let_go()

    def _authenticate(self) -> str:
        try:
            return client_id(self.ws)
        except AuthError as exc:
            raise notified(exc.message) from None

    async def _init(self) -> dict[str, Any]:
        """The `init` message; 4001 if none comes within the second, 4003 for `data` or
        `signal` before it. Other types are ignored, as upstream ignores them."""
        try:
            async with asyncio.timeout(INIT_TIMEOUT_S):
                while True:
                    message = await self._receive()
                    if message.get("type") == "init":
                        return message
                    if message.get("type") in ("data", "signal"):
                        raise Closing(4003, "Not yet initialized")
        except TimeoutError:
            raise Closing(4001, "Initialization Timeout") from None

    async def _start(self, init: dict[str, Any]) -> None:
        """Piston's checks, then ours and admission (any refusal: `error` and 4002); then the
        `runtime` message, as upstream sends it once the job is primed."""
        try:
            job = piston.job(
                init, await live_runtimes(self.ws), piston.Caps.of(self.settings), interactive=True
            )
            await self.jobs.check_create(self.key_id)
            job_id = tokens.new_job_id()
            admitted = await self.jobs.admit(job.request, job_id=job_id, key_id=self.key_id)
            self.job_id = job_id
            self.events = await self.jobs.start(admitted)
        except (RequestError, ServiceUnavailable) as exc:
            raise _notified_of(exc) from None
        await self._send(
            {"type": "runtime", "language": job.runtime.language, "version": job.runtime.version}
        )

    async def _relay(self) -> None:
        assert self.events is not None
        lost = asyncio.Event()
        lease = asyncio.create_task(self.jobs.hold(self.events, lost))
        try:
            await race(self._relay_events(), self._forward(), self._going_away(lost))
        finally:
            lease.cancel()

    async def _relay_events(self) -> None:
        assert self.events is not None
        async for _entry_id, event in self.jobs.follow(self.events):
            for message in piston.ws_messages(event):
                await self._send(message)
            if isinstance(event, Error):
                raise notified(event.message)
            if isinstance(event, Complete):
                self.events = None  # ended: nothing to kill
                if event.status is Status.INTERNAL_ERROR:
                    raise notified(event.message or "internal error")
                raise completed()
        raise notified("the job's events ended without a terminal event")

    async def _forward(self) -> None:
        """The client's messages once the job runs (`v2.js` `ws.on('message')`)."""
        assert self.events is not None
        while True:
            message = await self._receive()
            kind = message.get("type")
            if kind == "init":
                raise Closing(4000, "Already Initialized")
            if kind == "data":
                await self.jobs.send(self.events, self._stdin(message))
            elif kind == "signal":
                await self.jobs.send(self.events, _signal(message.get("signal")))
            elif kind == "eof":  # ours: Piston has no way to close stdin; unknown types are ignored
                await self.jobs.send(self.events, Eof(type="eof"))

    def _stdin(self, message: dict[str, Any]) -> Input:
        if message.get("stream") != "stdin":
            raise Closing(4004, "Can only write to stdin")
        data = message.get("data")
        if not isinstance(data, str):
            raise notified("data must be a string")
        self.input_bytes += len(utf8(data, "input"))
        if self.input_bytes > self.settings.max_input_kb * 1024:
            raise notified(f"input is over {self.settings.max_input_kb} KB in total")
        return Input(type="input", data=data)

    async def _going_away(self, lost: asyncio.Event) -> None:
        await race(self.shutdown.wait(), lost.wait())
        if self.shutdown.is_set():
            raise notified("the gateway is shutting down; the job was stopped")
        raise notified("the service is temporarily unavailable")

    # -- frames --------------------------------------------------------------------------------

    async def _receive(self) -> dict[str, Any]:
        frame = await self.ws.receive()
        if frame["type"] == "websocket.disconnect":
            raise ClientGone()
        raw = frame.get("text")
        if raw is None:
            raw = (frame.get("bytes") or b"").decode("utf-8", "replace")  # JSON.parse(Buffer)
        if len(raw) > self.settings.max_message_kb * 1024:
            raise notified(f"a message is over {self.settings.max_message_kb} KB")
        try:
            message = piston.parse_json(raw)
        except MalformedMessage as exc:
            raise notified(exc.message) from None
        return message if isinstance(message, dict) else {}

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await self.ws.send_json(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise ClientGone() from exc

    async def _close(self, closing: Closing) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(ClientGone):
            if closing.message is not None:
                await self._send({"type": "error", "message": closing.message})
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close(closing.code, closing.reason)

    async def _let_go(self) -> None:
        """A job still running when the connection ends is killed: nobody can read it."""
        with contextlib.suppress(ServiceUnavailable):
            if self.events is not None:
                await self.jobs.send(self.events, Kill(type="kill"))
            if self.job_id != "-":
                await self.jobs.done(self.key_id, self.job_id)


def _signal(name: Any) -> Signal | Kill:
    """A signal for the program: Piston's names (else 4005); SIGKILL is our `kill`; the rest of
    Piston's list that a program may not be sent (SIGSTOP, SIGSEGV, ...) is refused with 4005
    too, after an `error` saying which may be sent."""
    if not isinstance(name, str) or name not in piston.PISTON_SIGNALS:
        raise Closing(4005, "Invalid signal")
    if name == "SIGKILL":
        return Kill(type="kill")
    if name not in SIGNALS:
        allowed = ", ".join(sorted({*SIGNALS, "SIGKILL"}))
        raise Closing(4005, "Invalid signal", f"{name} cannot be sent here; one of {allowed}")
    return Signal(type="signal", signal=name)


def _notified_of(exc: RequestError | ServiceUnavailable) -> Closing:
    if isinstance(exc, ServiceUnavailable):
        log.warning("piston: %s", exc)
        return notified(exc.public_message)
    return notified(exc.message)


async def connect(ws: WebSocket) -> None:
    """WS /connect. PISTON_API=off: refused at the handshake, as a route that is not here."""
    state = ws.app.state
    if state.settings.piston_api is ApiMode.OFF:
        await ws.close()
        return
    with counted(state):  # as /ws/execute's are: a shutdown waits for their goodbyes
        await PistonSession(ws, state.jobs, state.shutdown).run()


for _prefix in PREFIXES:
    for _slash in ("", "/"):
        router.add_api_websocket_route(_prefix + "/connect" + _slash, connect)
