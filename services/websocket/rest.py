"""The REST door: `GET /api/runtimes`, `POST /api/execute` (`?wait=false`), `GET /api/jobs/{id}`.

A thin adapter over the job service (services/websocket/jobs.py): the same admission, plan,
limits and error codes as the WebSocket, rendered as JSON with HTTP statuses (docs/protocol.md).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse

from lib import registry, tokens
from lib.codes import ErrorCode
from lib.errors import (
    RequestError,
    ServiceUnavailable,
)
from lib.languages import LANGUAGES
from lib.protocol import parse_job_request
from lib.results import JobResult, JobState
from services.websocket.http import ErrorBody, api_key_id
from services.websocket.jobs import JobService
from services.websocket.waiting import read_body, wait_for_end

log = logging.getLogger(__name__)


class JobIdConvertor(Convertor[str]):
    """Only a job id matches `/api/jobs/{job_id}`: `/api/jobs/create` stays POST's alone (a GET
    of it is a 405, not a lookup of a job called "create"), and anything else is a 404."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("job_id", JobIdConvertor())
router = APIRouter(prefix="/api", tags=["jobs"])
JOB_REQUEST_SCHEMA = "#/components/schemas/JobRequest"  # added by app._openapi
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in (
        (400, "malformed or invalid request"),
        (401, "missing or invalid API key"),
        (413, "code, stdin, tests or the request over their size limits"),
        (422, "the code validator refused the code"),
        (429, "rate limit or running-jobs cap of the API key (Retry-After)"),
        (503, "queue full, no worker for the language, or Redis unavailable (Retry-After)"),
    )
}


class Runtime(BaseModel):
    language: str
    version: str
    aliases: list[str]
    compiled: bool
    filename: str  # the default file name of `code`


class Queued(BaseModel):
    job_id: str
    status: str = JobState.QUEUED.value


@router.get(
    "/runtimes", response_model=list[Runtime], responses={s: REFUSALS[s] for s in (401, 503)}
)
async def runtimes(request: Request) -> list[Runtime]:
    """The languages served by at least one live worker (none live: an empty list)."""
    api_key_id(request)
    state = request.app.state
    served = registry.languages(await registry.live(state.redis, state.keys))
    return [
        Runtime(
            language=name,
            version=versions[-1],
            aliases=list(LANGUAGES[name].aliases),
            compiled=LANGUAGES[name].compiled,
            filename=LANGUAGES[name].default_file,
        )
        for name, versions in served.items()
        if name in LANGUAGES and versions
    ]


@router.post(
    "/execute",
    response_model=JobResult,
    responses={202: {"model": Queued, "description": "wait=false: queued"}, **REFUSALS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}
            },
        }
    },
)
async def execute(
    request: Request,
    wait: bool = Query(True, description="false: answer 202 at once; read the result by id"),
) -> JSONResponse:
    """Run a job and answer with its whole result once it ends; with `wait=false`, 202 and the
    job id at once. A client that disconnects before the end cancels the job."""
    key_id = api_key_id(request)
    jobs: JobService = request.app.state.jobs
    job_request = parse_job_request(await read_body(request, jobs.settings.max_message_kb))
    await jobs.check_create(key_id)
    job_id = tokens.new_job_id()
    admitted = await jobs.admit(job_request, job_id=job_id, key_id=key_id, unattended=not wait)
    try:
        # No live input over REST: the request's stdin is all of it, then end of file.
        events = await jobs.start(admitted, close_stdin=True)
    except (RequestError, ServiceUnavailable):
        with contextlib.suppress(ServiceUnavailable):
            await jobs.done(key_id, job_id)
        raise
    if not wait:
        return JSONResponse(Queued(job_id=job_id).model_dump(), status_code=202)
    try:
        final = await wait_for_end(request, jobs, events)
    finally:
        with contextlib.suppress(ServiceUnavailable):
            await jobs.done(key_id, job_id)
    if final is None:  # the client went away: nobody will read the result
        log.info("job %s: REST client disconnected; job killed", job_id)
        return JSONResponse({}, status_code=499)
    return _result_response(await jobs.result(job_id, key_id))


@router.get(
    "/jobs/{job_id:job_id}",
    response_model=JobResult,
    responses={
        404: {"model": ErrorBody, "description": "unknown, expired, or another key's job"},
        **{s: REFUSALS[s] for s in (401, 503)},
    },
)
async def job(request: Request, job_id: str) -> JSONResponse:
    """A job's result once it has ended (whichever door started it), else `queued` or
    `running`; 404 for an unknown or expired id, or one another API key started."""
    key_id = api_key_id(request)
    result = await request.app.state.jobs.result(job_id, key_id)
    return JSONResponse(result.model_dump(mode="json"))


def _result_response(result: JobResult) -> JSONResponse:
    """200 with the result; a job that ended with an `error` event (no worker serves its
    language) is that error's refusal instead."""
    if result.status == JobState.ERROR.value and result.error is not None:
        code = result.error.code
        status = 503 if code is ErrorCode.LANGUAGE_UNAVAILABLE else 500
        body = {"error": {"code": code.value, "message": result.error.message}}
        return JSONResponse(body, status_code=status, headers={"Retry-After": "5"})
    return JSONResponse(result.model_dump(mode="json"))
