"""End to end: /health, /ready and /metrics of the running stack, JSON log lines that carry the job
id and never a secret or a job's code, and a gateway without Redis (or without workers) that still
answers its probes quickly and correctly."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.client import JobConnection, create_job, execute_message, open_job, run
from tests.conftest import (
    API_KEY,
    JWT_SECRET,
    RedisServer,
    Service,
    Stack,
    free_port,
    scaled,
    service_env,
    start_service,
    wait_until,
)

pytestmark = pytest.mark.e2e

SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


async def get(base_url: str, path: str, timeout: float = 10) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=scaled(timeout)) as http:
        return await http.get(path)


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value, for every sample line of an exposition."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


async def scrape(stack: Stack) -> dict[str, float]:
    reply = await get(stack.base_url, "/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(reply.text)


JOBS_OK = 'cexec_jobs_total{language="python",status="ok"}'
JOBS_FAILED = 'cexec_jobs_total{language="python",status="runtime_error"}'


async def test_health(stack: Stack) -> None:
    reply = await get(stack.base_url, "/health")
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}


async def test_ready(stack: Stack) -> None:
    reply = await get(stack.base_url, "/ready")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "ready" and body["redis"] is True
    assert body["workers"] >= 1
    assert "python" in body["languages"]
    assert all(isinstance(v, str) and v for v in body["languages"]["python"])


async def test_metrics_count_finished_jobs(stack: Stack) -> None:
    before = await scrape(stack)
    assert (await run(stack, "python", "print('fine')")).status == "ok"
    assert (await run(stack, "python", "raise SystemExit(3)")).status == "runtime_error"

    # The worker records a job right after publishing its `complete`: allow it a moment.
    async def counted() -> dict[str, float]:
        deadline = time.monotonic() + scaled(10)
        while time.monotonic() < deadline:
            now = await scrape(stack)
            if (
                now.get(JOBS_OK, 0) >= before.get(JOBS_OK, 0) + 1
                and now.get(JOBS_FAILED, 0) >= before.get(JOBS_FAILED, 0) + 1
            ):
                return now
            await asyncio.sleep(0.1)
        raise AssertionError(f"jobs not counted: {now}")

    now = await counted()
    assert now["cexec_redis_up"] == 1
    assert now["cexec_live_workers"] >= 1
    assert now["cexec_worker_slots_free"] >= 0 and now["cexec_queue_length"] >= 0
    assert now['cexec_execution_seconds_count{language="python"}'] >= 2
    check_histogram(now, "cexec_queue_wait_seconds", "")
    check_histogram(now, "cexec_execution_seconds", 'language="python"')
    # Each job is recorded in one transaction and read in one: the two always agree.
    jobs = sum(v for k, v in now.items() if k.startswith("cexec_jobs_total{"))
    assert now["cexec_queue_wait_seconds_count"] == jobs


def check_histogram(found: dict[str, float], name: str, labels: str) -> None:
    """Buckets cumulative (never decreasing), ending at +Inf == _count."""
    prefix = f"{name}_bucket{{{labels + ',' if labels else ''}le="
    buckets = [(k, v) for k, v in found.items() if k.startswith(prefix)]
    assert buckets and buckets[-1][0] == prefix + '"+Inf"}', buckets
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)
    suffix = f"{{{labels}}}" if labels else ""
    assert counts[-1] == found[f"{name}_count{suffix}"] >= 1
    assert found[f"{name}_sum{suffix}"] >= 0


async def test_open_websockets_gauge(stack: Stack) -> None:
    async with open_job(stack, "python", "print(input())") as conn:
        during = await scrape(stack)
        assert during["cexec_open_websockets"] >= 1
        await conn.input("bye\n")
        assert (await conn.finish()).status == "ok"
    deadline = time.monotonic() + scaled(5)
    while (await scrape(stack))["cexec_open_websockets"] >= during["cexec_open_websockets"]:
        assert time.monotonic() < deadline, "the gauge did not go down after the close"
        await asyncio.sleep(0.05)


async def test_logs_are_json_with_the_job_id_and_no_secrets_or_code(stack: Stack) -> None:
    marker = "code-marker-" + secrets.token_hex(8)
    job = await create_job(stack)
    async with websockets.connect(stack.ws_url) as ws:
        conn = JobConnection(ws)
        # The program prints the marker reversed, so neither its code nor its output is the
        # marker: any copy of the marker in a log is a copy of the code.
        await conn.send(execute_message(job, "python", f"print('{marker}'[::-1])"))
        out = await conn.finish()
    assert out.status == "ok" and out.stdout == marker[::-1] + "\n"

    def logged(service: Service) -> list[dict[str, Any]]:
        return [json.loads(line) for line in service.output().splitlines() if line.startswith("{")]

    def worker_logged_it() -> bool:
        return any(e.get("job_id") == job["job_id"] for e in logged(stack.worker))

    wait_until(worker_logged_it, 10, "the worker's lines of the job")
    for service in (stack.gateway, stack.worker):
        text = service.output()
        for secret in (API_KEY, JWT_SECRET, job["job_token"], marker, marker[::-1]):
            assert secret not in text, f"{service.name} logged a secret or code"
        entries = logged(service)
        assert entries and all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
        mine = [e for e in entries if e.get("job_id") == job["job_id"]]
        assert mine, f"no line of {service.name} carries the job id"
        # Lines about other jobs never carry this job's id.
        assert all(job["job_id"] in e["msg"] for e in mine if e["msg"].startswith("job "))


# -- a gateway on its own ------------------------------------------------------------------------


@contextmanager
def lone_gateway(redis_url: str, log_dir: Path) -> Iterator[str]:
    """A gateway of its own (no worker) on `redis_url`; yields its base URL."""
    port = free_port()
    env = service_env(redis_url, "t" + secrets.token_hex(4), PORT=str(port))
    gateway = start_service("services.websocket", env, log_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(base + "/health").status_code == 200, 20, "gateway", [gateway.proc]
        )
        yield base
    finally:
        gateway.stop()


@contextmanager
def silent_redis() -> Iterator[str]:
    """A port that accepts connections (the kernel completes the handshake) and never answers:
    a hung Redis, which only a timeout can tell from a slow one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@contextmanager
