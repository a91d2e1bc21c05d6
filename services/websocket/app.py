"""create_app(settings): the gateway's routes and the lifespan that owns its Redis pool.

FastAPI (over Starlette) so that the OpenAPI document at /openapi.json is generated from the same
Pydantic models the routes use; /docs serves Swagger UI from the gateway itself (the files of the
swagger-ui-bundle package), never from a CDN.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from lib.apikeys import ApiKeys
from lib.config import Settings
from lib.errors import InvalidRequest, RequestError, ServiceUnavailable
from lib.keys import Keys
from lib.protocol import JobRequest
from lib.store import connect
from lib.validation import Validator, load_policy
from services.websocket import http, judge0, piston, rest
from services.websocket.jobs import JobService
from services.websocket.session import Session, counted

log = logging.getLogger(__name__)
TITLE = "cexec"
VERSION = "0.2.0"


def create_app(settings: Settings) -> FastAPI:
    settings.require_gateway_secrets()
    # Parsers and the policy are built once per process, not per job.
    validator = Validator(load_policy(settings.validation_policy or None, settings.code_validation))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.api_keys = ApiKeys(settings.api_key_list)
        app.state.redis = connect(settings.redis_url)
        app.state.keys = Keys(settings.key_prefix)
        app.state.jobs = JobService(settings, app.state.redis, validator)
        app.state.shutdown = asyncio.Event()  # set on SIGTERM: sessions say goodbye (1001)
        app.state.sessions = 0
        app.state.no_sessions = asyncio.Event()
        app.state.no_sessions.set()
        try:
            yield
        finally:
            await app.state.redis.aclose()

    async def execute(ws: WebSocket) -> None:
        state = ws.app.state
        with counted(state):
            await Session(ws, state.jobs, state.shutdown).run()

    app = FastAPI(title=TITLE, version=VERSION, lifespan=lifespan, docs_url=None, redoc_url=None)
    _routes(app)
    app.add_api_websocket_route("/ws/execute", execute)
    _errors(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI) -> None:
    refusals: dict[int | str, dict[str, Any]] = {s: rest.REFUSALS[s] for s in (401, 429, 503)}
    app.add_api_route(
        "/api/jobs/create",
        http.create_job,
        methods=["POST"],
        response_model=http.JobCreated,
        responses=refusals,
        tags=["jobs"],
        summary="Issue a job id and a single-use token for /ws/execute",
    )
    app.include_router(rest.router)
    app.include_router(piston.router)  # each compatible API decides its own mount and settings
    app.include_router(judge0.router)
    # HEAD as well as GET, as Starlette's own routes answer it (load balancers probe with HEAD).
    probes = (("/health", http.health), ("/ready", http.ready), ("/metrics", http.metrics))
    documented: dict[str, dict[int | str, dict[str, Any]]] = {
        "/ready": {503: {"description": "not ready: Redis unreachable or no live worker"}},
        "/metrics": {200: {"content": {"text/plain": {}, "application/openmetrics-text": {}}}},
    }
    for path, endpoint in probes:
        app.add_api_route(
            path, endpoint, methods=["GET"], tags=["operations"], responses=documented.get(path)
        )
        app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    app.add_api_route("/docs", _docs, methods=["GET"], include_in_schema=False)


async def _docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{TITLE} API",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="/docs/static/favicon-32x32.png",
    )


def _errors(app: FastAPI) -> None:
    """Every refusal in the one REST shape (http.error_response); FastAPI's own validation of a
    query or path parameter too."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestError | ServiceUnavailable)
        if isinstance(exc, ServiceUnavailable):
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return http.error_response(exc)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
        )
        return http.error_response(InvalidRequest(where or "invalid request"))

    async def not_routed(request: Request, exc: Exception) -> JSONResponse:
        """Starlette's own 404 and 405, in our shape (a 405 keeps its Allow header)."""
        assert isinstance(exc, StarletteHTTPException)
        code = "not_found" if exc.status_code == 404 else "invalid_request"
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(RequestError, refused)
    app.add_exception_handler(ServiceUnavailable, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, not_routed)


def _drop_default_422(doc: dict[str, Any]) -> None:
    """FastAPI documents a 422 HTTPValidationError for every route with parameters; this
    gateway answers those with 400 ErrorBody (`_errors`), already listed where they can occur."""
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422", {})
            if "HTTPValidationError" in str(response):
                del operation["responses"]["422"]
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the schema of the request body that `POST /api/execute` parses
    itself (to refuse an oversized body before reading it whole, and to answer in our shape)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=TITLE, version=VERSION, routes=app.routes)
    _drop_default_422(doc)
    _, defs = models_json_schema(
        [(JobRequest, "validation")], ref_template="#/components/schemas/{model}"
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(defs.get("$defs", {}))
    # So that Swagger UI's "Authorize" sends the key with "Try it out" (http.api_key_id).
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    }
    for path, operations in doc.get("paths", {}).items():
        if path.startswith("/api/"):
            for operation in operations.values():
                operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
    app.openapi_schema = doc
    return doc
