"""The benchmarks' own stack: redis-server, the gateway and one worker, on free ports of 127.0.0.1.

Shared by bench/latency.py and bench/load.py (both run as scripts, so this directory is on
sys.path). Nothing here is specific to one benchmark: the worker's concurrency and any other
setting come in through `Stack(worker_concurrency=..., env={...})`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.1
LOG_TAIL_CHARS = 2000


class BenchError(Exception):
    """The benchmark cannot run; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """redis-server, the gateway and one worker, configured as in production but on free ports."""

    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    prefix: str = field(default_factory=lambda: f"bench-{secrets.token_hex(4)}")
    redis_port: int = field(default_factory=free_port)
    port: int = field(default_factory=free_port)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cexec-bench-")))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_concurrency: int = 1
    env: dict[str, str] = field(default_factory=dict)  # more settings for gateway and worker

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/execute"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self) -> None:
        # A real server, as in production; nothing written to disk: the data is throwaway.
        redis_argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        self._spawn("redis", [*redis_argv, "--save", "", "--appendonly", "no"])
        self._spawn("gateway", [sys.executable, "-m", "services.websocket"])
        self._spawn("worker", [sys.executable, "-m", "services.worker"])
        self._wait_ready()

    def stop(self) -> None:
        """Worker first, so no job is claimed from a Redis that is going away."""
        for name in ("worker", "gateway", "redis"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                _terminate(proc)
        shutil.rmtree(self.logs, ignore_errors=True)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def log_tail(self, name: str, chars: int = LOG_TAIL_CHARS) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": secrets.token_urlsafe(36),  # 48 characters
            "API_KEYS": self.api_key,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKER_CONCURRENCY": str(self.worker_concurrency),
            "KEY_PREFIX": self.prefix,
            **self.env,
        }

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.logs / f"{name}.log", "wb") as log:
            # A session of their own: Ctrl-C reaches only us, and we stop them in order.
            self.procs[name] = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        """Until /health answers and the worker's heartbeat is in Redis, i.e. it can take jobs."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        client = redis.Redis.from_url(self.redis_url)
        try:
            while not (self._healthy() and self._worker_seen(client)):
                self.check_alive()
                if time.monotonic() > deadline:
                    raise BenchError(f"the stack was not ready after {READY_TIMEOUT_S:.0f}s")
                time.sleep(POLL_S)
        finally:
            client.close()

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _worker_seen(self, client: redis.Redis) -> bool:
        try:
            return next(client.scan_iter(match=f"{self.prefix}:worker:*"), None) is not None
        except redis.RedisError:
            return False

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def machine_info() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next(
            (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model
        )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "kernel": platform.release(),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def run_script(
    script: str,
    why_root: str,
    run: Callable[[], int],
    errors: tuple[type[Exception], ...] = (),
) -> int:
    """A benchmark's main: root check, Ctrl-C and SIGTERM handled alike (the same cleanup runs),
    failures to start (BenchError, OSError, `errors`) reported plainly. Exit codes: 2 cannot
    run, 130 interrupted."""
    if os.geteuid() != 0:
        hint = f"sudo .venv/bin/python {script}"
        print(f"{script} must run as root: {why_root} ({hint})", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    expected: tuple[type[Exception], ...] = (BenchError, OSError, *errors)
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except expected as exc:
        print(f"cannot benchmark: {exc}", file=sys.stderr)
        return 2


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that the same cleanup runs as for Ctrl-C
