"""`python -m services.websocket`: serve the gateway with uvicorn on HOST:PORT."""

from __future__ import annotations

import logging
import sys

import uvicorn

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
        setup_logging(settings.log_level)
        app = create_app(settings)
    except ConfigError as exc:
        logging.basicConfig()
        log.error("cannot start: %s", exc)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=settings.max_message_kb * 1024 * FRAME_HEADROOM,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
