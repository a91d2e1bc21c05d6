"""lib.logs: one JSON object per line, the job id from the context, exceptions as a field."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lib import logs
from lib.config import LogFormat, Settings, load_settings
from lib.errors import ConfigError

JOB = "0123456789abcdef0123456789abcdef"


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("services.worker", logging.WARNING, __file__, 1, msg, args, exc_info)
    logs.JobIdFilter().filter(record)
    return record


def _format(record: logging.LogRecord) -> dict[str, Any]:
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    return dict(json.loads(line))


def test_fields() -> None:
    entry = _format(_record("job %s: %s", JOB, "done"))
    assert set(entry) == {"ts", "level", "logger", "msg"}
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "services.worker"
    assert entry["msg"] == f"job {JOB}: done"


def test_timestamp_is_utc_iso_8601() -> None:
    record = _record("x")
    ts = _format(record)["ts"]
    assert ts.endswith("Z")
    parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    assert abs(parsed.timestamp() - record.created) < 0.001


def test_job_id_comes_from_the_context() -> None:
    def in_a_job() -> dict[str, Any]:
        logs.job_id.set(JOB)
        return _format(_record("started"))

    assert contextvars.copy_context().run(in_a_job)["job_id"] == JOB
    assert "job_id" not in _format(_record("outside any job"))


async def test_job_ids_of_concurrent_tasks_stay_apart() -> None:
    async def job(job_id: str) -> str:
        logs.job_id.set(job_id)
        await asyncio.sleep(0)
        return str(_format(_record("tick"))["job_id"])

    assert await asyncio.gather(job("a" * 32), job("b" * 32)) == ["a" * 32, "b" * 32]


def test_exception_is_a_field_and_the_line_stays_one_line() -> None:
    entry = _format(_record("failed", exc=True))
    assert "Traceback" in entry["exc"] and "ValueError: boom" in entry["exc"]
    assert entry["msg"] == "failed"


def test_a_message_with_newlines_and_quotes_stays_one_json_line() -> None:
    entry = _format(_record('a "quoted"\nsecond line ✓'))
    assert entry["msg"] == 'a "quoted"\nsecond line ✓'


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield root
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize("fmt", [LogFormat.JSON, LogFormat.TEXT])
def test_setup_logging(root_logger: logging.Logger, fmt: LogFormat) -> None:
    logs.setup_logging("info", fmt)
    (handler,) = root_logger.handlers
    assert root_logger.level == logging.INFO
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    logging.getLogger("t").info("hello %s", "there")
    line = stream.getvalue().strip()
    if fmt is LogFormat.JSON:
        assert json.loads(line)["msg"] == "hello there"
    else:
        assert line.endswith("INFO t: hello there")


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert Settings().log_format is LogFormat.JSON
    monkeypatch.setenv("LOG_FORMAT", "text")
    assert Settings().log_format is LogFormat.TEXT
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings()


def test_credentials_in_a_query_string_are_masked() -> None:
    from lib.logs import redact

    target = "/judge0/languages?X-Auth-Token=k3y&fields=*&api_key=x&token=t"
    assert redact(target) == (
        "/judge0/languages?X-Auth-Token=[redacted]&fields=*&api_key=[redacted]&token=[redacted]"
    )
    assert redact("/health?q=1") == "/health?q=1"


def test_the_access_log_never_shows_a_key() -> None:
    import logging

    from lib.logs import AccessLogFilter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/judge0/about?X-Auth-Token=secret-key", "1.1", 200),
        None,
    )
    AccessLogFilter().filter(record)
    assert "secret-key" not in record.getMessage() and "[redacted]" in record.getMessage()
