"""Concurrency slots. Each slot is one sandbox user (cexec-sb0, cexec-sb1, ...), held by exactly one
worker process on this host through an flock, so that two workers never share a UID: RLIMIT_NPROC,
kill and cgroups are then per job. The lock dies with the process that held it."""

from __future__ import annotations

import fcntl
import os
import pwd
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


def _try_lock(name: str) -> int | None:
    LOCK_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(LOCK_DIR / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def acquire(prefix: str, count: int, worker_uid: int) -> tuple[list[Slot], list[int]]:
    """Lock `count` free sandbox users; returns the slots and the lock fds (keep them open)."""
    slots: list[Slot] = []
    fds: list[int] = []
    users = _sandbox_users(prefix)
    for entry in users:
        if len(slots) == count:
            break
        if entry.pw_uid in (0, worker_uid) or entry.pw_gid == 0:
            raise ConfigError(f"sandbox user {entry.pw_name} must not be root or the worker's user")
        fd = _try_lock(entry.pw_name)
        if fd is None:
            continue
        fds.append(fd)
        slots.append(
            Slot(len(slots), entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
        )
    if len(slots) < count:
        for fd in fds:
            os.close(fd)
        raise ConfigError(
            f"need {count} free sandbox users named {prefix}N, found {len(users)} "
            f"({len(users) - len(slots)} held by other workers): run `make install` "
            f"or `scripts/install.sh --users N`, or lower WORKER_CONCURRENCY"
        )
    return slots, fds
