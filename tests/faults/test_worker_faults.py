"""Faults that really happen to workers: SIGKILL mid-job, a worker that died holding a job it had
not started, and SIGTERM during a job. Real Redis, gateway, workers and Firejail."""

from __future__ import annotations

import asyncio
import pwd
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from lib.keys import WORKER_GROUP, Keys
from tests.client import open_job, run
from tests.conftest import (
    RedisServer,
    Service,
    Stack,
    scaled,
    service_env,
    start_service,
    start_stack,
)

pytestmark = pytest.mark.e2e

SLEEPER = 'import time\nprint("started", flush=True)\ntime.sleep(60)\nprint("never")\n'


def slot_users_running(worker: Service) -> set[str]:
    """Sandbox users that still own a live (non-zombie) process."""
    out = subprocess.run(["ps", "-eo", "user:32,stat"], capture_output=True, text=True).stdout
    return {
        u
        for u, st in (line.split() for line in out.splitlines()[1:])
        if u.startswith("cexec-sb") and "Z" not in st
    }


def worker_of(stack_workers: list[Service], job_id: str) -> Service:
    for worker in stack_workers:
        if job_id in worker.output():
            return worker
    raise AssertionError(f"no worker mentions job {job_id}")


@pytest.fixture
def two_workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Stack, Service]]:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1")
    env = service_env(redis_server.url, stack.prefix, WORKER_CONCURRENCY="1")
    second = start_service("services.worker", env, tmp_path)
    client = redis_sync.Redis.from_url(redis_server.url)
    deadline = time.monotonic() + scaled(60)
    while len(client.keys(f"{stack.prefix}:worker:*")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    yield stack, second
    for service in (stack.gateway, stack.worker, second):
        service.stop()


async def test_sigkill_mid_job_gives_internal_error_and_kills_the_sandbox(
    two_workers: tuple[Stack, Service],
) -> None:
    stack, second = two_workers
    async with open_job(stack, "python", SLEEPER) as conn:
        await conn.wait_for_output("started\n")
        victim = worker_of([stack.worker, second], conn.job_id)
        busy_before = slot_users_running(victim)
        assert busy_before, "the job's sandbox should be running"
        killed_at = time.monotonic()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        out = await conn.finish(timeout=30)
        elapsed = time.monotonic() - killed_at
    assert out.status == "internal_error"
    assert "stopped unexpectedly" in out.complete["message"]
    assert elapsed < 15, f"terminal event after {elapsed:.1f}s"
    assert "never" not in out.stdout
    # Its sandbox died with it (the supervisor in cexec-enter kills the stage's cgroup).
    await asyncio.sleep(1)
    survivor = second if victim is stack.worker else stack.worker
    assert survivor.proc.poll() is None
    assert not slot_users_running(victim) - slot_users_running(survivor)


TICKER = (
    "import time\nfor i in range(300):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n"
)


async def test_sigkill_of_the_only_worker_ends_the_job_within_15_s(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Issue 7.1: with no other worker alive, the gateway relaying the job must notice that the
    worker holding it is gone; a worker started afterwards recovers what the dead one held."""
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1", EXECUTION_TIMEOUT="60")
    try:
        async with open_job(stack, "python", TICKER) as conn:
            await conn.wait_for_output("tick 0\n")
            await asyncio.sleep(2.5)
            killed_at = time.monotonic()
            stack.worker.proc.send_signal(signal.SIGKILL)
            stack.worker.proc.wait()
            out = await conn.finish(timeout=30)
            elapsed = time.monotonic() - killed_at
        assert out.status == "internal_error", out.summary()
        assert "stopped unexpectedly" in out.complete["message"]
        assert elapsed < 15, f"terminal event {elapsed:.1f}s after the SIGKILL"
        assert out.close_code == 1000
        # A worker started now recovers the dead one's entry without ending the job twice,
        # and serves new jobs.
        env = service_env(stack.redis_url, stack.prefix, WORKER_CONCURRENCY="1")
        replacement = start_service("services.worker", env, tmp_path)
        try:
            after = await run(stack, "python", 'print("next")\n', timeout=60)
            assert after.stdout == "next\n"
            client = redis_sync.Redis.from_url(stack.redis_url)
            keys = Keys(stack.prefix)
            for _ in range(int(scaled(75))):  # the replacement recovers within seconds
                if not client.xpending(keys.queue, WORKER_GROUP)["pending"]:
                    break
                await asyncio.sleep(0.2)
            assert client.xpending(keys.queue, WORKER_GROUP)["pending"] == 0
            finals = [
                e for _, e in client.xrange(keys.events(conn.job_id)) if b'"complete"' in e[b"m"]
            ]
            assert len(finals) == 1, finals
        finally:
            replacement.stop()
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_job_claimed_by_a_dead_worker_before_it_started_is_retried(
    two_workers: tuple[Stack, Service],
) -> None:
    stack, second = two_workers
    workers = [stack.worker, second]
    for w in workers:  # nobody may claim the job but our "dead" consumer
        w.proc.send_signal(signal.SIGSTOP)
    # A stopped worker's XREADGROUP still waits inside Redis until its BLOCK time runs out.
    await asyncio.sleep(2.5)
    client = redis_sync.Redis.from_url(stack.redis_url)
    keys = Keys(stack.prefix)
    try:
        async with open_job(stack, "python", 'print("ran once")\n') as conn:
            deadline = time.monotonic() + 10
            claimed = []
            while not claimed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                claimed = client.xreadgroup(
                    WORKER_GROUP, "ghost-worker", {keys.queue: ">"}, count=1
                )
            assert claimed, "the job never reached the queue"
            for w in workers:
                w.proc.send_signal(signal.SIGCONT)
            out = await conn.finish(timeout=30)
    finally:
        for w in workers:
            w.proc.send_signal(signal.SIGCONT)
    assert out.stdout == "ran once\n"
    assert out.status == "ok"
    assert any("retried after its worker died" in w.output() for w in workers)


async def test_sigterm_lets_running_jobs_finish(redis_server: RedisServer, tmp_path: Path) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1", SHUTDOWN_GRACE_S="20")
    try:
        code = 'import time\nprint("started", flush=True)\ntime.sleep(1.5)\nprint("finished")\n'
        async with open_job(stack, "python", code) as conn:
            await conn.wait_for_output("started\n")
            stack.worker.proc.send_signal(signal.SIGTERM)
            stack.worker.proc.send_signal(signal.SIGTERM)  # twice: still graceful
            out = await conn.finish(timeout=30)
        assert out.stdout == "started\nfinished\n"
        assert out.status == "ok"
        assert stack.worker.proc.wait(scaled(20)) == 0
    finally:
        stack.gateway.stop()
        stack.worker.stop()


def job_mounts(users: set[str]) -> list[str]:
    """Mount points of the given slot users' job storage (~cexec-sbN/jobs)."""
    wanted = {f"{pwd.getpwnam(u).pw_dir}/jobs" for u in users}
    with open("/proc/self/mounts") as f:
        return [p for p in (line.split()[1] for line in f) if p in wanted]


async def test_clean_shutdown_unmounts_the_job_storage(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Issue 7.9: a stopped worker leaves no slot's tmpfs mounted."""
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="2")
    try:
        assert (await run(stack, "python", 'print("x")\n')).stdout == "x\n"
        found = re.search(r"slots: ([\w, -]+)", stack.worker.output())
        assert found, stack.worker.output()[-2000:]
        users = {u.strip() for u in found.group(1).split(",")}
        assert len(job_mounts(users)) == 2, "each slot's storage is a tmpfs while it runs"
        stack.worker.proc.send_signal(signal.SIGTERM)
        assert stack.worker.proc.wait(scaled(20)) == 0
        assert job_mounts(users) == []
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_sigterm_past_the_grace_kills_with_a_message(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1", SHUTDOWN_GRACE_S="1")
    try:
        async with open_job(stack, "python", SLEEPER) as conn:
            await conn.wait_for_output("started\n")
            stack.worker.proc.send_signal(signal.SIGTERM)
            out = await conn.finish(timeout=30)
        assert out.status == "killed"
        assert "shut down" in out.complete["message"]
        assert stack.worker.proc.wait(scaled(20)) == 0
    finally:
        stack.gateway.stop()
        stack.worker.stop()


async def test_new_worker_serves_jobs_after_the_old_one_stopped(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1")
    try:
        stack.worker.stop()
        queued = asyncio.create_task(run(stack, "python", 'print("waited")\n', timeout=60))
        await asyncio.sleep(1)
        env = service_env(stack.redis_url, stack.prefix, WORKER_CONCURRENCY="1")
        replacement = start_service("services.worker", env, tmp_path)
        try:
            out = await queued
        finally:
            replacement.stop()
        assert out.stdout == "waited\n"
    finally:
        stack.gateway.stop()
