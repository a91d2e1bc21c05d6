"""Slots are exclusive per kernel, and a stage's deadline holds whatever happens underneath it
(issue 7.10). Real Redis, gateway, workers and Firejail.

Two workers that do not share /run/cexec (two containers, a container and the host, a chroot)
used to lock the same sandbox users and share their cgroups; the second one here runs in a mount
namespace of its own with an empty /run/cexec.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from tests.client import open_job, run
from tests.conftest import (
    ROOT,
    RedisServer,
    Service,
    Stack,
    scaled,
    service_env,
    start_stack,
    wait_until,
)

pytestmark = pytest.mark.e2e

SLOTS = re.compile(r"slots: ([\w, -]+)")
CGROUP_V1 = Path("/sys/fs/cgroup")


def start_worker_in_own_mount_namespace(env: dict[str, str], log_dir: Path) -> Service:
    """A worker whose /run/cexec is a fresh tmpfs nobody else sees."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed"
    script = 'mount -t tmpfs cexec-private /run/cexec && exec "$@"'
    log = log_dir / "worker-own-ns.log"
    worker = [sys.executable, "-m", "services.worker"]
    proc = subprocess.Popen(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", *worker],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Service("services.worker (own mount ns)", proc, log)


def slots_of(service: Service) -> set[str]:
    found = SLOTS.search(service.output())
    assert found, service.output()[-2000:]
    return {name.strip() for name in found.group(1).split(",")}


@pytest.fixture
def two_namespaces(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Stack, Service]]:
    Path("/run/cexec").mkdir(exist_ok=True)
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="2")
    env = service_env(redis_server.url, stack.prefix, WORKER_CONCURRENCY="2")
    second = start_worker_in_own_mount_namespace(env, tmp_path)
    client = redis_sync.Redis.from_url(redis_server.url)
    try:
        wait_until(
            lambda: len(client.keys(f"{stack.prefix}:worker:*")) == 2,
            60,
            "the second worker",
            [second.proc],
        )
    except TimeoutError:
        raise AssertionError(second.output()[-3000:]) from None
    yield stack, second
    for service in (stack.gateway, stack.worker, second):
        service.stop()


async def test_workers_in_different_mount_namespaces_take_different_slots(
    two_namespaces: tuple[Stack, Service],
) -> None:
    stack, second = two_namespaces
    first, other = slots_of(stack.worker), slots_of(second)
    assert len(first) == 2 and len(other) == 2
    assert not first & other, f"both workers hold {first & other}"
    code = "import os, time\nprint(os.getuid(), flush=True)\ntime.sleep(1.5)\n"
    outs = await asyncio.gather(*(run(stack, "python", code) for _ in range(4)))
    assert all(o.status == "ok" for o in outs), [o.summary() for o in outs]
    uids = {o.stdout.strip() for o in outs}
    assert len(uids) == 4, f"four jobs at once ran as {uids}"


def supervisor_of(user: str) -> int:
    """The pid of the cexec-enter supervisor running as root for the slot user's stage."""
    uid = str(pwd.getpwnam(user).pw_uid)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"cexec-enter" in argv[0] and argv[1:2] == [uid.encode()] and "\nUid:\t0\t" in status:
            return int(pid)
    raise AssertionError(f"no supervisor for {user}")


def slot_of(stack: Stack, job_id: str) -> str:
    found = re.search(rf"job {job_id}: python on (\S+),", stack.worker.output())
    assert found, stack.worker.output()[-2000:]
    return found.group(1)


def remove_stage_cgroups(user: str) -> None:
    """Move the stage's tasks to the root cgroups and delete the stage's cgroups (v1 here; on a
    v2 host the one unified directory)."""
    for controller in ("memory", "pids", "cpuacct"):
        stage = CGROUP_V1 / controller / "cexec" / f"uid-{pwd.getpwnam(user).pw_uid}" / "run"
        if not stage.is_dir():
            continue
        for pid in (stage / "cgroup.procs").read_text().split():
            (CGROUP_V1 / controller / "cgroup.procs").write_text(pid)
        stage.rmdir()


def program_of(user: str) -> int:
    """The pid of the user's program (python3) inside its sandbox."""
    uid = pwd.getpwnam(user).pw_uid
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (
                os.stat(f"/proc/{pid}").st_uid == uid
                and b"python3" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            ):
                return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no program of {user}")


SLEEPER = 'import time\nprint("up", flush=True)\ntime.sleep(60)\n'
LIMIT_S = 3


@pytest.mark.parametrize("fault", ["supervisor killed", "cgroup removed", "stdout held outside"])
async def test_the_deadline_fires_whatever_happens_underneath(
    redis_server: RedisServer, tmp_path: Path, fault: str
) -> None:
    if fault == "cgroup removed" and not (CGROUP_V1 / "memory" / "cexec").is_dir():
        pytest.fail("this test expects the cgroup v1 layout of the CI hosts")
    stack = start_stack(redis_server.url, tmp_path, WORKER_CONCURRENCY="1")
    try:
        async with open_job(stack, "python", SLEEPER, limits={"time_s": LIMIT_S}) as conn:
            started = time.monotonic()
            await conn.wait_for_output("up\n")
            user = slot_of(stack, conn.job_id)
            held: list[int] = []
            if fault == "supervisor killed":
                os.kill(supervisor_of(user), 9)
            elif fault == "cgroup removed":
                remove_stage_cgroups(user)
            else:  # a process no kill of the stage reaches keeps the program's stdout open
                held.append(os.open(f"/proc/{program_of(user)}/fd/1", os.O_WRONLY))
            try:
                out = await conn.finish(timeout=30)
                heard = time.monotonic() - started
            finally:
                for fd in held:
                    os.close(fd)
        assert out.close_code == 1000, out.summary()
        assert out.complete["status"] in ("timeout", "runtime_error", "internal_error")
        assert heard < scaled(LIMIT_S + 1.0), f"the client heard after {heard:.1f}s"
        after = await run(stack, "python", 'print("next")\n')
        assert after.stdout == "next\n", after.summary()
    finally:
        stack.gateway.stop()
        stack.worker.stop()
