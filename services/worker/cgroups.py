"""Per-stage cgroups: the memory limit (swap off), the task limit, peak memory, OOM kills, CPU time.

cgroup v2 where /sys/fs/cgroup is the unified hierarchy; v1 (memory, pids, cpuacct) otherwise, as on
hybrid hosts. Layout: <root>/<name>/uid-<slot UID>/<stage>, one leaf per stage of a job, removed
after.
A slot's subtree belongs to the worker holding that slot's lock, so it may clean it at start.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpuacct", "freezer")
V1_OPTIONAL = ("cpuacct", "freezer")
KILL_ROUNDS = 50
FREEZE_WAIT_S = 0.5


class StageCgroup(Protocol):
    @property
    def procs_files(self) -> list[str]: ...

    def peak_kb(self) -> int | None: ...
    def oom_kills(self) -> int: ...
    def cpu_us(self) -> int | None: ...
    def kill(self) -> None: ...
    def remove(self) -> None: ...


class Cgroups(Protocol):
    version: str

    def create(self, slot: str, stage: str, memory_mb: int, tasks: int) -> StageCgroup | None: ...
    def clean_slot(self, slot: str) -> None: ...
    def lock_dir(self, slot: str) -> Path: ...


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _keyed(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _tasks(dirs: list[Path]) -> set[int]:
    return {int(p) for d in dirs for p in _read(d / "cgroup.procs").split() if p.isdigit()}


def _kill_procs(dirs: list[Path]) -> None:
    """SIGKILL every task of the cgroups until none is left (a fork may race the first pass)."""
    for _ in range(KILL_ROUNDS):
        pids = _tasks(dirs)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)


def _frozen_kill(freezer: Path, dirs: list[Path]) -> None:
    """Freeze, kill, thaw: a fork bomb cannot refill a frozen cgroup between our read of
    cgroup.procs and our kills, so one pass reaches every task (the kernel's cgroup-v1 freezer,
    Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). Falls back to the kill loop."""
    state = freezer / "freezer.state"
    try:
        _write(state, "FROZEN")
    except OSError:
        _kill_procs(dirs)
        return
    try:
        deadline = time.monotonic() + FREEZE_WAIT_S
        while _read(state).strip() == "FREEZING" and time.monotonic() < deadline:
            time.sleep(0.001)
        _kill_procs(dirs)  # one round here; more only if the freeze did not take
    finally:
        with contextlib.suppress(OSError):
            _write(state, "THAWED")  # the killed tasks die as they thaw
    _kill_procs(dirs)


def _rmdir(path: Path) -> None:
    """Remove an emptied cgroup; OSError (EBUSY) if tasks stay in it: the caller must not hand
    its slot to another job."""
    for _ in range(KILL_ROUNDS):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            time.sleep(0.005)
    raise OSError(errno.EBUSY, f"cgroup {path} still has tasks")


def _remove_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _kill_procs([child])
        try:
            _rmdir(child)
        except OSError as exc:
            log.warning("%s", exc)


@dataclass
class V1Stage:
    dirs: dict[str, Path]

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def peak_kb(self) -> int | None:
        text = _read(self.dirs["memory"] / "memory.max_usage_in_bytes").strip()
        return int(text) // 1024 if text.isdigit() else None

    def oom_kills(self) -> int:
        return _keyed(_read(self.dirs["memory"] / "memory.oom_control"), "oom_kill")

    def cpu_us(self) -> int | None:
        if "cpuacct" not in self.dirs:
            return None
        text = _read(self.dirs["cpuacct"] / "cpuacct.usage").strip()
        return int(text) // 1000 if text.isdigit() else None

    def kill(self) -> None:
        dirs = list(self.dirs.values())
        if not _tasks(dirs):
            # Empty stays empty: only root can move a task into a cgroup, and no task is left in
            # it to fork. The usual end of a stage (everything exited) costs one read per dir.
            return
        if "freezer" in self.dirs:
            _frozen_kill(self.dirs["freezer"], dirs)
        else:
            _kill_procs(dirs)

    def remove(self) -> None:
        self.kill()
        for d in self.dirs.values():
            _rmdir(d)


@dataclass
class V1:
    mounts: dict[str, Path]  # controller -> <root>/<controller>/<name>
    version: str = "v1"

    def create(self, slot: str, stage: str, memory_mb: int, tasks: int) -> V1Stage:
        dirs = {c: base / slot / stage for c, base in self.mounts.items()}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        mem = dirs["memory"]
        limit = str(memory_mb * 1024 * 1024)
        _write(mem / "memory.limit_in_bytes", limit)
        if (mem / "memory.memsw.limit_in_bytes").exists():
            _write(mem / "memory.memsw.limit_in_bytes", limit)  # memory + swap: no swap at all
        with contextlib.suppress(OSError):
            _write(mem / "memory.swappiness", "0")
        _write(dirs["pids"] / "pids.max", str(tasks))
        return V1Stage(dirs)

    def clean_slot(self, slot: str) -> None:
        for base in self.mounts.values():
            _remove_tree(base / slot)

    def lock_dir(self, slot: str) -> Path:
        """The slot's directory, created if need be; services.worker.slots flocks it."""
        path = self.mounts["memory"] / slot
        path.mkdir(exist_ok=True)
        return path


