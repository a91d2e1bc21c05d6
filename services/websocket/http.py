"""REST routes: job creation, liveness (/health), readiness (/ready) and /metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib import admission, registry, store, tokens
from lib.errors import ServiceUnavailable
from lib.metrics import Cluster, collect, exposition

log = logging.getLogger(__name__)

# Below the Redis client's 3 s connect timeout (lib.store): a probe gets its answer in time even
# from a Redis that does not answer at all.
PROBE_TIMEOUT_S = 2.5


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


ADMISSION_TIMEOUT_S = 4.0
UNAVAILABLE_RETRY_S = 5


async def create_job(request: Request) -> JSONResponse:
    state = request.app.state
    key_id = state.api_keys.identify(request.headers.get("x-api-key"))
    if key_id is None:
        return error_response(401, "auth", "missing or invalid X-API-Key header")
    settings = state.settings
    try:
        async with asyncio.timeout(ADMISSION_TIMEOUT_S):
            refusal = await admission.check_create(state.redis, state.keys, settings, key_id)
    except (ServiceUnavailable, TimeoutError):
        retry = {"Retry-After": str(UNAVAILABLE_RETRY_S)}
        return error_response(503, "unavailable", "the service is temporarily unavailable", retry)
    if refusal is not None:
        retry = {"Retry-After": str(refusal.retry_after_s)}
        return error_response(refusal.status, refusal.code.value, refusal.message, retry)
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