def refused_redis() -> Iterator[str]:
    yield f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


@pytest.mark.parametrize("unreachable", [refused_redis, silent_redis], ids=["refused", "silent"])
async def test_probes_without_redis(tmp_path: Path, unreachable: Any) -> None:
    with unreachable() as redis_url, lone_gateway(redis_url, tmp_path) as base:
        started = time.monotonic()
        reply = await get(base, "/ready")
        assert time.monotonic() - started < scaled(5)
        assert reply.status_code == 503, reply.text
        body = reply.json()
        assert body["status"] == "unavailable" and body["redis"] is False
        assert body["workers"] == 0 and body["languages"] == {} and body["reason"]

        started = time.monotonic()
        reply = await get(base, "/metrics")
        assert time.monotonic() - started < scaled(5)
        assert reply.status_code == 200
        found = samples(reply.text)
        assert found["cexec_redis_up"] == 0 and found["cexec_open_websockets"] == 0
        assert not any(k.startswith(("cexec_jobs_total", "cexec_live_workers")) for k in found)


async def test_ready_without_workers(redis_server: RedisServer, tmp_path: Path) -> None:
    with lone_gateway(redis_server.url, tmp_path) as base:
        reply = await get(base, "/ready")
        assert reply.status_code == 503, reply.text
        body = reply.json()
        assert body["status"] == "unavailable" and body["redis"] is True
        assert body["workers"] == 0 and body["reason"] == "no live worker"
        found = samples((await get(base, "/metrics")).text)
        assert found["cexec_redis_up"] == 1 and found["cexec_live_workers"] == 0
