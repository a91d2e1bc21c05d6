"""The cgroup v1 and v2 drivers against a stand-in cgroup tree in a temporary directory.

A real cgroupfs creates a cgroup's interface files on mkdir; here the test creates them, so these
tests check what the drivers write where and how they read the kernel's counters. The real
hierarchy (v1 on the CI host) is exercised end to end by tests/e2e and tests/hostile; v2 hosts
run the same writes against real files."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from services.worker.cgroups import V1, V2, V1Stage, V2Stage

MB = 1024 * 1024


def touch(directory: Path, *names: str, content: str = "") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(content)


def test_v2_stage_limits_and_controllers(tmp_path: Path) -> None:
    touch(tmp_path / "cexec-sb0", "cgroup.subtree_control")
    touch(
        tmp_path / "cexec-sb0" / "run", "memory.max", "memory.swap.max", "pids.max", "cgroup.procs"
    )
    stage = V2(tmp_path).create("cexec-sb0", "run", memory_mb=64, tasks=68)
    path = tmp_path / "cexec-sb0" / "run"
    assert (path / "memory.max").read_text() == str(64 * MB)
    assert (path / "memory.swap.max").read_text() == "0"  # no swap: the limit is real memory
    assert (path / "pids.max").read_text() == "68"
    assert (tmp_path / "cexec-sb0" / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert stage.procs_files == [str(path / "cgroup.procs")]


def test_v2_counters(tmp_path: Path) -> None:
    touch(tmp_path, "memory.peak", content="1048576\n")
    touch(tmp_path, "memory.events", content="low 0\nhigh 0\nmax 7\noom 1\noom_kill 2\n")
    touch(tmp_path, "cpu.stat", content="usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
    stage = V2Stage(tmp_path)
    assert stage.peak_kb() == 1024
    assert stage.oom_kills() == 2
    assert stage.cpu_us() == 2500


def test_v2_counters_missing_on_old_kernels(tmp_path: Path) -> None:
    stage = V2Stage(tmp_path)  # no memory.peak before Linux 5.19
    assert stage.peak_kb() is None
    assert stage.oom_kills() == 0
    assert stage.cpu_us() is None


def test_v2_kill_uses_cgroup_kill(tmp_path: Path) -> None:
    touch(tmp_path, "cgroup.kill", "cgroup.procs")
    V2Stage(tmp_path).kill()
    assert (tmp_path / "cgroup.kill").read_text() == "1"


def test_v1_stage_limits(tmp_path: Path) -> None:
    mounts = {c: tmp_path / c / "cexec" for c in ("memory", "pids", "cpuacct")}
    touch(
        mounts["memory"] / "cexec-sb1" / "compile",
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.swappiness",
        "cgroup.procs",
    )
    touch(mounts["pids"] / "cexec-sb1" / "compile", "pids.max", "cgroup.procs")
    touch(mounts["cpuacct"] / "cexec-sb1" / "compile", "cgroup.procs")
    stage = V1(mounts).create("cexec-sb1", "compile", memory_mb=1024, tasks=132)
    memory = mounts["memory"] / "cexec-sb1" / "compile"
    assert (memory / "memory.limit_in_bytes").read_text() == str(1024 * MB)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(1024 * MB)
    assert (memory / "memory.swappiness").read_text() == "0"
    assert (mounts["pids"] / "cexec-sb1" / "compile" / "pids.max").read_text() == "132"
    assert len(stage.procs_files) == 3  # joined in every hierarchy


def test_v1_counters(tmp_path: Path) -> None:
    touch(tmp_path / "m", "memory.max_usage_in_bytes", content="2097152\n")
    touch(
        tmp_path / "m",
        "memory.oom_control",
        content="oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    )
    touch(tmp_path / "c", "cpuacct.usage", content="1500000\n")  # nanoseconds
    stage = V1Stage({"memory": tmp_path / "m", "pids": tmp_path / "p", "cpuacct": tmp_path / "c"})
    assert stage.peak_kb() == 2048
    assert stage.oom_kills() == 3
    assert stage.cpu_us() == 1500


def test_kill_reaches_every_listed_task(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        touch(tmp_path, "cgroup.procs", content=f"{sleeper.pid}\n")
        V2Stage(tmp_path).kill()
        assert sleeper.wait(5) == -signal.SIGKILL
    finally:
        sleeper.kill()


NO_SUCH_PID = 4194305  # above the kernel's largest pid_max (2^22)


def test_v1_kill_freezes_then_thaws(tmp_path: Path) -> None:
    """With the freezer controller, the kill runs on a frozen cgroup (no fork can race it) and
    the cgroup is thawed afterwards, so the killed tasks die."""
    writes: list[str] = []
    touch(tmp_path / "f", "cgroup.procs", "freezer.state")
    touch(tmp_path / "m", "cgroup.procs")
    state = tmp_path / "f" / "freezer.state"

    class Recorder(V1Stage):
        def kill(self) -> None:
            super().kill()
            writes.append(state.read_text())

    # A task that is listed but cannot be signalled (no such PID): the stand-in never empties.
    (tmp_path / "m" / "cgroup.procs").write_text(f"{NO_SUCH_PID}\n")
    Recorder({"memory": tmp_path / "m", "freezer": tmp_path / "f"}).kill()
    assert writes == ["THAWED"]


def test_v1_kill_of_an_empty_cgroup_does_not_freeze(tmp_path: Path) -> None:
    """The usual end of a stage: nothing left, so no freeze and thaw (one read per dir)."""
    touch(tmp_path / "f", "cgroup.procs", "freezer.state")
    touch(tmp_path / "m", "cgroup.procs")
    V1Stage({"memory": tmp_path / "m", "freezer": tmp_path / "f"}).kill()
    assert (tmp_path / "f" / "freezer.state").read_text() == ""


def test_v1_remove_refuses_a_busy_cgroup(tmp_path: Path) -> None:
    """A cgroup that cannot be removed is an error (the slot is then retired), not a warning."""
    touch(tmp_path / "m", "cgroup.procs")  # a stand-in directory with a file is never empty
    with pytest.raises(OSError):
        V1Stage({"memory": tmp_path / "m"}).remove()
