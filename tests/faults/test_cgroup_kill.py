"""Killing a fork bomb's cgroup on the real hierarchy of this host (issue 7.5).

A fork bomb refills its cgroup as fast as a read-then-kill loop empties it; if the loop gave up
with survivors, they held the stage's pipes and its slot. Here a real C and a real Python fork
bomb run as a sandbox user in a stage cgroup (no Firejail: only the cgroup is under test), and
one `kill()` must leave the cgroup empty, and `remove()` must succeed, every time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.worker import cgroups, slots
from services.worker.sandbox import Slot

pytestmark = pytest.mark.e2e

C_BOMB = "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"
PY_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
ROUNDS = 5
TASKS = 68


@pytest.fixture(scope="module")
def hierarchy() -> cgroups.V1 | cgroups.V2:
    found = cgroups.detect("cexec")
    if found is None:
        pytest.fail("no usable cgroup hierarchy on this host")
    return found


@pytest.fixture(scope="module")
def slot(hierarchy: cgroups.V1 | cgroups.V2) -> Iterator[Slot]:
    held, fds = slots.acquire("cexec-sb", 1, os.geteuid(), hierarchy.lock_dir)
    yield held[0]
    # The bombs ran in our PID namespace (no Firejail, no reaper): their killed tasks are
    # reaped by PID 1, and until then they count against the UID's RLIMIT_NPROC. The next
    # worker to take this slot must find none of them.
    deadline = time.monotonic() + 10
    while uid_tasks(held[0].uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = uid_tasks(held[0].uid)
    for fd in fds:
        os.close(fd)
    assert not left, f"tasks of {held[0].user} were not reaped: {left[:10]}"


def uid_tasks(uid: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def c_bomb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    source = tmp_path_factory.mktemp("bomb") / "bomb.c"
    source.write_text(C_BOMB)
    binary = Path(f"/usr/local/lib/cexec-test-bomb-{os.getpid()}")  # the slot user can run it
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    binary.chmod(0o755)
    yield str(binary)
    binary.unlink()


def start_in(stage: cgroups.StageCgroup, slot: Slot, argv: list[str]) -> subprocess.Popen[bytes]:
    procs = stage.procs_files

    def enter() -> None:  # what cexec-enter does, minus the supervision
        for path in procs:
            Path(path).write_text(str(os.getpid()))
        os.setgroups([])
        os.setgid(slot.gid)
        os.setuid(slot.uid)

    return subprocess.Popen(argv, preexec_fn=enter, cwd="/", stdout=subprocess.DEVNULL)


def tasks(stage: cgroups.StageCgroup) -> list[str]:
    return Path(stage.procs_files[0]).read_text().split()


@pytest.mark.parametrize("language", ["c", "python"])
def test_one_kill_empties_a_fork_bomb_cgroup(
    hierarchy: cgroups.V1 | cgroups.V2, slot: Slot, c_bomb: str, language: str
) -> None:
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    argv = [c_bomb] if language == "c" else [python, "-c", PY_BOMB]
    for round_ in range(ROUNDS):
        stage = hierarchy.create(slot.key, f"bomb{round_}", 256, TASKS)
        bomb = start_in(stage, slot, argv)
        try:
            time.sleep(0.7)  # the bomb has filled its cgroup
            assert len(tasks(stage)) > TASKS // 2, "the bomb should be running"
            stage.kill()
            assert tasks(stage) == [], f"round {round_}: survivors {tasks(stage)}"
            stage.remove()
        finally:
            bomb.kill()
            bomb.wait()
