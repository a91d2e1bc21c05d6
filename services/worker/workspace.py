"""Job directories: made fresh for each job, written before any user code runs, removed after.

The job directory belongs to the slot user, who may plant symlinks or hard links in it. The worker
therefore never follows a link there: files are created with O_EXCL|O_NOFOLLOW relative to a
directory fd, nothing is written or chowned after user code ran, and removal uses shutil.rmtree's
fd-based walk, which does not follow symlinks (shutil.rmtree.avoids_symlink_attacks).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.errors import SandboxError
from lib.files import file_bytes
from lib.protocol import SourceFile
from services.worker.sandbox import Slot

FILE_MODE = 0o600
PROGRAM_MODE = 0o700
DIR_MODE = 0o700


@dataclass(frozen=True)
class JobFile:
    """A file the worker puts in a job directory before any user code runs there."""

    name: str
    data: bytes
    executable: bool = False  # a compiled program copied into a judged test's directory


def prepare_slot(slot: Slot, disk_mb: int, inodes: int) -> bool:
    """The slot's home belongs to its user; `jobs/` inside it to root, so the user cannot plant
    anything there between jobs. Leftovers of a previous worker are removed. `jobs/` is a tmpfs
    of `disk_mb` and `inodes`, so filling the disk or the inode table stops at the job; its pages
    are charged to the memory cgroup of the job that writes them. Returns whether it is mounted."""
    slot.home.mkdir(mode=0o755, exist_ok=True)
    os.chown(slot.home, slot.uid, slot.gid)
    if os.path.ismount(slot.jobs_dir):
        subprocess.run(["umount", "--lazy", str(slot.jobs_dir)], check=False, capture_output=True)
    remove(slot.jobs_dir)
    slot.jobs_dir.mkdir(mode=0o755)
    options = f"size={disk_mb}m,nr_inodes={inodes},mode=0755,uid=0,gid=0,nosuid,nodev"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, slot.user, str(slot.jobs_dir)],
        check=False,
        capture_output=True,
    )
    os.chown(slot.jobs_dir, 0, 0)
    return mounted.returncode == 0


def release_slots(slots: list[Slot]) -> None:
    """On a clean shutdown: unmount each slot's job storage (nothing is left running on it)."""
    for slot in slots:
        if os.path.ismount(slot.jobs_dir):
            subprocess.run(["umount", str(slot.jobs_dir)], check=False, capture_output=True)


def create(slot: Slot, job_id: str, files: list[SourceFile]) -> Path:
    return create_with(slot, job_id, source_files(files))


def source_files(files: Sequence[SourceFile]) -> list[JobFile]:
    """The job's files as bytes (text as UTF-8, data files decoded from base64: lib.files)."""
    return [JobFile(f.name, file_bytes(f)) for f in files]


def create_with(slot: Slot, name: str, files: Sequence[JobFile]) -> Path:
    """A new directory `name` in the slot's job storage holding `files`, owned by the slot user."""
    path = slot.job_dir(name)
    remove(path)
    os.mkdir(path, DIR_MODE)
    dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for f in files:
            _write_new(dir_fd, f.name, f.data, slot, PROGRAM_MODE if f.executable else FILE_MODE)
        os.fchown(dir_fd, slot.uid, slot.gid)
    finally:
        os.close(dir_fd)
    return path


def read_artefact(job_dir: Path, name: str, max_bytes: int) -> bytes | None:
    """A file a finished stage left (the compiled program), read by root only once every process
    of that stage is dead: opened without following a link (at the directory and at the file),
    a regular file only, at most `max_bytes`. None if it is missing or any of that fails."""
    try:
        dir_fd = os.open(job_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd
        )
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        data = os.read(fd, max_bytes + 1)
        while len(data) <= max_bytes and (more := os.read(fd, max_bytes + 1 - len(data))):
            data += more
        return data if len(data) <= max_bytes else None
    finally:
        os.close(fd)


def _write_new(dir_fd: int, name: str, data: bytes, slot: Slot, mode: int = FILE_MODE) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, mode, dir_fd=dir_fd)
    try:
        _write_all(fd, data)
        os.fchown(fd, slot.uid, slot.gid)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def remove(path: Path) -> None:
    """Delete a directory tree without following any link in it; a missing path is fine.

    shutil.rmtree recurses once per level, so a program that nests thousands of directories
    makes it fail (RecursionError); GNU rm walks any depth with fts and never follows links."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.unlink(path)
        return
    try:
        shutil.rmtree(path)
    except (RecursionError, OSError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False)
    if os.path.lexists(path):
        raise SandboxError(f"cannot remove {path}")


def clean_up(slot: Slot, job_dir: Path, disk_mb: int, inodes: int) -> None:
    """After a job: remove its directory; if anything is left in the slot's storage (or the
    removal failed), mount the storage afresh so the next job starts with all of it."""
    try:
        remove(job_dir)
        if not any(slot.jobs_dir.iterdir()):
            return
    except SandboxError:
        pass
    if not prepare_slot(slot, disk_mb, inodes):
        raise SandboxError(f"cannot clean {slot.jobs_dir}")
