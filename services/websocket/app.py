"""create_app(settings): the gateway's routes and the lifespan that owns its Redis pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from lib.apikeys import ApiKeys
from lib.config import Settings
from lib.store import connect
from lib.validation import Validator, load_policy
from services.websocket import http
from services.websocket.session import Session


def create_app(settings: Settings) -> Starlette:
    settings.require_gateway_secrets()
    # Parsers and the policy are built once per process, not per job.
    validator = Validator(load_policy(settings.validation_policy or None, settings.code_validation))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.api_keys = ApiKeys(settings.api_key_list)
        app.state.redis = connect(settings.redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    async def execute(ws: WebSocket) -> None:
        await Session(ws, settings, ws.app.state.redis, validator).run()

    return Starlette(
        routes=[
            Route("/api/jobs/create", http.create_job, methods=["POST"]),
            Route("/health", http.health, methods=["GET"]),
            WebSocketRoute("/ws/execute", execute),
        ],
        lifespan=lifespan,
    )