@dataclass
class V2Stage:
    path: Path

    @property
    def procs_files(self) -> list[str]:
        return [str(self.path / "cgroup.procs")]

    def peak_kb(self) -> int | None:
        text = _read(self.path / "memory.peak").strip()  # Linux 5.19+
        return int(text) // 1024 if text.isdigit() else None

    def oom_kills(self) -> int:
        return _keyed(_read(self.path / "memory.events"), "oom_kill")

    def cpu_us(self) -> int | None:
        return _keyed(_read(self.path / "cpu.stat"), "usage_usec") or None

    def kill(self) -> None:
        if (self.path / "cgroup.kill").exists():  # Linux 5.14+: kills the whole subtree at once
            with contextlib.suppress(OSError):
                _write(self.path / "cgroup.kill", "1")
        _kill_procs([self.path])

    def remove(self) -> None:
        self.kill()
        _rmdir(self.path)


@dataclass
class V2:
    base: Path
    version: str = "v2"

    def create(self, slot: str, stage: str, memory_mb: int, tasks: int) -> V2Stage:
        slot_dir = self.base / slot
        slot_dir.mkdir(exist_ok=True)
        _enable_controllers(slot_dir)
        path = slot_dir / stage
        path.mkdir(exist_ok=True)
        _write(path / "memory.max", str(memory_mb * 1024 * 1024))
        with contextlib.suppress(OSError):
            _write(path / "memory.swap.max", "0")
        _write(path / "pids.max", str(tasks))
        return V2Stage(path)

    def clean_slot(self, slot: str) -> None:
        _remove_tree(self.base / slot)

    def lock_dir(self, slot: str) -> Path:
        path = self.base / slot
        path.mkdir(exist_ok=True)
        return path


def _enable_controllers(path: Path) -> None:
    if {"memory", "pids"} <= set(_read(path / "cgroup.subtree_control").split()):
        return
    _write(path / "cgroup.subtree_control", "+memory +pids")


def _setup_v2(name: str) -> V2:
    """<root>/<name> with memory and pids delegated to its children."""
    own = _read(Path("/proc/self/cgroup")).strip().split("::", 1)[-1] or "/"
    parent = CGROUP_ROOT / own.lstrip("/") if own != "/" else CGROUP_ROOT
    if parent != CGROUP_ROOT:
        # Not at the root (a container or a systemd service): "no internal processes" forbids
        # enabling controllers for children while we sit in `parent`, so move into a leaf first.
        leaf = parent / f"{name}-supervisor"
        leaf.mkdir(exist_ok=True)
        _write(leaf / "cgroup.procs", str(os.getpid()))
    _enable_controllers(parent)
    base = parent / name
    base.mkdir(exist_ok=True)
    _enable_controllers(base)
    return V2(base)


def _setup_v1(name: str) -> V1 | None:
    mounts = {}
    for controller in V1_CONTROLLERS:
        root = CGROUP_ROOT / controller
        if not (root / "cgroup.procs").exists():
            if controller in V1_OPTIONAL:
                continue  # CPU time then comes from the reaper's rusage; kills loop unfrozen
            return None
        base = root / name
        base.mkdir(exist_ok=True)
        mounts[controller] = base
    with contextlib.suppress(OSError):  # limits and counters must cover the whole subtree
        _write(mounts["memory"] / "memory.use_hierarchy", "1")
    return V1(mounts)


def detect(name: str) -> V1 | V2 | None:
    """The host's cgroup flavour, set up for our use; None if we may not use cgroups here."""
    try:
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return _setup_v2(name)
        return _setup_v1(name)
    except OSError as exc:
        log.warning("cgroups unavailable (%s); memory falls back to RLIMIT_AS", exc)
        return None
