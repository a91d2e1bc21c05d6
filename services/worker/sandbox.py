"""The command line of one sandboxed stage. Pure: builds argv, runs nothing.

    cexec-enter UID GID CGROUP_PROCS... --          (root: join cgroups, become the slot user)
      firejail OPTIONS --                            (namespaces, seccomp, rlimits, private dirs)
        cexec-reaper FD -e PATH=... -e HOME=... --   (clean env, kill leftovers, report status)
          PROGRAM ARGS...

Firejail options follow its man page (firejail(1), version 0.9.72).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_LANG = "C.UTF-8"
SANDBOX_HOSTNAME = "sandbox"
# Added to Firejail's default seccomp blacklist: io_uring bypasses seccomp checks on the syscalls
# it performs, and userfaultfd is a common kernel-exploit primitive.
EXTRA_BLOCKED_SYSCALLS = ("io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd")
FIREJAIL_OVERHEAD_TASKS = 4  # firejail parent, its sandbox init, the reaper: not the user's

# -- the host's file system as a sandbox sees it (docs/security.md, "What a program sees") -------
#
# Host services keep their sockets, state and data under these top-level directories (D-Bus's
# system bus in /run/dbus, databases' sockets in /run/postgresql or /var/run/mysqld, agents'
# control sockets, /var/lib/*): each becomes an empty tmpfs in every sandbox. Firejail mounts a
# tmpfs on the top directory of every `--whitelist` and binds in the listed paths that exist
# there (firejail(1), --whitelist: "A temporary file system is mounted on the top directory, and
# the whitelisted files are mount-binded inside ... The top directory can be all directories
# in / (except /proc and /sys)"). MASK_PLACEHOLDER is a name nothing may create: whitelisting it
# under a directory that has nothing else to show mounts the empty tmpfs all the same.
MASKED_DIRS = ("/run", "/var", "/opt", "/srv", "/mnt", "/media")
MASK_PLACEHOLDER = ".cexec-masked"
# What stays in them: Firejail's private, empty tmpfs on /run/lock and /var/tmp (a whitelist
# binds what the sandbox already has at that path, never the host's directory), and the Node 20
# that scripts/install.sh puts in /opt/cexec-node when Debian's is too old (absent: skipped).
KEPT_PATHS = ("/run/lock", "/var/tmp", "/opt/cexec-node")
# /etc is a tmpfs too, holding only these (relative to /etc; absent ones are skipped): user and
# group names (Firejail's filtered copies), the loader cache, the time zone, Firejail's own
# hostname and hosts, the alternatives links (`cc`, Rust's linker, is /etc/alternatives/cc), and
# the CA bundle (Debian's Node warns on every start without it). No shadow, no service configs.
ETC_FILES = (
    "passwd",
    "group",
    "nsswitch.conf",
    "ld.so.cache",
    "localtime",
    "hostname",
    "hosts",
    "alternatives",
    "ssl/certs/ca-certificates.crt",
)
# Host sockets Firejail itself brings into a sandbox, made inaccessible: --private-dev binds the
# host's /dev/log (syslog, journald) into the new /dev, and --private-tmp whitelists the X11,
# sndio and PulseAudio sockets of the host's /tmp into the new /tmp.
BLOCKED_HOST_SOCKETS = ("/dev/log", "/tmp/.X11-unix", "/tmp/sndio", "/tmp/pulse-*")
# No D-Bus, system or session (firejail(1): "The none policy disables access to the system
# DBus"; likewise the session bus): Firejail blacklists the buses' sockets itself as well.
DBUS_OFF = ("--dbus-system=none", "--dbus-user=none")


@dataclass(frozen=True)
class Slot:
    """One concurrency slot: its own unprivileged user, so limits and kills never cross jobs."""

    index: int
    user: str
    uid: int
    gid: int
    home: Path

    @property
    def key(self) -> str:
        """What the slot's locks and cgroups are named by: its UID, not its name, because two
        workers with /etc/passwd files of their own may give one UID two names (or one name two
        UIDs), and what the kernel shares between jobs (RLIMIT_NPROC, signals) goes by UID."""
        return f"uid-{self.uid}"

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
    stack_kb: int | None = None  # RLIMIT_STACK of the program, set by the reaper; None: inherited

    @property
    def cpu_rlimit(self) -> int:
        return cpu_hard_s(self.cpu_s)

    @property
    def cpu_soft_s(self) -> int:
        return cpu_soft_s(self.cpu_s)


def cpu_hard_s(cpu_s: float) -> int:
    """The hard CPU rlimit of a stage. Firejail sets soft = hard, so the kernel would SIGKILL at
    once; the reaper lowers the soft limit one second (cpu_soft_s), so a CPU-bound program first
    gets SIGXCPU, which the verdict reports as a timeout. Both are above the wall limit: the
    worker's wall clock normally fires first, these catch many threads burning CPU at once."""
    return math.ceil(cpu_s) + 2


