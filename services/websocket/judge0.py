"""The Judge0 CE 1.13.1 API at `/judge0`: a thin adapter over the job service (docs/compat.md).

Clients take `http://HOST:PORT/judge0` as their Judge0 endpoint. Everything Judge0-specific that
needs no I/O (ids, validation, translation, the serializer) is in lib/judge0.py; here: the routes,
authentication (JUDGE0_API), the body, Redis reads, and Judge0's error shapes instead of ours.

A submission is a job admitted unattended (nobody has to stay connected; its result is read by
token). `wait=true` follows the job's events to its end and then reads the stored result: no
polling. Beside the result, the gateway keeps the submission itself (`{p}:job:{id}:judge0`,
the request fields `fields=*` echoes) for as long as the result can live.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import platform
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from lib import judge0, queue, registry, results
from lib.config import ApiMode, Settings
from lib.errors import (
    AuthError,
    NotFound,
    QueueFull,
    RequestError,
    ServiceUnavailable,
    TryAgainLater,
)
from lib.events import EventLog
from lib.judge0 import Invalid, InvalidFields, NotUtf8, Record, Shown, Submission
from lib.keys import Keys
from lib.protocol import Complete, Error, JobRequest
from lib.store import Redis, translate_errors
from services.websocket.jobs import JobService, race
from services.websocket.waiting import read_body

log = logging.getLogger(__name__)

router = APIRouter(prefix="/judge0", tags=["judge0"])
Endpoint = Callable[[Request], Awaitable[Response]]

OPEN_KEY = "judge0-open:"  # JUDGE0_API=open: the key id of a client address (rate, caps)
NAMES_TTL_S = 5.0  # language names are read from live workers' heartbeats this often at most
NOT_FOUND = {"status": 404, "error": "Not Found"}  # Rails' own answer to RecordNotFound
NOT_ROUTED = {"error": {"code": "not_found", "message": "Not Found"}}  # the gateway's 404
LICENSE = (
    "This is cexec, a code-execution service that serves the Judge0 CE 1.13.1 API on its own\n"
    "engine. It is not Judge0 and contains none of Judge0's code, so Judge0's GPLv3 does not\n"
    "apply here; see the cexec repository for its own terms.\n"
)
ISOLATE = "cexec: programs run under Firejail with cgroup limits, not Isolate.\n"


class Judge0Error(Exception):
    """An answer in Judge0's shape: `body` None is an empty body (401, 403)."""

    def __init__(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def translate(exc: RequestError | ServiceUnavailable) -> Judge0Error:
    """One of our errors as Judge0 would answer it (submissions_controller.rb's shapes)."""
    retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    if isinstance(exc, ServiceUnavailable):
        return Judge0Error(503, {"error": exc.public_message}, retry)
    if isinstance(exc, QueueFull):
        return Judge0Error(503, {"error": "queue is full"}, retry)
    if isinstance(exc, AuthError):
        return Judge0Error(401)
    if isinstance(exc, NotFound):
        return Judge0Error(404, NOT_FOUND)
    return Judge0Error(exc.http_status, {"error": exc.message}, retry)


def _guarded(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Judge0Error as exc:
            return exc.response()
        except (RequestError, ServiceUnavailable) as exc:
            if isinstance(exc, ServiceUnavailable):
                log.warning("%s %s: %s", request.method, request.url.path, exc)
            return translate(exc).response()

    return guarded


def _route(path: str, *methods: str, summary: str) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint at `path` and `path/` (Rails takes both; a slash redirect would turn
    a POST into trouble), answering in Judge0's shapes."""

    # The endpoints read their path parameters themselves: the document still names them.
    names = re.findall(r"{(\w+)}", path)
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]
    extra = {"parameters": parameters} if parameters else None

    def register(endpoint: Endpoint) -> Endpoint:
        guarded = _guarded(endpoint)
        router.add_api_route(
            path, guarded, methods=list(methods), summary=summary, openapi_extra=extra
        )
        router.add_api_route(path + "/", guarded, methods=list(methods), include_in_schema=False)
        return endpoint

    return register


# -- who is asking ------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _key_id(request: Request) -> str:
    """The caller's key id: JUDGE0_API=key, the API key in `X-Auth-Token` (header, or a query
    parameter of that name, as upstream), else 401 with an empty body; open, the client's
    address; off, the routes are not there."""
    mode = _settings(request).judge0_api
    _check_served(mode)
    if mode is ApiMode.OPEN:
        return OPEN_KEY + (request.client.host if request.client else "unknown")
    presented = request.headers.get("x-auth-token") or request.query_params.get("X-Auth-Token")
    key_id: str | None = request.app.state.api_keys.identify(presented)
    if key_id is None:
        raise Judge0Error(401)
    return key_id


def _check_served(mode: ApiMode) -> None:
    if mode is ApiMode.OFF:
        raise Judge0Error(404, NOT_ROUTED)


def _jobs(request: Request) -> JobService:
    jobs: JobService = request.app.state.jobs
    return jobs


def _fields(request: Request) -> tuple[str, ...]:
    try:
        return judge0.parse_fields(request.query_params.get("fields"))
    except InvalidFields as exc:
        raise Judge0Error(400, {"error": str(exc)}) from exc


def _base64(request: Request) -> bool:
    return request.query_params.get("base64_encoded") == "true"  # 1.13.1: false by default


# -- the body -----------------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    """The parameters of a request as Rails merges them: the body's over the query string's. A
    JSON body (whatever its content type) or a form; over MAX_MESSAGE_KB is a 413."""
    raw = await read_body(request, _settings(request).max_message_kb)
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return params
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise Judge0Error(400, {"error": "the request body is not valid JSON"}) from exc
        if isinstance(parsed, dict):  # Rails puts any other JSON under `_json`: no fields
            params.update(parsed)
    return params


# -- submissions --------------------------------------------------------------------------------


def _record_key(keys: Keys, job_id: str) -> str:
    # In the job's own namespace (lib/keys.py); expires with the job's result at the latest.
    return keys.judge0(job_id)


async def _start(
    request: Request, sub: Submission, job: JobRequest, key_id: str
) -> tuple[str, EventLog]:
    """Admit (unattended) and queue one submission's job, its record saved first; its token and
    events. Invalid for a refusal of the job's plan or code, TryAgainLater for the key's cap."""
    jobs, state = _jobs(request), request.app.state
    token, job_id = judge0.new_token()
    try:
        admitted = await jobs.admit(job, job_id=job_id, key_id=key_id, unattended=True)
    except TryAgainLater:
        raise
    except RequestError as exc:
        raise Invalid(judge0.field_errors(exc, sub)) from exc
    record = Record(submission=sub, created_at=time.time())
    ttl = jobs.settings.event_ttl_s + jobs.settings.result_ttl_s

    async def save() -> None:
        async with translate_errors():
            await state.redis.set(_record_key(state.keys, job_id), record.model_dump_json(), ex=ttl)

    try:
        events = await jobs.start(admitted, save, close_stdin=True)
    except (RequestError, ServiceUnavailable):
        with contextlib.suppress(ServiceUnavailable):
            await jobs.done(key_id, job_id)
        raise
    log.info("job %s: judge0 submission %s (language %d)", job_id, token, sub.language_id)
    return token, events


def _accept(request: Request, raw: dict[str, Any], b64: bool) -> tuple[Submission, JobRequest]:
    try:
        return judge0.accept(raw, base64_encoded=b64, settings=_settings(request))
    except Invalid as exc:
        raise Judge0Error(422, exc.errors) from exc


@_route("/submissions", "POST", summary="Create a submission (wait=true: answer once it ends)")
async def create(request: Request) -> Response:
    key_id = _key_id(request)
    wait, fields, b64 = (
        request.query_params.get("wait") == "true",
        _fields(request),
        _base64(request),
    )
    sub, job = _accept(request, await _body(request), b64)
    await _jobs(request).check_create(key_id)
    try:
        token, events = await _start(request, sub, job, key_id)
    except Invalid as exc:
        raise Judge0Error(422, exc.errors) from exc
    if not wait:
        return JSONResponse({"token": token}, status_code=201)
    finished = await _until_end(request, events)
    shown = await _lookup(request, token, key_id, finished)
    if shown is None:  # the result expired already: only a tiny RESULT_TTL_S does that
        return JSONResponse({"token": token}, status_code=201)
    try:
        return JSONResponse(judge0.render(shown, fields, b64), status_code=201)
    except NotUtf8:
        return JSONResponse({"token": token, "error": judge0.UTF8_ERROR}, status_code=201)


async def _until_end(request: Request, events: EventLog) -> float | None:
    """When the job ended (its terminal event's time), following its events; None if the
    client left or the gateway stops first. Unlike waiting.wait_for_end (REST, Piston), the job
    is not killed then: as upstream's submission, it is kept and runs on, read by token."""

    async def terminal() -> float | None:
        async for entry_id, event in _jobs(request).follow(events):
            if isinstance(event, Complete | Error):
                return _entry_time(entry_id)
        return None

    async def left() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    async def stopping() -> None:
        await request.app.state.shutdown.wait()

    ended: float | None = await race(terminal(), left(), stopping())
    return ended


def _entry_time(entry_id: bytes | str) -> float:
    """A stream entry id (`<ms>-<seq>`) as seconds since the epoch."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0]) / 1000


@_route("/submissions/batch", "POST", summary="Create up to 20 submissions, run in parallel")
async def create_batch(request: Request) -> Response:
    key_id = _key_id(request)
    b64 = _base64(request)
    items = _batch_items((await _body(request)).get("submissions"))
    accepted: list[tuple[Submission, JobRequest] | dict[str, list[str]]] = []
    for item in items:
        try:
            accepted.append(_accept(request, item, b64))
        except Judge0Error as exc:
            accepted.append(exc.body)
    for _ in (a for a in accepted if isinstance(a, tuple)):  # the queue's room, before any start
        await _jobs(request).check_create(key_id)
    answers = [await _answer(request, a, key_id) for a in accepted]
    valid = any("token" in a for a in answers)
    return JSONResponse(answers, status_code=201 if valid else 422)


def _batch_items(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else []
    _check_batch_size(len(items))
    return [item if isinstance(item, dict) else {} for item in items]


def _check_batch_size(count: int) -> None:
    if count > judge0.MAX_BATCH:
        message = (
            f"number of submissions in a batch should be less than or equal to {judge0.MAX_BATCH}"
        )
        raise Judge0Error(400, {"error": message})
    if count == 0:
        raise Judge0Error(400, {"error": "there should be at least one submission in a batch"})


async def _answer(
    request: Request, accepted: tuple[Submission, JobRequest] | dict[str, list[str]], key_id: str
) -> dict[str, Any]:
    if not isinstance(accepted, tuple):
        return dict(accepted)
    try:
        token, _events = await _start(request, *accepted, key_id)
    except Invalid as exc:
        return dict(exc.errors)
    except TryAgainLater as exc:
        return {"base": [exc.message]}
    return {"token": token}


@_route("/submissions/batch", "GET", summary="Read up to 20 submissions by token")
async def read_batch(request: Request) -> Response:
    key_id = _key_id(request)
    fields, b64 = _fields(request), _base64(request)
    listed = request.headers.get("tokens") or request.query_params.get("tokens") or ""
    tokens = [t for t in listed.strip().split(",")]
    while tokens and not tokens[-1]:  # Ruby's split drops trailing empty strings
        tokens.pop()
    _check_batch_size(len(tokens))
    found = await asyncio.gather(*(_lookup(request, t, key_id) for t in tokens))
    try:
        shown = [None if s is None else judge0.render(s, fields, b64) for s in found]
    except NotUtf8 as exc:
        raise Judge0Error(400, {"error": judge0.BATCH_UTF8_ERROR}) from exc
    return JSONResponse({"submissions": shown})


@_route("/submissions/{token}", "GET", summary="Read a submission by token")
async def read(request: Request) -> Response:
    key_id = _key_id(request)
    fields, b64 = _fields(request), _base64(request)
    shown = await _lookup(request, request.path_params["token"], key_id)
    if shown is None:
        raise Judge0Error(404, NOT_FOUND)
    try:
        return JSONResponse(judge0.render(shown, fields, b64))
    except NotUtf8 as exc:
        raise Judge0Error(400, {"error": judge0.UTF8_ERROR}) from exc


@_route("/submissions", "GET", summary="List submissions: needs X-Auth-User, never configured")
async def index(request: Request) -> Response:
    _key_id(request)
    raise Judge0Error(403)  # upstream without AUTHZ_TOKEN: always 403


@_route("/submissions/{token}", "DELETE", summary="Delete a submission: never allowed (403)")
async def delete(request: Request) -> Response:
    _key_id(request)
    raise Judge0Error(403)


async def _lookup(
    request: Request, token: str, key_id: str, finished: float | None = None
) -> Shown | None:
    """A submission with its result as of now; None for an unknown, expired or other key's."""
    job_id = judge0.job_id_of(token)
    if job_id is None:
        return None
    try:
        result = await _result(request, job_id, key_id)
    except NotFound:
        return None
    record, ended = await _stored(request, job_id)
    if record is None:
        return None
    names = await _language_names(request)
    sub = record.submission
    outcome = judge0.outcome(result, sub)
    return Shown(token, record, outcome, names[sub.language_id], finished or ended)


async def _result(request: Request, job_id: str, key_id: str) -> results.JobResult:
    """The job's result for this key; in open mode, for any open client (a token is all it
    takes, as upstream: it is a random UUID)."""
    jobs = _jobs(request)
    if not key_id.startswith(OPEN_KEY):
        return await jobs.result(job_id, key_id)
    events = jobs.events(job_id)
    raw = await events.stored_result()
    owner = results.decode_stored(raw).key_id if raw is not None else await events.owner()
    if owner is None or not owner.startswith(OPEN_KEY):
        raise NotFound("no such job")
    return await jobs.result(job_id, owner)


async def _stored(request: Request, job_id: str) -> tuple[Record | None, float | None]:
    """The submission's record and when its job ended (its last event's time), one round trip."""
    redis: Redis = request.app.state.redis
    keys: Keys = request.app.state.keys
    async with translate_errors():
        pipe = redis.pipeline(transaction=False)
        pipe.get(_record_key(keys, job_id))
        pipe.xrevrange(keys.events(job_id), count=1)
        raw, last = await pipe.execute()
    record = Record.model_validate_json(raw) if raw else None
    return record, _entry_time(last[0][0]) if last else None


async def _language_names(request: Request) -> dict[int, str]:
    """Each id's name from the live workers' detected versions, read every NAMES_TTL_S."""
    state = request.app.state
    cached: tuple[float, dict[int, str]] | None = getattr(state, "judge0_names", None)
    if cached is not None and time.monotonic() - cached[0] < NAMES_TTL_S:
        return cached[1]
    served = registry.languages(await registry.live(state.redis, state.keys))
    names = judge0.language_names(served)
    state.judge0_names = (time.monotonic(), names)
    return names


# -- information ----------------------------------------------------------------------------------


@_route("", "GET", summary="Judge0's home: 200, empty, no key needed")
async def home(request: Request) -> Response:
    _check_served(_settings(request).judge0_api)
    return Response(status_code=200)


@_route("/languages", "GET", summary="Languages: the ids clients use, named as what runs")
async def languages(request: Request) -> Response:
    _key_id(request)
    return JSONResponse(judge0.languages(await _language_names(request)))


@_route("/languages/all", "GET", summary="Languages, with is_archived")
async def all_languages(request: Request) -> Response:
    _key_id(request)
    listed = judge0.languages(await _language_names(request))
    return JSONResponse([{**lang, "is_archived": False} for lang in listed])


@_route("/languages/{language_id}", "GET", summary="One language with its commands")
async def language(request: Request) -> Response:
    _key_id(request)
    wanted = request.path_params["language_id"]
    detail = None
    if wanted.isdigit():
        detail = judge0.language_detail(int(wanted), await _language_names(request))
    if detail is None:
        raise Judge0Error(404, NOT_FOUND)
    return JSONResponse(detail)


@_route("/statuses", "GET", summary="Statuses 1 to 14")
async def statuses(request: Request) -> Response:
    _key_id(request)
    return JSONResponse(judge0.statuses())


@_route("/about", "GET", summary="Version 1.13.1 (the API we serve)")
async def about(request: Request) -> Response:
    _key_id(request)
    return JSONResponse(judge0.ABOUT)


@_route("/version", "GET", summary="1.13.1, as text")
async def version(request: Request) -> Response:
    _key_id(request)
    return PlainTextResponse(judge0.VERSION)


@_route("/config_info", "GET", summary="Judge0's 39 settings, with this server's real values")
async def config_info(request: Request) -> Response:
    _key_id(request)
    return JSONResponse(judge0.config_info(_settings(request)))


@_route("/license", "GET", summary="What this server is (not Judge0), as text")
async def license_(request: Request) -> Response:
    _key_id(request)
    return PlainTextResponse(LICENSE)


@_route("/isolate", "GET", summary="The sandbox, as text")
async def isolate(request: Request) -> Response:
    _key_id(request)
    return PlainTextResponse(ISOLATE)


@_route("/system_info", "GET", summary="The gateway host's CPUs and memory")
async def system_info(request: Request) -> Response:
    _key_id(request)
    return JSONResponse(await asyncio.to_thread(_system_info))


@functools.cache
def _system_info() -> dict[str, str]:
    """A few of `lscpu` and `free -h`'s lines, as upstream's map of them."""
    info = {"Architecture": platform.machine(), "CPU(s)": str(os.cpu_count() or 1)}
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        sizes = dict(line.split(":", 1) for line in meminfo if ":" in line)
        for name, key in (("Mem", "MemTotal"), ("Swap", "SwapTotal")):
            kb = int(sizes.get(key, "0 kB").split()[0])
            info[name] = f"{kb / 1024 / 1024:.1f}Gi"
    return info


@_route("/workers", "GET", summary="The queue and the job slots of live workers")
async def workers(request: Request) -> Response:
    _key_id(request)
    state = request.app.state
    live = await registry.live(state.redis, state.keys)
    idle = sum(int(w.get("free") or 0) for w in live.values())
    working = sum(int(w.get("running") or 0) for w in live.values())
    waiting = await queue.waiting(state.redis, state.keys)
    slots = {"queue": judge0.QUEUE_NAME, "size": waiting, "available": idle + working}
    return JSONResponse([{**slots, "idle": idle, "working": working, "paused": 0, "failed": 0}])


@_route("/authenticate", "POST", summary="200 if the key is good, else 401")
async def authenticate(request: Request) -> Response:
    _key_id(request)
    return Response(status_code=200)


@_route("/authorize", "POST", summary="Always 403: no X-Auth-User is configured")
async def authorize(request: Request) -> Response:
    _key_id(request)
    raise Judge0Error(403)
