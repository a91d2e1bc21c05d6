"""A real WebSocket client for the tests: create a job over REST, run it, collect the events."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import Stack, scaled


@dataclass
class Outcome:
    events: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def text(self, stream: str) -> str:
        return "".join(
            e["data"] for e in self.events if e["type"] == "output" and e["stream"] == stream
        )

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")

    @property
    def compile(self) -> str:
        return self.text("compile")

    def summary(self) -> str:
        """The events, shortened, for assertion messages (a flood must not flood the report)."""
        shown = [
            {k: (v[:80] if isinstance(v, str) else v) for k, v in e.items()} for e in self.events
        ]
        if len(shown) > 12:
            shown = [*shown[:5], {"...": len(shown) - 10}, *shown[-5:]]
        return f"close={self.close_code} events={shown}"

    @property
    def complete(self) -> dict[str, Any]:
        finals = [e for e in self.events if e["type"] == "complete"]
        assert len(finals) == 1, f"expected exactly one complete: {self.summary()}"
        assert self.events[-1] is finals[0], "complete must be the last event"
        return finals[0]

    @property
    def error(self) -> dict[str, Any]:
        errors = [e for e in self.events if e["type"] == "error"]
        assert len(errors) == 1, f"expected exactly one error: {self.summary()}"
        return errors[0]

    @property
    def status(self) -> str:
        return str(self.complete["status"])


async def create_job(stack: Stack, api_key: str | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        reply = await http.post("/api/jobs/create", headers={"X-API-Key": api_key or stack.api_key})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


class JobConnection:
    """One /ws/execute connection, driven step by step."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.outcome = Outcome()
        self.job_id = ""

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def input(self, data: str) -> None:
        await self.send({"type": "input", "data": data})

    async def next_event(self, timeout: float = 30) -> dict[str, Any] | None:
        """The next message, or None once the server has closed."""
        try:
            async with asyncio.timeout(scaled(timeout)):
                raw = await self.ws.recv()
        except ConnectionClosed as closed:
            self._closed(closed)
            return None
        event = json.loads(raw)
        self.outcome.events.append(event)
        return dict(event)

    async def wait_for_output(
        self, needle: str, stream: str = "stdout", timeout: float = 30
    ) -> None:
        while needle not in self.outcome.text(stream):
            event = await self.next_event(timeout)
            assert event is not None, f"closed before {needle!r}: {self.outcome.summary()}"
            assert event["type"] == "output", f"no {needle!r}: {self.outcome.summary()}"

    async def finish(self, timeout: float = 60) -> Outcome:
        """Read until the server closes the connection."""
        while await self.next_event(timeout) is not None:
            pass
        return self.outcome

    def _closed(self, closed: ConnectionClosed) -> None:
        if closed.rcvd is not None:
            self.outcome.close_code = closed.rcvd.code
            self.outcome.close_reason = closed.rcvd.reason


def execute_message(
    job: dict[str, Any], language: str, code: str | None, **fields: Any
) -> dict[str, Any]:
    message = {
        "type": "execute",
        "job_id": job["job_id"],
        "job_token": job["job_token"],
        "language": language,
    }
    if code is not None:
        message["code"] = code
    message.update(fields)
    return message


class open_job:  # used as `async with open_job(...) as conn`
    def __init__(self, stack: Stack, language: str, code: str | None, **fields: Any) -> None:
        self.stack, self.language, self.code, self.fields = stack, language, code, fields

    async def __aenter__(self) -> JobConnection:
        job = await create_job(self.stack)
        self.ws = await websockets.connect(self.stack.ws_url, max_size=2**24)
        conn = JobConnection(self.ws)
        conn.job_id = job["job_id"]
        await conn.send(execute_message(job, self.language, self.code, **self.fields))
        return conn

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


async def run(
    stack: Stack,
    language: str,
    code: str | None,
    inputs: list[str] | None = None,
    eof: bool = False,
    timeout: float = 60,
    **fields: Any,
) -> Outcome:
    """Run one job to the end; `inputs` go right after `execute`, before the program starts."""
    async with open_job(stack, language, code, **fields) as conn:
        for data in inputs or []:
            await conn.input(data)
        if eof:
            await conn.send({"type": "eof"})
        return await conn.finish(timeout)
