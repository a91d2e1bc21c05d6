"""The command line of one sandboxed stage. Pure: builds argv, runs nothing.

    cexec-enter UID GID CGROUP_PROCS... --          (root: join cgroups, become the slot user)
      firejail OPTIONS --                            (namespaces, seccomp, rlimits, private dirs)
        cexec-reaper FD -e PATH=... -e HOME=... --   (clean env, kill leftovers, report status)
          PROGRAM ARGS...

Firejail options follow its man page (firejail(1), version 0.9.72).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_LANG = "C.UTF-8"
SANDBOX_HOSTNAME = "sandbox"
# Added to Firejail's default seccomp blacklist: io_uring bypasses seccomp checks on the syscalls
# it performs, and userfaultfd is a common kernel-exploit primitive.
EXTRA_BLOCKED_SYSCALLS = ("io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd")
FIREJAIL_OVERHEAD_TASKS = 4  # firejail parent, its sandbox init, the reaper: not the user's


@dataclass(frozen=True)
class Slot:
    """One concurrency slot: its own unprivileged user, so limits and kills never cross jobs."""

    index: int
    user: str
    uid: int
    gid: int
    home: Path

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id


@dataclass(frozen=True)
class Natives:
    enter: str
    reaper: str
    stdio: str  # object file linked into C and C++ programs


@dataclass(frozen=True)
class StageLimits:
    wall_s: float
    cpu_s: float
    memory_mb: int
    processes: int
    open_files: int
    file_size_mb: int
    address_space: bool  # RLIMIT_AS as the memory limit, only when no cgroup can be had

    @property
    def cpu_rlimit(self) -> int:
        # The hard limit. Firejail sets soft = hard, so the kernel would SIGKILL at once; the
        # reaper lowers the soft limit one second (cpu_soft_s), so a CPU-bound program first gets
        # SIGXCPU, which the verdict reports as a timeout. Both are above the wall limit: the
        # worker's wall clock normally fires first, these catch many threads burning CPU at once.
        return math.ceil(self.cpu_s) + 2

    @property
    def cpu_soft_s(self) -> int:
        return self.cpu_rlimit - 1


def firejail_options(
    job_dir: Path, status_fd: int, limits: StageLimits, hidden: tuple[str, ...] = ()
) -> list[str]:
    """`hidden`: host paths the program must not even see (the service's own code and state);
    everything else keeps its Unix permissions, read-only for the slot user where root owns it."""
    options = [
        "--noprofile",
        "--quiet",
        "--net=none",
        f"--private={job_dir}",
        "--private-tmp",
        "--private-dev",
        "--caps.drop=all",
        "--nonewprivs",
        "--seccomp=" + ",".join(EXTRA_BLOCKED_SYSCALLS),
        "--seccomp.block-secondary",  # no 32-bit (int 0x80, x32) syscalls: a second, laxer ABI
        "--nogroups",
        "--ipc-namespace",
        f"--hostname={SANDBOX_HOSTNAME}",
        "--restrict-namespaces",
        "--protocol=unix",
        f"--keep-fd={status_fd}",
        f"--rlimit-cpu={limits.cpu_rlimit}",
        f"--rlimit-nproc={limits.processes + FIREJAIL_OVERHEAD_TASKS}",
        f"--rlimit-nofile={limits.open_files}",
        f"--rlimit-fsize={limits.file_size_mb * 1024 * 1024}",
    ]
    if limits.address_space:
        options.append(f"--rlimit-as={limits.memory_mb * 1024 * 1024}")
    options += [f"--blacklist={path}" for path in hidden]
    return options


def program_env(slot: Slot, extra: dict[str, str] | None = None) -> list[str]:
    """The whole environment the user's program sees (nothing of the worker's)."""
    # Firejail mounts the job directory at the user's home as /etc/passwd names it.
    env = {"PATH": SANDBOX_PATH, "HOME": str(slot.home), "LANG": SANDBOX_LANG}
    env.update(extra or {})
    return [f"{k}={v}" for k, v in env.items()]


def launcher_env() -> dict[str, str]:
    """The environment of cexec-enter and Firejail themselves; the reaper replaces it again."""
    return {"PATH": SANDBOX_PATH, "LANG": SANDBOX_LANG}


def stage_argv(
    *,
    natives: Natives,
    firejail: str,
    slot: Slot,
    cgroup_procs: list[str],
    job_dir: Path,
    status_fd: int,
    limits: StageLimits,
    program: list[str],
    extra_env: dict[str, str] | None = None,
    hidden: tuple[str, ...] = (),
) -> list[str]:
    reaper = [natives.reaper, str(status_fd)]
    for assignment in program_env(slot, extra_env):
        reaper += ["-e", assignment]
    return [
        natives.enter,
        str(slot.uid),
        str(slot.gid),
        *cgroup_procs,
        "--",
        firejail,
        *firejail_options(job_dir, status_fd, limits, hidden),
        "--",
        *reaper,
        "--",
        *program,
    ]
