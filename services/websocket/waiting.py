"""What every HTTP door that runs a job and answers at its end shares (REST `POST /api/execute`,
Piston's `POST /execute`, Judge0's `wait=true`): the body read within its cap, and the wait for
the job's end that gives up, and kills the job, when the client goes, Redis refuses the lease
or the gateway shuts down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from lib.errors import (
    GatewayGoingAway,
    MalformedMessage,
    MessageTooLarge,
    RequestError,
    ServiceUnavailable,
)
from lib.events import EventLog
from lib.protocol import Complete, Error, Event, Kill
from services.websocket.jobs import JobService, race


async def read_body(request: Request, max_kb: int) -> bytes:
    """The request body, refused (413) as soon as it is over the message limit."""
    limit = max_kb * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise MessageTooLarge(f"the request is over {max_kb} KB")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise MessageTooLarge(f"the request is over {max_kb} KB")
    except ClientDisconnect as exc:  # nobody will read the answer; no traceback in our log
        raise MalformedMessage("the client closed the connection mid-request") from exc
    return bytes(body)


async def wait_for_end(
    request: Request,
    jobs: JobService,
    events: EventLog,
    seen: Callable[[Event], None] | None = None,
) -> Complete | Error | None:
    """The job's terminal event (each event handed to `seen` on the way), holding its lease
    meanwhile; None, and the job killed, if the client disconnects first. Any refusal while
    waiting kills the job too, and is raised."""
    lost = asyncio.Event()
    lease = asyncio.create_task(jobs.hold(events, lost))
    try:
        ended: Complete | Error | None = await race(
            _terminal(jobs, events, seen),
            _disconnected(request),
            _lease_lost(lost),
            _shutting_down(request.app.state.shutdown, events.job_id),
        )
    except (RequestError, ServiceUnavailable):
        await _kill(jobs, events)
        raise
    finally:
        lease.cancel()
    if ended is None:
        await _kill(jobs, events)
    return ended


async def _kill(jobs: JobService, events: EventLog) -> None:
    with contextlib.suppress(ServiceUnavailable):
        await jobs.send(events, Kill(type="kill"))


async def _terminal(
    jobs: JobService, events: EventLog, seen: Callable[[Event], None] | None
) -> Complete | Error:
    async for _entry_id, event in jobs.follow(events):
        if seen is not None:
            seen(event)
        if isinstance(event, Complete | Error):
            return event
    raise ServiceUnavailable("the job's events ended without a terminal event")


async def _disconnected(request: Request) -> None:
    """Returns when the client closes the connection (ASGI `http.disconnect`)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _shutting_down(shutdown: asyncio.Event, job_id: str) -> None:
    """The gateway stops: the job is killed with the connection (as a WebSocket job that is not
    resumable); its result, `killed`, can be read by id from any gateway."""
    await shutdown.wait()
    raise GatewayGoingAway(
        f"the gateway is shutting down; job {job_id} is stopped (GET /api/jobs/{job_id})"
    )


async def _lease_lost(lost: asyncio.Event) -> None:
    await lost.wait()
    raise ServiceUnavailable("redis refused the job's lease for longer than the lease")
