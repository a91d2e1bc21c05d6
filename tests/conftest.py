"""Fixtures that start the real parts: redis-server on a free port, the gateway under uvicorn on a
real port, and a real worker process running Firejail. Nothing here is mocked.

Timeouts scale with CEXEC_TEST_TIMEOUT_FACTOR for slow machines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
FACTOR = float(os.environ.get("CEXEC_TEST_TIMEOUT_FACTOR", "1"))
API_KEY = "test-key-" + secrets.token_hex(8)
JWT_SECRET = secrets.token_hex(32)


def scaled(seconds: float) -> float:
    return seconds * FACTOR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check, timeout: float, what: str, procs=()) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` until it holds; give up early if one of `procs` has exited."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @classmethod
    def start(cls, port: int | None = None, data_dir: Path | None = None) -> RedisServer:
        """Without `data_dir`, nothing is persisted; with it, an append-only file there (fsync
        every second, as `make run` has), which a later start on the same dir reloads."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run `make install`"
        port = port or free_port()
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        if data_dir is not None:
            args[-1] = "yes"
            args += ["--appendfsync", "everysec", "--dir", str(data_dir)]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = cls(port, proc)
        wait_until(lambda: redis_sync.Redis(port=port).ping(), 10, "redis-server")
        return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


def service_env(redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "REDIS_URL": redis_url,
        "JWT_SECRET": JWT_SECRET,
        "API_KEYS": API_KEY,
        "KEY_PREFIX": prefix,
        "HOST": "127.0.0.1",
        "WORKER_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_service(module: str, env: dict[str, str], log_dir: Path) -> Service:
    log = log_dir / f"{module.rsplit('.', 1)[-1]}-{secrets.token_hex(3)}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    return Service(module, proc, log)


@dataclass
class Stack:
    base_url: str
    ws_url: str
    api_key: str
    jwt_secret: str
    redis_url: str
    prefix: str
    gateway: Service
    worker: Service


def start_stack(redis_url: str, log_dir: Path, **extra: str) -> Stack:
    prefix = "t" + secrets.token_hex(4)
    port = free_port()
    env = service_env(redis_url, prefix, PORT=str(port), **extra)
    gateway = start_service("services.websocket", env, log_dir)
    worker = start_service("services.worker", env, log_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        procs = (gateway.proc, worker.proc)
        wait_until(lambda: httpx.get(base + "/health").status_code == 200, 20, "gateway", procs)
        client = redis_sync.Redis.from_url(redis_url)
        wait_until(lambda: client.keys(f"{prefix}:worker:*"), 60, "worker", procs)
    except TimeoutError:
        gateway.stop()
        worker.stop()
        raise AssertionError(
            f"stack failed to start\n--- gateway\n{gateway.output()}\n--- worker\n{worker.output()}"
        ) from None
    return Stack(
        base,
        base.replace("http", "ws") + "/ws/execute",
        API_KEY,
        JWT_SECRET,
        redis_url,
        prefix,
        gateway,
        worker,
    )


@pytest.fixture(scope="session")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(redis_server.url, tmp_path_factory.mktemp("logs"))
    yield s
    s.gateway.stop()
    s.worker.stop()


@pytest.fixture(scope="session")
def sandbox_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A stack with CODE_VALIDATION=off, for tests of what the sandbox alone must stop."""
    s = start_stack(
        redis_server.url, tmp_path_factory.mktemp("sandbox-logs"), CODE_VALIDATION="off"
    )
    yield s
    s.gateway.stop()
    s.worker.stop()