def cpu_soft_s(cpu_s: float) -> int:
    return cpu_hard_s(cpu_s) - 1


def _masked_root(path: PurePosixPath) -> PurePosixPath | None:
    """The masked top-level directory `path` lies strictly below, if any."""
    if not path.is_absolute() or len(path.parts) < 3 or ".." in path.parts:
        return None
    top = PurePosixPath("/", path.parts[1])
    return top if str(top) in MASKED_DIRS else None


def visible_dirs(real_paths: Iterable[str]) -> tuple[str, ...]:
    """What to show (`visible`) so that tools installed under a masked directory still run: for
    each resolved path below one, its installation prefix, the parent of its `bin/`
    (/opt/node-20/bin/node -> /opt/node-20), else its own directory, else the file itself, never
    the whole masked directory. Paths elsewhere (/usr/bin/python3.11) need nothing."""
    found: list[str] = []
    for raw in real_paths:
        path = PurePosixPath(raw)
        top = _masked_root(path)
        if top is None:
            continue
        parent = path.parent
        prefix = parent.parent if parent.name == "bin" else parent
        shown = next(c for c in (prefix, parent, path) if len(c.parts) > len(top.parts))
        if str(shown) not in found:
            found.append(str(shown))
    return tuple(found)


def _covered(path: str, by: list[str]) -> bool:
    return any(path == other or path.startswith(other.rstrip("/") + "/") for other in by)


def host_view_options(visible: tuple[str, ...] = ()) -> list[str]:
    """The options that shape the host file system the program sees (see MASKED_DIRS): empty
    masked directories but for KEPT_PATHS and `visible` (from visible_dirs), a minimal /etc,
    Firejail's host sockets blocked, D-Bus off."""
    kept = list(KEPT_PATHS)
    for path in visible:
        if _masked_root(PurePosixPath(path)) is None:
            # A whitelist anywhere else would mount an empty tmpfs over a directory tools need.
            raise ValueError(f"visible path {path!r} is not below one of {MASKED_DIRS}")
        if not _covered(path, kept):
            kept.append(path)
    shown = [
        *(f"{d}/{MASK_PLACEHOLDER}" for d in MASKED_DIRS),
        *kept,
        *(f"/etc/{name}" for name in ETC_FILES),
    ]
    return [
        *DBUS_OFF,
        *(f"--whitelist={p}" for p in shown),
        *(f"--blacklist={p}" for p in BLOCKED_HOST_SOCKETS),
    ]


def firejail_options(
    job_dir: Path,
    status_fd: int,
    limits: StageLimits,
    hidden: tuple[str, ...] = (),
    visible: tuple[str, ...] = (),
) -> list[str]:
    """`hidden`: host paths the program must not even see (the service's own code and state),
    beyond what host_view_options already hides; `visible`: toolchain directories under a masked
    directory (visible_dirs). Everything else keeps its Unix permissions, read-only for the slot
    user where root owns it."""
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
        *host_view_options(visible),
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
    visible: tuple[str, ...] = (),
) -> list[str]:
    reaper = [natives.reaper, str(status_fd)]
    if limits.stack_kb:
        reaper += ["-s", str(limits.stack_kb * 1024)]
    for assignment in program_env(slot, extra_env):
        reaper += ["-e", assignment]
    return [
        natives.enter,
        str(slot.uid),
        str(slot.gid),
        *cgroup_procs,
        "--",
        firejail,
        *firejail_options(job_dir, status_fd, limits, hidden, visible),
        "--",
        *reaper,
        "--",
        *program,
    ]
