"""`make run`: Redis (unless REDIS_URL is set), the gateway and one worker, in the foreground.

Its Redis keeps an append-only file in data/redis, so queued jobs survive a restart of Redis.

On first use it writes a `.env` (mode 600) with a random JWT_SECRET and a development API key, so
the key stays the same across runs. Ctrl-C stops all three.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
DATA_DIR = ROOT / "data" / "redis"


def read_env_file() -> dict[str, str]:
    values = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                values[name.strip()] = value.strip().strip('"').strip("'")
    return values


def ensure_env_file() -> dict[str, str]:
    values = read_env_file()
    if "JWT_SECRET" not in values and "JWT_SECRET" not in os.environ:
        with ENV_FILE.open("a") as f:
            f.write(f"JWT_SECRET={secrets.token_urlsafe(48)}\n")
            if not {"API_KEYS", "API_KEY"} & (set(values) | set(os.environ)):
                f.write(f"API_KEYS=dev-{secrets.token_urlsafe(18)}\n")
        ENV_FILE.chmod(0o600)
        print(f"wrote {ENV_FILE} with a new JWT secret and development API key")
    return read_env_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """Redis with an append-only file in data/redis of the checkout (git ignores it), so queued
    jobs, event streams and spent job tokens survive a Redis crash or a restart of `make run`.

    `appendfsync everysec`: a killed redis-server normally loses nothing (each write reaches the
    kernel before its reply is sent); the machine going down loses about the last second.

    The port is a free one each run: the data is in the directory and the services get the URL
    from here, so nothing depends on the port staying the same.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: run `make install`")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATA_DIR.chmod(0o700)  # it holds users' code, input and output
    # Two Redis servers appending to one file would corrupt it. The lock is inherited by
    # redis-server, so it holds as long as that Redis lives, even if this script was killed.
    lock = os.open(DATA_DIR / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another Redis of `make run` is using {DATA_DIR}; stop it first")
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(DATA_DIR),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",  # the AOF is the persistence; no RDB snapshots on top of it
        "--maxmemory-policy",
        "noeviction",  # evicting a key would drop a job, its events or a spent token
    ]
    # Its own session, as for the services: Ctrl-C reaches only this script, which then stops
    # worker, gateway and Redis in that order (so the worker does not see Redis vanish first).
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        pass_fds=(lock,),
    )
    os.close(lock)
    return proc, f"redis://127.0.0.1:{port}/0"


def relay(name: str, proc: subprocess.Popen[bytes]) -> None:
    """Prefix each line of a child's output with its name."""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(f"{name:8} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    threading.Thread(target=relay, args=(name, proc), daemon=True).start()
    return proc


def wait_healthy(url: str, procs: list[subprocess.Popen[bytes]], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Worker, then gateway, then Redis, each gracefully (SIGTERM) before the next."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: stop everything, once. Further signals are ignored from here on, or they
    would cut the orderly stop short: make passes its own SIGTERM on to this script, so `kill`ing
    `make run` delivers two, and a terminal's Ctrl-C reaches make and this script alike."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    values = ensure_env_file()
    env = {**values, **os.environ}
    env.setdefault("LOG_FORMAT", "text")  # for a person at a terminal; services default to JSON
    procs: list[subprocess.Popen[bytes]] = []
    if "REDIS_URL" not in env:
        redis_proc, env["REDIS_URL"] = start_redis()
        threading.Thread(target=relay, args=("redis", redis_proc), daemon=True).start()
        procs.append(redis_proc)
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    procs.append(start("gateway", [sys.executable, "-m", "services.websocket"], env))
    procs.append(start("worker", [sys.executable, "-m", "services.worker"], env))
    signal.signal(signal.SIGTERM, interrupted)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted)
    try:
        url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
        if not wait_healthy(url, procs):
            print("start-up failed; see the lines above", file=sys.stderr)
            return 1
        key = (env.get("API_KEYS") or env.get("API_KEY", "")).split(",")[0]
        print(f"\n  cexec is running at {url}  (WebSocket {url.replace('http', 'ws')}/ws/execute)")
        print(f"  API key: {key}")
        print(
            f"  try:     CEXEC_URL={url} CEXEC_API_KEY={key} "
            ".venv/bin/python examples/client.py FILE"
        )
        print("  Ctrl-C stops Redis, gateway and worker\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
