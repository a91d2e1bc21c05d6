"""Concurrency slots. Each slot is one sandbox user (cexec-sb0, cexec-sb1, ...), held by exactly one
worker process on this kernel, so that two workers never share a UID: RLIMIT_NPROC, kill and
cgroups are then per job. The locks die with the process that held them.

Two locks per slot (issue 7.10), both flock(2), so both vanish with their holder:
- /run/cexec/uid-<uid>.lock: seen by every worker of this mount namespace (works without cgroups);
- the slot's own cgroup directory (`<cgroup root>/<controller>/cexec/uid-<uid>`): seen by every
  worker on the kernel that sees the same cgroup hierarchy, whatever its mount namespace (a
  chroot, a container that shares the host's cgroup namespace, a second /run). flock works on
  cgroupfs directories like on any inode.
Both are keyed by UID (Slot.key), not by name: a chroot's /etc/passwd gave `cexec-sb11` the UID
that the host's gives `cexec-sb10`, and what the kernel shares between processes goes by UID.
Workers in containers with a cgroup namespace of their own see different cgroup directories and
so do not exclude each other: give such containers sandbox users with distinct UIDs
(`scripts/install.sh --uid-base N`), since RLIMIT_NPROC counts per UID across the whole kernel.
"""

from __future__ import annotations

import fcntl
import os
import pwd
from collections.abc import Callable
from pathlib import Path

from lib.errors import ConfigError
from services.worker.sandbox import Slot

LOCK_DIR = Path("/run/cexec")
MAX_SLOT_USERS = 256


def _sandbox_users(prefix: str) -> list[pwd.struct_passwd]:
    users = []
    for index in range(MAX_SLOT_USERS):
        try:
            users.append(pwd.getpwnam(f"{prefix}{index}"))
        except KeyError:
            break
    return users


def _flock(fd: int) -> int | None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _try_lock(key: str, kernel_lock: Callable[[str], Path | None] | None) -> list[int] | None:
    """Both locks of one slot, or None (and nothing held) if another worker holds either."""
    LOCK_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    file_fd = os.open(LOCK_DIR / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    held = _flock(file_fd)
    if held is None:
        return None
    directory = kernel_lock(key) if kernel_lock else None
    if directory is None:
        return [held]
    dir_fd = _flock(os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    if dir_fd is None:
        os.close(held)
        return None
    return [held, dir_fd]


def acquire(
    prefix: str,
    count: int,
    worker_uid: int,
    kernel_lock: Callable[[str], Path | None] | None = None,
) -> tuple[list[Slot], list[int]]:
    """Lock `count` free sandbox users; returns the slots and the lock fds (keep them open).
    `kernel_lock(user)`: a directory every worker on the kernel sees (the slot's cgroup)."""
    slots: list[Slot] = []
    fds: list[int] = []
    users = _sandbox_users(prefix)
    for entry in users:
        if len(slots) == count:
            break
        if entry.pw_uid in (0, worker_uid) or entry.pw_gid == 0:
            raise ConfigError(f"sandbox user {entry.pw_name} must not be root or the worker's user")
        slot = Slot(len(slots), entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
        held = _try_lock(slot.key, kernel_lock)
        if held is None:
            continue
        fds += held
        slots.append(slot)
    if len(slots) < count:
        for fd in fds:
            os.close(fd)
        raise ConfigError(
            f"need {count} free sandbox users named {prefix}N, found {len(users)} "
            f"({len(users) - len(slots)} held by other workers): run `make install` "
            f"or `scripts/install.sh --users N`, or lower WORKER_CONCURRENCY"
        )
    return slots, fds
