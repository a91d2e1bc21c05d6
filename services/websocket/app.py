"""create_app(settings): the gateway's routes and the lifespan that owns its Redis pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from lib.apikeys import ApiKeys
from lib.config import Settings
from lib.keys import Keys
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
        app.state.keys = Keys(settings.key_prefix)
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
        state.sessions += 1
        state.no_sessions.clear()
        try:
            await Session(ws, settings, state.redis, validator, state.shutdown).run()
        finally:
            state.sessions -= 1
            if not state.sessions:
                state.no_sessions.set()

    return Starlette(
        routes=[
            Route("/api/jobs/create", http.create_job, methods=["POST"]),
            Route("/health", http.health, methods=["GET"]),
            Route("/ready", http.ready, methods=["GET"]),
            Route("/metrics", http.metrics, methods=["GET"]),
            WebSocketRoute("/ws/execute", execute),
        ],
        lifespan=lifespan,
    )
