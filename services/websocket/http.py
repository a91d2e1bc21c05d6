"""REST routes of the seed: job creation, liveness (/health), readiness (/ready), /metrics; and
the REST shape of every error (error_response) and API-key authentication, which all doors use."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib import registry, store, tokens
from lib.codes import ErrorCode
from lib.errors import AuthError, RequestError, ServiceUnavailable
from lib.metrics import Cluster, collect, exposition
from lib.protocol import CodeViolation
from lib.validation import CodeRejected

log = logging.getLogger(__name__)

# Below the Redis client's 3 s connect timeout (lib.store): a probe gets its answer in time even
# from a Redis that does not answer at all.
PROBE_TIMEOUT_S = 2.5


ADMISSION_TIMEOUT_S = 4.0
AUTH_MESSAGE = "missing or invalid API key (X-API-Key: <key> or Authorization: Bearer <key>)"


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str
    violations: list[CodeViolation] | None = None


class ErrorBody(BaseModel):
    """Every refusal of the REST API: `{"error": {"code", "message"}}` with the HTTP status."""

    error: ErrorDetail


class JobCreated(BaseModel):
    job_id: str
    job_token: str
    expires_at: str


def error_response(exc: RequestError | ServiceUnavailable) -> JSONResponse:
    """The REST shape of any error of the tree; a 503 or 429 says when to try again."""
    message = exc.public_message if isinstance(exc, ServiceUnavailable) else exc.message
    detail: dict[str, Any] = {"code": exc.code.value, "message": message}
    if isinstance(exc, CodeRejected):
        detail["violations"] = [v.as_dict() for v in exc.violations]
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return JSONResponse({"error": detail}, status_code=exc.http_status, headers=headers)


def api_key_id(request: Request) -> str:
    """The id of the request's API key (`X-API-Key`, or `Authorization: Bearer`); AuthError."""
    presented = request.headers.get("x-api-key")
    if not presented:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        presented = credentials.strip() if scheme.lower() == "bearer" else None
    key_id: str | None = request.app.state.api_keys.identify(presented)
    if key_id is None:
        raise AuthError(AUTH_MESSAGE)
    return key_id


async def create_job(request: Request) -> JSONResponse:
    """Issue a job id and its single-use token for `/ws/execute` (admission counted here)."""
    state = request.app.state
    key_id = api_key_id(request)
    settings = state.settings
    try:
        async with asyncio.timeout(ADMISSION_TIMEOUT_S):
            await state.jobs.check_create(key_id)
    except TimeoutError as exc:
        raise ServiceUnavailable("admission timed out", reason="timeout") from exc
    issued = tokens.issue(
        settings.jwt_secret.get_secret_value(),
        tokens.new_job_id(),
        settings.job_token_ttl_s,
        key_id=key_id,
    )
    return JSONResponse(
        {
            "job_id": issued.job_id,
            "job_token": issued.token,
            "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z"),
        }
    )


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    """200 when Redis answers and a worker is live; otherwise 503 with the same fields and a
    reason. Never a 500: a load balancer must read "not ready", not "broken"."""
    body: dict[str, Any] = {"status": "unavailable", "redis": False, "workers": 0, "languages": {}}
    reason = await _probe(request.app.state, body)
    if reason is None and not body["workers"]:
        reason = "no live worker"
    if reason is not None:
        return JSONResponse({**body, "reason": reason}, status_code=503)
    return JSONResponse({**body, "status": "ready"})


async def _probe(state: Any, body: dict[str, Any]) -> str | None:
    """Fill in what Redis tells; the reason it could not, or None."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await store.ping(state.redis)
            body["redis"] = True
            workers = await registry.live(state.redis, state.keys)
    except ServiceUnavailable as exc:
        return str(exc)
    except TimeoutError:
        return f"redis did not answer within {PROBE_TIMEOUT_S:g} s"
    except Exception:  # e.g. a Redis error reply: still "not ready", and logged for us
        log.exception("readiness probe failed")
        return "internal error"
    body.update(workers=len(workers), languages=registry.languages(workers))
    return None


async def metrics(request: Request) -> Response:
    """Prometheus text format 0.0.4, or OpenMetrics when the Accept header asks for it. Without
    Redis: this process's own gauges and cexec_redis_up 0."""
    state = request.app.state
    cluster: Cluster | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            cluster = await collect(state.redis, state.keys)
    except (ServiceUnavailable, TimeoutError) as exc:
        log.warning("metrics: cluster metrics left out: %s", exc or "redis timed out")
    body, content_type = exposition(request.headers.get("accept"), state.sessions, cluster)
    return Response(body, media_type=content_type)
