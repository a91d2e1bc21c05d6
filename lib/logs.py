"""Logging set-up shared by both services: one line per record, UTC timestamps."""

from __future__ import annotations

import logging
import time


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
