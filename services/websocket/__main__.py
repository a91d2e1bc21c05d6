"""`python -m services.websocket`: serve the gateway with uvicorn on HOST:PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from lib.config import load_settings
from lib.errors import ConfigError
from lib.logs import setup_logging
from services.websocket.app import create_app

log = logging.getLogger("services.websocket")

# Frames above the protocol limit are refused by uvicorn itself (close 1009); below it, the session
# answers an over-size message with an `error` first. Hence some headroom over MAX_MESSAGE_KB.
FRAME_HEADROOM = 2


def main() -> int:
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        app = create_app(settings)
    except ConfigError as exc:
        logging.basicConfig()
        log.error("cannot start: %s", exc)
        return 2
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=settings.max_message_kb * 1024 * FRAME_HEADROOM,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
    GracefulServer(config, app).run()
    return 0


class GracefulServer(uvicorn.Server):
    """On the first SIGTERM or SIGINT, open sessions first tell their clients (`error`
    `going_away`, close 1001) and only then does uvicorn shut down; otherwise uvicorn would close
    them itself with 1012 and no word. A second signal shuts down at once."""

    GOODBYE_WAIT_S = 3.0

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.app = app
        self.goodbye: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        state = self.app.state
        if self.goodbye is not None or not hasattr(state, "shutdown"):
            super().handle_exit(sig, frame)
            return
        log.info("shutting down: telling %d open connections", state.sessions)
        state.shutdown.set()
        self.goodbye = asyncio.get_running_loop().create_task(self._after_goodbyes(sig, frame))

    async def _after_goodbyes(self, sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.app.state.no_sessions.wait(), self.GOODBYE_WAIT_S)
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    sys.exit(main())
