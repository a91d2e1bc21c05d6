"""Logging set-up shared by both services: one line per record, UTC timestamps.

LOG_FORMAT=json (the default) writes each record as one JSON object: ts, level, logger, msg, plus
`job_id` while the `job_id` context variable is set (the gateway sets it per WebSocket once the
job id is known, the worker per job task; asyncio copies the context into each task, so one job's
id never shows on another's lines) and `exc` when the record carries an exception.
Never log a secret or a job's code: only what the message's own arguments say is written.
"""

from __future__ import annotations

import json
import logging
import re
import time
from contextvars import ContextVar
from datetime import UTC, datetime

from lib.config import LogFormat

job_id: ContextVar[str | None] = ContextVar("job_id", default=None)


class JobIdFilter(logging.Filter):
    """Stamps each record with the current job id when the record is made, in the caller's
    context (a handler that formats later, elsewhere, would no longer see it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = job_id.get()
        return True


# A credential may come in a query string (Judge0's clients send `?X-Auth-Token=<key>`), and
# uvicorn's access log writes the whole request target: such values are masked before any
# handler sees them.
_SECRET_PARAM = re.compile(r"(?i)([?&][^=&#\s]*(?:token|key|auth|secret)[^=&#\s]*=)[^&#\s\"]*")
REDACTED = "[redacted]"


def redact(target: str) -> str:
    """A request target with the value of every credential-like query parameter masked."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, target)


class AccessLogFilter(logging.Filter):
    """On uvicorn.access records (args: client, method, target, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        job = getattr(record, "job_id", None)
        if job:
            entry["job_id"] = job
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ASCII-only output: a line stays valid whatever encoding the stream has.
        return json.dumps(entry, default=str)


def _utc_iso(created: float) -> str:
    stamp = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def text_formatter() -> logging.Formatter:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    formatter.converter = time.gmtime
    return formatter


def setup_logging(level: str, fmt: LogFormat = LogFormat.JSON) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(JobIdFilter())
    handler.setFormatter(text_formatter() if fmt == LogFormat.TEXT else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())
