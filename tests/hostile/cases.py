"""The hostile corpus: programs that attack the sandbox, each with the outcome it must get.

Pure data, no stack: `test_hostile.py` runs every case end to end and adds the global checks (no
secret in any output, no process of the slot user left, host files intact, the worker alive). To
run the corpus against another stack (say, with code validation on), run the same `CASES` there.

Conventions of the programs:
- An attack that must fail prints `NAME: blocked (why)` when it does and `NAME: OPEN ...` when it
  gets through; `blocked(...)` checks that every named attempt was blocked and nothing was OPEN.
- A program that hits a cap it should hit prints `capped at N ...`; `capped_at(most)` checks N.
- Values known only at run time (the test Redis port, the repo path, the host's sockets) reach a
  program through `args`, templates filled from `Host` (e.g. "{redis_port}").
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.client import Outcome
from tests.conftest import ROOT

Check = Callable[[Outcome], None]

FAST: dict[str, Any] = {"time_s": 2, "memory_mb": 128}
SLOW: dict[str, Any] = {"time_s": 3, "memory_mb": 128}  # for programs that wait on a timeout
FLOOD_KB = 256
FLOOD: dict[str, Any] = {"time_s": 3, "memory_mb": 128, "output_kb": FLOOD_KB}
ALLOWED_ENV = frozenset({"PATH", "HOME", "LANG"})
MAX_TASKS = 64 + 4  # lib.config max_processes + sandbox.FIREJAIL_OVERHEAD_TASKS
MAX_OPEN_FILES = 256
MAX_FILE_MB = 64
JOB_INODES = 8192
MARKER = "hostile-marker"  # files planted by the persistence cases; the test looks for them


@dataclass(frozen=True)
class Host:
    """Run-time facts a case may need, filled into its `args` templates."""

    redis_port: int
    root: str  # the repository (tests.conftest.ROOT)
    unix_socket: str  # a world-connectable listening socket in the host's /tmp
    abstract_socket: str  # the name of a listening abstract unix socket, without the NUL
    # ":"-joined paths of the test's own world-connectable stream and datagram sockets where host
    # services keep theirs (/run, /var/lib, /home, /opt, …; X11 and PulseAudio in /tmp; /dev/log)
    ipc_sockets: str = ""
    ipc_datagrams: str = ""

    def fill(self, args: list[str]) -> list[str]:
        return [a.format(**dataclasses.asdict(self)) for a in args]


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    code: str
    expect_status: set[str] | None  # None: any status (the checks decide)
    limits: dict[str, Any] = field(default_factory=lambda: dict(FAST))
    forbidden: list[str] = field(default_factory=list)  # never in stdout, stderr or compile
    check: Check | None = None
    note: str = ""
    args: list[str] = field(default_factory=list)  # templates filled by Host.fill
    then: Case | None = None  # a second job, run right after this one on the same worker


# -- checks ------------------------------------------------------------------------------------


def _show(out: Outcome) -> str:
    return f"\n--- stdout\n{out.stdout[:3000]}\n--- stderr\n{out.stderr[:1500]}"


def all_of(*checks: Check) -> Check:
    def check(out: Outcome) -> None:
        for c in checks:
            c(out)

    return check


def blocked(*names: str) -> Check:
    """Every named attempt printed `NAME: blocked`, and no attempt printed OPEN."""

    def check(out: Outcome) -> None:
        lines = out.stdout.splitlines()
        opened = [line for line in lines if ": OPEN" in line]
        assert not opened, f"attacks got through: {opened}{_show(out)}"
        for name in names:
            assert any(line.startswith(f"{name}: blocked") for line in lines), (
                f"no '{name}: blocked' line{_show(out)}"
            )

    return check


def stdout_is(expected: str) -> Check:
    def check(out: Outcome) -> None:
        assert out.stdout == expected, f"expected {expected!r}{_show(out)}"

    return check


def stdout_has(*needles: str) -> Check:
    def check(out: Outcome) -> None:
        for needle in needles:
            assert needle in out.stdout, f"{needle!r} missing from stdout{_show(out)}"

    return check


def stdout_lacks(*needles: str) -> Check:
    def check(out: Outcome) -> None:
        for needle in needles:
            assert needle not in out.stdout, f"{needle!r} in stdout{_show(out)}"

    return check


def capped_at(most: int) -> Check:
    """The program printed `capped at N` with N <= most (it hit a limit, not its own goal)."""

    def check(out: Outcome) -> None:
        found = re.search(r"capped at (\d+)", out.stdout)
        assert found, f"the program was not capped{_show(out)}"
        assert int(found[1]) <= most, f"capped at {found[1]}, above {most}{_show(out)}"

    return check


def output_at_most(kb: int) -> Check:
    def check(out: Outcome) -> None:
        total = sum(len(out.text(s).encode()) for s in ("stdout", "stderr", "compile"))
        assert total <= kb * 1024, f"{total} bytes of output passed a {kb} KB limit"

    return check


def flooded(kb: int) -> Check:
    """An output flood was cut at the limit: close to it, never above it."""

    def check(out: Outcome) -> None:
        output_at_most(kb)(out)
        total = sum(len(out.text(s).encode()) for s in ("stdout", "stderr", "compile"))
        assert total >= kb * 1024 // 2, f"only {total} bytes arrived of a {kb} KB flood"

    return check


def exit_code(code: int | None) -> Check:
    def check(out: Outcome) -> None:
        assert out.complete["exit_code"] == code, f"exit code: {out.complete}"

    return check


def killed_by(signal: str) -> Check:
    def check(out: Outcome) -> None:
        assert out.complete["signal"] == signal, f"signal: {out.complete}{_show(out)}"

    return check


def message_has(text: str) -> Check:
    def check(out: Outcome) -> None:
        message = out.complete["message"] or ""
        assert text in message, f"message {message!r} lacks {text!r}"

    return check


def only_x(out: Outcome) -> None:
    assert out.stdout and set(out.stdout) == {"x"}, f"the drip arrived mangled{_show(out)}"


def args_echoed(expected: list[str]) -> Check:
    def check(out: Outcome) -> None:
        first = out.stdout.splitlines()[0] if out.stdout else ""
        assert first == json.dumps(expected), f"argv {first!r}, sent {expected!r}{_show(out)}"

    return check


def env_only(out: Outcome) -> None:
    """The program printed its environment as NAME=VALUE lines: only PATH, HOME and LANG."""
    names = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", out.stdout, re.MULTILINE))
    assert "PATH" in names, f"no environment printed{_show(out)}"
    assert names <= ALLOWED_ENV, f"extra variables {sorted(names - ALLOWED_ENV)}{_show(out)}"


def no_host_processes(out: Outcome) -> None:
    count = re.search(r"^pids: (\d+)$", out.stdout, re.MULTILINE)
    assert count, f"no pid count{_show(out)}"
    # Firejail's sandbox init, the reaper and the program itself.
    assert int(count[1]) <= 3, f"{count[1]} processes visible{_show(out)}"
    for needle in ("services.", "redis-server", "uvicorn", "/.venv/"):
        assert needle not in out.stdout, f"{needle!r}: a host process is visible{_show(out)}"


def no_other_jobs(out: Outcome) -> None:
    assert not re.search(r"[0-9a-f]{32}", out.stdout), f"a job id is visible{_show(out)}"
    homes = set(re.findall(r"/home/(cexec-sb\d+)", out.stdout))
    assert len(homes) <= 1, f"other slots' homes are visible: {sorted(homes)}{_show(out)}"


def not_root(out: Outcome) -> None:
    ids = dict(re.findall(r"\b(uid|euid|gid|egid) (\d+)", out.stdout))
    assert len(ids) == 4, f"ids not printed{_show(out)}"
    assert all(v != "0" for v in ids.values()), f"root inside the sandbox: {ids}{_show(out)}"
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert re.search(rf"^{cap}:\s+0+$", out.stdout, re.MULTILINE), f"{cap}{_show(out)}"
    assert re.search(r"^NoNewPrivs:\s+1$", out.stdout, re.MULTILINE), f"no_new_privs{_show(out)}"


def host_socket_blocked(out: Outcome) -> None:
    """The host's /tmp socket (the program's first argument) was out of reach."""
    lines = [line for line in out.stdout.splitlines() if line.startswith("unix /tmp/cexec-")]
    assert lines and all(": blocked" in line for line in lines), f"host socket{_show(out)}"


def ipc_blocked(out: Outcome) -> None:
    """Every host IPC endpoint the program tried (`ipc PATH: ...` lines, as many as the `targets N`
    or `swept ...: N sockets` it announced) was out of reach: not one connection, not one send."""
    announced = re.search(r"^(?:targets|swept \d+ entries:) (\d+)(?: sockets)?$", out.stdout, re.M)
    assert announced, f"the program did not say what it tried{_show(out)}"
    tried = [line for line in out.stdout.splitlines() if line.startswith("ipc ")]
    assert len(tried) == int(announced[1]), f"{len(tried)} of {announced[1]} tried{_show(out)}"
    reached = [line for line in tried if ": blocked" not in line]
    assert not reached, f"host IPC endpoints reached: {reached}{_show(out)}"


# What a program may see of the host outside its job directory (issue 7): the top-level
# directories where host services keep sockets and state are empty tmpfs mounts, but for
# Firejail's own /run/firejail, the private /run/lock and /var/tmp, /run/user/<uid> if the slot
# user has one, and install.sh's Node; /etc holds only what the toolchains need. /tmp is private
# and empty but for what Firejail whitelists from the host's (X11, sndio, PulseAudio), which must
# be closed.
VIEW_AT_MOST: dict[str, set[str]] = {
    "/run": {"firejail", "lock", "user"},
    "/run/lock": set(),
    "/var": {"tmp"},
    "/var/tmp": set(),
    "/opt": {"cexec-node"},
    "/srv": set(),
    "/mnt": set(),
    "/media": set(),
    "/etc": {
        "passwd",
        "group",
        "nsswitch.conf",
        "ld.so.cache",
        "localtime",
        "hostname",
        "hosts",
        "alternatives",
        "ssl",
    },
    "/etc/ssl": {"certs"},
    "/etc/ssl/certs": {"ca-certificates.crt"},
}
VIEW_ABSENT = ("/var/lib", "/var/run", "/var/cache", "/var/log", "/run/dbus", "/run/systemd")


def host_view_minimal(out: Outcome) -> None:
    """The program printed {path: its entries, or the error listing it} and the sockets and
    readable host entries it found (`PY_HOST_VIEW`): nothing beyond VIEW_AT_MOST."""
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
    assert line, f"no listing printed{_show(out)}"
    view = json.loads(line)
    for path, allowed in VIEW_AT_MOST.items():
        entries = view[path]
        if isinstance(entries, str):  # not listable: only a directory the host lacks may be so
            assert "FileNotFoundError" in entries and path in ("/srv", "/mnt", "/media"), (
                f"{path}: {entries}{_show(out)}"
            )
            continue
        extra = set(entries) - allowed
        assert not extra, f"{path} shows {sorted(extra)} of the host{_show(out)}"
    for path in VIEW_ABSENT:
        assert "FileNotFoundError" in str(view[path]), f"{path}: {view[path]}{_show(out)}"
    homes = view["/home"]
    assert isinstance(homes, list) and len(homes) == 1, f"/home: {homes}{_show(out)}"
    assert re.fullmatch(r"cexec-sb\d+", homes[0]), f"/home: {homes}{_show(out)}"
    assert view["open in /tmp"] == [], f"host entries open in /tmp{_show(out)}"
    assert view["sockets in /dev"] == [], f"sockets in /dev{_show(out)}"


def nothing_found(out: Outcome) -> None:
    assert "FOUND" not in out.stdout, f"a previous job left something{_show(out)}"
    assert "clean" in out.stdout, f"nothing was looked for{_show(out)}"


def created_at_most(most: int) -> Check:
    def check(out: Outcome) -> None:
        found = re.search(r"created (\d+) threads", out.stdout)
        assert found, f"no thread count{_show(out)}"
        assert int(found[1]) <= most, f"{found[1]} threads, above {most}{_show(out)}"

    return check


# -- shared program parts ----------------------------------------------------------------------

PY_ATTEMPT = '''\
import ctypes, os, sys

libc = ctypes.CDLL(None, use_errno=True)


def attempt(name, action):
    try:
        result = action()
    except Exception as exc:
        print(f"{name}: blocked ({type(exc).__name__}: {exc})", flush=True)
    else:
        print(f"{name}: OPEN {str(result)[:300]!r}", flush=True)


def checked(result):
    """A libc call's result; OSError from errno when it returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def write_file(path, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)

'''

C_REPORT = r"""#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static void report(const char *name, long r) {
    if (r < 0) printf("%s: blocked (%s)\n", name, strerror(errno));
    else printf("%s: OPEN (returned %ld)\n", name, r);
    fflush(stdout);
}
"""

PY_ENV = "import os\nfor k, v in os.environ.items():\n    print(f'{k}={v}')\n"

PY_HELLO = 'print("hello after")\n'


# -- python ------------------------------------------------------------------------------------

PY_FORK_BOMB = """\
import os, time
print("bombing", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""

PY_THREAD_BOMB = """\
import threading, time

def spin():
    while True:
        pass

print("bombing", flush=True)
while True:
    try:
        threading.Thread(target=spin, daemon=True).start()
    except RuntimeError:
        time.sleep(0.01)
"""

PY_MEMORY = """\
chunks = []
while True:
    chunks.append(bytearray(b"x" * (8 << 20)))  # written, so really resident
    print(len(chunks) * 8, "MB", flush=True)
"""

PY_SLEEP_FOREVER = 'import time\nprint("sleeping", flush=True)\ntime.sleep(10**6)\n'

PY_SILENT = 'import time\ntime.sleep(6)\nprint("done")\n'

PY_IGNORE_SIGNALS = """\
import signal
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
          signal.SIGUSR2, signal.SIGALRM, signal.SIGXCPU, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
print("ignoring signals", flush=True)
while True:
    pass
"""

PY_STDOUT_FLOOD = (
    'import sys\nline = "x" * 65535 + "\\n"\nwhile True:\n    sys.stdout.write(line)\n'
)
PY_STDERR_FLOOD = (
    'import sys\nline = "e" * 65535 + "\\n"\nwhile True:\n    sys.stderr.write(line)\n'
)

PY_BIG_FILE = """\
import os
written = 0
block = b"x" * (1 << 20)
fd = os.open("big.bin", os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while written < 10 << 30:
        written += os.write(fd, block)
    print("wrote 10 GB")
except OSError as exc:
    print(f"capped at {written >> 20} MB: {exc.strerror}")
"""

PY_MANY_FILES = """\
import os
n = 0
try:
    while n < 200_000:
        with open(f"f{n}", "w"):
            pass
        n += 1
    print("created 200000 files")
except OSError as exc:
    print(f"capped at {n} files: {exc.strerror}")
"""

PY_FILL_DIR = """\
import os
n = 0
block = b"x" * (1 << 20)
try:
    while True:
        with open(f"{DIR}/fill{n}", "wb") as f:
            for _ in range(32):
                f.write(block)
        n += 1
        print(f"{(n * 32)} MB in {DIR}", flush=True)
except OSError as exc:
    print(f"stopped: {exc.strerror}")
"""


def _py_fill(directory: str) -> str:
    return PY_FILL_DIR.replace("{DIR}", directory)


PY_SPARSE = (
    PY_ATTEMPT
    + """\
fd = os.open("sparse.bin", os.O_WRONLY | os.O_CREAT, 0o600)
attempt("truncate-1tb", lambda: (os.ftruncate(fd, 1 << 40), os.fstat(fd).st_size))
attempt("seek-write-1tb", lambda: (os.lseek(fd, (1 << 40) - 1, 0), os.write(fd, b"x")))
"""
)

PY_FD_EXHAUSTION = (
    PY_ATTEMPT
    + """\
import resource
attempt("raise-nofile", lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20)))
fds = []
try:
    while len(fds) < 1_000_000:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    print("opened a million files")
except OSError as exc:
    print(f"capped at {len(fds)} open files: {exc.strerror}")
"""
)

PY_NET_OUTSIDE = (
    PY_ATTEMPT
    + """\
import socket

def tcp(host, port):
    with socket.create_connection((host, port), timeout=1) as s:
        return s.getpeername()

def udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(b"hello", (host, port))
        return s.recvfrom(100)

attempt("tcp-192.0.2.1", lambda: tcp("192.0.2.1", 80))
attempt("tcp-203.0.113.1", lambda: tcp("203.0.113.1", 443))
attempt("udp-192.0.2.1", lambda: udp("192.0.2.1", 53))
attempt("raw-socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("inet6", lambda: tcp("2001:db8::1", 80))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
"""
)

PY_DNS = (
    PY_ATTEMPT
    + """\
import socket

def ask_server():
    # A DNS query for example.com, sent straight to a TEST-NET address.
    query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(query, ("192.0.2.53", 53))
        return s.recvfrom(512)

attempt("dns-example.com", lambda: socket.getaddrinfo("example.com", 80))
attempt("dns-invalid", lambda: socket.getaddrinfo("cexec-hostile.invalid", 80))
attempt("dns-direct", ask_server)
"""
)

PY_REDIS_TCP = (
    PY_ATTEMPT
    + """\
import socket
port = int(sys.argv[1])

def ping(host):
    with socket.create_connection((host, port), timeout=1) as s:
        s.sendall(b"PING\\r\\n")
        return s.recv(100)

attempt("redis-127.0.0.1", lambda: ping("127.0.0.1"))
attempt("redis-localhost", lambda: ping("localhost"))
attempt("redis-0.0.0.0", lambda: ping("0.0.0.0"))
attempt("redis-::1", lambda: ping("::1"))
"""
)

PY_UNIX_SOCKETS = (
    PY_ATTEMPT
    + """\
import socket

def connect(address):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(address)
        s.sendall(b"PING\\r\\n")
        return address

for path in ("/run/redis/redis-server.sock", "/var/run/redis/redis.sock",
             "/var/run/redis/redis-server.sock", "/tmp/redis.sock", sys.argv[1]):
    attempt(f"unix {path}", lambda p=path: connect(p))
attempt("abstract", lambda: connect("\\0" + sys.argv[2]))
"""
)

# Well-known host IPC endpoints (issue 7), tried besides the test's own: D-Bus's system bus and a
# root session bus, systemd's private, journal and notify sockets, databases, container and
# package managers, print and name services. Absent on most hosts; where present, out of reach.
WELL_KNOWN_STREAMS = (
    "/run/dbus/system_bus_socket",
    "/var/run/dbus/system_bus_socket",
    "/run/user/0/bus",
    "/run/systemd/private",
    "/run/systemd/journal/stdout",
    "/run/systemd/userdb/io.systemd.Multiplexer",
    "/run/postgresql/.s.PGSQL.5432",
    "/var/run/postgresql/.s.PGSQL.5432",
    "/run/mysqld/mysqld.sock",
    "/var/lib/mysql/mysql.sock",
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/snapd.socket",
    "/run/cups/cups.sock",
    "/run/avahi-daemon/socket",
    "/run/nscd/socket",
    "/run/uuidd/request",
    "/tmp/.X11-unix/X0",
)
WELL_KNOWN_DATAGRAMS = (
    "/run/systemd/journal/socket",
    "/run/systemd/journal/dev-log",
    "/run/systemd/notify",
)
IPC_ARGS = [
    "{ipc_sockets}:" + ":".join(WELL_KNOWN_STREAMS),
    "{ipc_datagrams}:" + ":".join(WELL_KNOWN_DATAGRAMS),
]

PY_HOST_IPC = (
    PY_ATTEMPT
    + """\
import socket

def stream(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(path)
        s.sendall(b"cexec-hostile: hello\\n")
        return "connected and sent"

def datagram(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        return s.sendto(b"<13>cexec-hostile: a spoofed log line", path)

streams = [p for p in sys.argv[1].split(":") if p]
datagrams = [p for p in sys.argv[2].split(":") if p]
print(f"targets {len(streams) + len(datagrams)}", flush=True)
for path in streams:
    attempt(f"ipc {path}", lambda p=path: stream(p))
for path in datagrams:
    attempt(f"ipc {path}", lambda p=path: datagram(p))
"""
)

PY_SOCKET_SWEEP = (
    PY_ATTEMPT
    + """\
import errno, socket, stat

SKIP = ("/usr", "/proc", "/sys")  # the toolchains (root's, read-only) and the kernel's own

def connect(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(path)
        except OSError as exc:
            if exc.errno != errno.EPROTOTYPE:
                raise
        else:
            s.sendall(b"cexec-hostile: sweep\\n")
            return "connected and sent"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        return s.sendto(b"cexec-hostile: sweep", path)

entries, found, todo = 0, [], ["/"]
while todo:
    try:
        listing = os.scandir(todo.pop())
    except OSError:
        continue
    with listing:
        for entry in listing:
            entries += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in SKIP:
                        todo.append(entry.path)
                elif not entry.is_file(follow_symlinks=False) and not entry.is_symlink():
                    if stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                        found.append(entry.path)
            except OSError:
                pass
print(f"swept {entries} entries: {len(found)} sockets", flush=True)
for path in found:
    attempt(f"ipc {path}", lambda p=path: connect(p))
"""
)

PY_HOST_VIEW = """\
import json, os, stat

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror}"

paths = ["/run", "/run/lock", "/var", "/var/tmp", "/opt", "/srv", "/mnt", "/media", "/tmp",
         "/etc", "/etc/ssl", "/etc/ssl/certs", "/home", "/var/lib", "/var/run", "/var/cache",
         "/var/log", "/run/dbus", "/run/systemd"]
view = {path: listing(path) for path in paths}
# What of the host Firejail lets through into /tmp (X11, sndio, PulseAudio) must stay closed.
view["open in /tmp"] = [name for name in os.listdir("/tmp")
                        if os.access(os.path.join("/tmp", name), os.R_OK)]
view["sockets in /dev"] = [name for name in os.listdir("/dev")
                           if stat.S_ISSOCK(os.lstat(os.path.join("/dev", name)).st_mode)
                           or (name == "log" and os.access("/dev/log", os.W_OK))]
print(json.dumps(view))
"""

PY_READ_SHADOW = (
    PY_ATTEMPT
    + """\
attempt("shadow", lambda: open("/etc/shadow").read())
attempt("gshadow", lambda: open("/etc/gshadow").read())
attempt("shadow-backup", lambda: open("/etc/shadow-").read())
"""
)

PY_READ_DOTENV = (
    PY_ATTEMPT
    + """\
root = sys.argv[1]
attempt("dotenv", lambda: open(os.path.join(root, ".env")).read())
attempt("dotenv-via-proc", lambda: open(f"/proc/self/root{root}/.env").read())
"""
)

PY_LIST_ROOT = (
    PY_ATTEMPT
    + """\
attempt("root-dir", lambda: os.listdir("/root"))
attempt("root-history", lambda: open("/root/.bash_history").read())
attempt("root-ssh", lambda: os.listdir("/root/.ssh"))
"""
)

PY_PROC1 = (
    PY_ATTEMPT
    + """\
ppid = os.getppid()
attempt("proc1-environ", lambda: open("/proc/1/environ", "rb").read())
attempt("proc1-root", lambda: os.listdir("/proc/1/root"))
attempt("proc1-mem", lambda: open("/proc/1/mem", "rb").read(1))
attempt("parent-environ", lambda: open(f"/proc/{ppid}/environ", "rb").read())
attempt("parent-fds", lambda: os.listdir(f"/proc/{ppid}/fd"))
"""
)

PY_WALK_PROC = """\
import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(f"pids: {len(pids)}")
for pid in pids:
    for what in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                data = f.read().replace(b"\\0", b" ").decode(errors="replace")
            print(f"{pid} {what}: {data[:4000]}")
        except OSError as exc:
            print(f"{pid} {what}: unreadable ({exc.strerror})")
"""

PY_LIST_HOMES = """\
import glob, os
for pattern in ("/home/*", "/home/*/jobs", "/home/*/jobs/*", "/home/cexec-sb*/jobs/*"):
    print(pattern, sorted(glob.glob(pattern)))
for d in sorted(glob.glob("/home/*")) + ["/home"]:
    try:
        print(d, sorted(os.listdir(d)))
    except OSError as exc:
        print(d, "unreadable", exc.strerror)
"""

PY_KILL_ALL = """\
import os, signal, time
print("killing everything", flush=True)
try:
    os.kill(-1, signal.SIGKILL)
    print("kill(-1) returned", flush=True)
except OSError as exc:
    print(f"kill(-1): {exc.strerror}", flush=True)
time.sleep(0.2)
print("still here", flush=True)
"""

PY_KILL_PARENT = (
    PY_ATTEMPT
    + """\
import signal, time
try:
    os.kill(1, signal.SIGKILL)
    time.sleep(0.2)
    # Had it died, its whole PID namespace, this program included, would have died with it.
    print("kill-init: blocked (init survived: its namespace drops the SIGKILL)", flush=True)
except OSError as exc:
    print(f"kill-init: blocked ({exc.strerror})", flush=True)
ppid = os.getppid()
os.kill(ppid, signal.SIGKILL)
time.sleep(0.2)
print(f"killed my parent {ppid}; my parent is now {os.getppid()}", flush=True)
"""
)

PY_PTRACE = (
    PY_ATTEMPT
    + """\
ppid = os.getppid()
libc.ptrace.restype = ctypes.c_long
attempt("ptrace-attach-parent", lambda: checked(libc.ptrace(16, ppid, None, None)))
attempt("ptrace-seize-parent", lambda: checked(libc.ptrace(0x4206, ppid, None, None)))
attempt("ptrace-attach-init", lambda: checked(libc.ptrace(16, 1, None, None)))
attempt("parent-mem", lambda: open(f"/proc/{ppid}/mem", "rb").read(1))
"""
)

PY_UNSHARE = (
    PY_ATTEMPT
    + """\
NEWNS, NEWUSER, NEWPID, NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
attempt("unshare-user", lambda: checked(libc.unshare(NEWUSER)))
attempt("unshare-user-mount", lambda: checked(libc.unshare(NEWUSER | NEWNS)))
attempt("unshare-mount", lambda: checked(libc.unshare(NEWNS)))
attempt("unshare-net", lambda: checked(libc.unshare(NEWNET)))
attempt("unshare-pid", lambda: checked(libc.unshare(NEWPID)))
"""
)

PY_MOUNT = (
    PY_ATTEMPT
    + """\
home = os.path.expanduser("~").encode()
attempt("mount-tmpfs", lambda: checked(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
attempt("mount-bind-etc", lambda: checked(libc.mount(b"/etc", b"/tmp", None, 4096, None)))
attempt("remount-root-rw", lambda: checked(libc.mount(None, b"/", None, 32, None)))
attempt("umount-home", lambda: checked(libc.umount2(home, 2)))
attempt("umount-proc", lambda: checked(libc.umount2(b"/proc", 2)))
"""
)

PY_SUDO = (
    PY_ATTEMPT
    + """\
import subprocess

def run(argv):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=3)
    if done.returncode != 0:
        raise OSError(f"exit {done.returncode}: {done.stderr[:200]!r}")
    return done.stdout

attempt("sudo", lambda: run(["sudo", "-n", "id", "-u"]))
attempt("su", lambda: run(["su", "-c", "id -u", "root"]))
attempt("ping", lambda: run(["ping", "-c", "1", "-W", "1", "127.0.0.1"]))
"""
)

PY_UID = (
    PY_ATTEMPT
    + """\
print(f"uid {os.getuid()} euid {os.geteuid()} gid {os.getgid()} egid {os.getegid()}")
print(f"groups {os.getgroups()}")
for line in open("/proc/self/status"):
    if line.startswith(("Cap", "NoNewPrivs", "Seccomp")):
        print(line.strip())
attempt("setuid-0", lambda: os.setuid(0))
attempt("setgid-0", lambda: os.setgid(0))
attempt("setresuid-0", lambda: checked(libc.setresuid(0, 0, 0)))
"""
)

PY_DAEMON = """\
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        for fd in (0, 1, 2):
            os.close(fd)
        while True:
            time.sleep(0.1)
    os._exit(0)
os.wait()
print("daemon started; main exits", flush=True)
"""

PY_KILL_REAPER_DAEMON = """\
import os, signal, time
if os.fork() == 0:
    os.setsid()
    while True:
        time.sleep(0.1)
os.kill(os.getppid(), signal.SIGKILL)
print("reaper killed, daemon left behind", flush=True)
"""

PY_PERSIST_PLANT = f"""\
import ctypes, os
MARK = "{MARKER}-persist"
for d in ("/tmp", "/dev/shm", "/var/tmp", "/run/lock", os.path.expanduser("~"), "/home"):
    try:
        with open(os.path.join(d, MARK), "w") as f:
            f.write("left by the previous job")
        print(f"{{d}}: planted")
    except OSError as exc:
        print(f"{{d}}: cannot plant ({{exc.strerror}})")
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x4853544C, 4096, 0o1000 | 0o666)  # IPC_CREAT
print("sysv shm:", "planted" if shm >= 0 else "cannot plant")
"""

PY_PERSIST_LOOK = f"""\
import ctypes, glob, os
MARK = "{MARKER}"
for d in ("/tmp", "/dev/shm", "/var/tmp", "/run/lock", os.path.expanduser("~"), "/home"):
    found = glob.glob(os.path.join(d, MARK + "*"))
    print(f"{{d}}: FOUND {{found}}" if found else f"{{d}}: clean")
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x4853544C, 0, 0)
print("sysv shm: FOUND" if shm >= 0 else "sysv shm: clean")
"""

PY_LINKS = (
    PY_ATTEMPT
    + """\
home = os.path.expanduser("~")
os.chdir(home)
links = {"passwd": "/etc/passwd", "shadow": "/etc/shadow", "hostname": "/etc/hostname",
         "etc": "/etc", "slash": "/", "up": "..", "jobs": home + "/.."}
for name, target in links.items():
    os.symlink(target, name)
    print(f"planted {name} -> {target}")
attempt("hardlink-hostname", lambda: os.link("/etc/hostname", "hardname"))
attempt("hardlink-passwd", lambda: os.link("/etc/passwd", "hardpasswd"))
attempt("write-through-passwd", lambda: open("passwd", "a").write("evil::0:0::/:/bin/sh\\n"))
attempt("chmod-through-shadow", lambda: os.chmod("shadow", 0o666))
attempt("chown-through-hostname", lambda: os.chown("hostname", os.getuid(), os.getgid()))
attempt("write-through-etc", lambda: open("etc/hostile", "w"))
os.mkfifo("fifo")
os.makedirs("locked/inner")
open("locked/inner/file", "w").close()
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
os.chmod(home, 0)
print("home locked", flush=True)
"""
)

PY_DEEP_DIRS = """\
import os
os.chdir(os.path.expanduser("~"))
depth = 0
try:
    while depth < 4000:
        os.mkdir("d")
        os.chdir("d")
        depth += 1
except OSError as exc:
    print(f"stopped: {exc.strerror}")
print(f"depth {depth}")
"""

PY_DEEP_FILL = """\
import os
os.chdir(os.path.expanduser("~"))
for _ in range(1200):
    os.mkdir("d")
    os.chdir("d")
n = 0
try:
    while True:
        with open(f"blob{n}", "wb") as f:
            for _ in range(32):
                f.write(b"x" * (1 << 20))
        n += 1
except OSError as exc:
    print(f"job storage full after {n * 32} MB: {exc.strerror}")
"""

PY_CGROUP_ESCAPE = (
    PY_ATTEMPT
    + """\
pid = str(os.getpid()).encode()
base = "/sys/fs/cgroup"
for controller in ("memory", "pids", "cpuacct", "unified", "systemd"):
    procs = f"{base}/{controller}/cgroup.procs"
    attempt(f"join-{controller}-root", lambda p=procs: write_file(p, pid))
attempt("join-v2-root", lambda: write_file(f"{base}/cgroup.procs", pid))
attempt("release-agent", lambda: write_file(f"{base}/memory/release_agent", b"/tmp/x"))
for line in open("/proc/self/cgroup").read().splitlines():
    _, controllers, path = line.split(":", 2)
    controllers = controllers.split(",")
    parent = os.path.dirname(path)
    if "memory" in controllers:
        attempt("raise-memory", lambda p=path: write_file(
            f"{base}/memory{p}/memory.limit_in_bytes", b"-1"))
        attempt("join-memory-parent", lambda p=parent: write_file(
            f"{base}/memory{p}/cgroup.procs", pid))
    if "pids" in controllers:
        attempt("raise-pids", lambda p=path: write_file(f"{base}/pids{p}/pids.max", b"max"))
        procs = f"{base}/pids{parent}/cgroup.procs"
        attempt("join-pids-parent", lambda p=procs: write_file(p, pid))
"""
)

PY_PROC_SYS = (
    PY_ATTEMPT
    + """\
def rewrite(path):
    # Writes back the value already there: harmless even if it got through.
    return write_file(path, open(path, "rb").read())

attempt("core-pattern", lambda: rewrite("/proc/sys/kernel/core_pattern"))
attempt("modprobe", lambda: rewrite("/proc/sys/kernel/modprobe"))
attempt("sysrq-trigger", lambda: write_file("/proc/sysrq-trigger", b"m"))
attempt("drop-caches", lambda: write_file("/proc/sys/vm/drop_caches", b"1"))
attempt("kcore", lambda: open("/proc/kcore", "rb").read(16))
attempt("kmsg", lambda: open("/dev/kmsg", "rb").read(16))
attempt("mem", lambda: open("/dev/mem", "rb").read(16))
attempt("disk", lambda: open("/dev/vda", "rb").read(16))
"""
)

PY_SETUID_HELPERS = (
    PY_ATTEMPT
    + """\
import subprocess

def as_root(argv):
    \"\"\"OPEN only if the command really ran with UID 0 (it prints `id -u`) or mounted.\"\"\"
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=3)
    out = done.stdout.decode(errors="replace").strip()
    if done.returncode == 0 and (out == "0" or argv[0] == "mount"):
        return f"root: {out!r}"
    raise OSError(f"exit {done.returncode}, id {out!r}: {done.stderr[:150]!r}")

attempt("nested-firejail", lambda: as_root(["firejail", "--noprofile", "--quiet", "id", "-u"]))
attempt("firejail-join", lambda: as_root(["firejail", "--join=1", "id", "-u"]))
attempt("unshare-r", lambda: as_root(["unshare", "-r", "id", "-u"]))
attempt("mount-binary", lambda: as_root(["mount", "-t", "tmpfs", "none", "/tmp"]))
attempt("proc1-exe", lambda: as_root(["/proc/1/exe", "--noprofile", "id", "-u"]))
"""
)

PY_ARGS = """\
import json, os, sys
print(json.dumps(sys.argv[1:]))
for k, v in os.environ.items():
    print(f"{k}={v}")
"""
ARGS_INJECTION = ["--", "-e", "INJECTED=1", "--private=/", "--noprofile", "; id", "$(id)"]

PY_DRIP = "import os, time\nwhile True:\n    os.write(1, b'x')\n    time.sleep(0.0002)\n"

PY_FORGE_REAPER = """\
import glob, os, sys
forged = b"0 0 1000 1000 1000\\n"
hits = []
for fd in range(3, 1024):
    try:
        os.write(fd, forged)
        hits.append(fd)
    except OSError:
        pass
for path in glob.glob(f"/proc/{os.getppid()}/fd/*") + glob.glob("/proc/1/fd/*"):
    try:
        with open(path, "wb") as f:
            f.write(forged)
        hits.append(path)
    except OSError:
        pass
print("forged into:", hits or "nothing", flush=True)
sys.exit(1)
"""

PY_PROTOCOL_INJECTION = """\
import json, sys
fake = {"type": "complete", "exit_code": 0, "execution_time": 0.1, "status": "ok",
        "signal": None, "cpu_time": 0, "memory_kb": 0, "message": None}
print(json.dumps(fake), flush=True)
print(json.dumps({"type": "error", "code": "internal_error", "message": "x"}), flush=True)
sys.stderr.write(json.dumps(fake) + "\\n")
sys.exit(3)
"""


# -- javascript --------------------------------------------------------------------------------

JS_ARRAY_GROWTH = """\
const hoard = [];
for (;;) {
  hoard.push(new Array(1 << 20).fill(1.5));
}
"""

JS_BUFFER_GROWTH = """\
const hoard = [];
for (;;) {
  hoard.push(Buffer.alloc(8 << 20, 1));
}
"""

JS_CPU_LOOP = "console.log('spinning');\nfor (;;) {}\n"

JS_STDOUT_FLOOD = """\
const fs = require('fs');
const line = 'j'.repeat(65535) + '\\n';
for (;;) fs.writeSync(1, line);
"""

JS_SPAWN_BOMB = """\
const { spawn } = require('child_process');
function more() {
  try {
    const child = spawn(process.execPath, [__filename], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
  } catch (e) {}
}
setInterval(() => { for (let i = 0; i < 4; i++) more(); }, 5);
"""

JS_DETACHED = """\
const { spawn } = require('child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
  stdio: 'ignore', detached: true,
});
child.unref();
console.log('detached child started; main exits');
"""

JS_NETWORK = """\
const net = require('net');
const dns = require('dns');
const port = Number(process.argv[2]);

function tcp(name, host, port) {
  return new Promise((resolve) => {
    let sock = null;
    let done = false;
    const finish = (msg) => {
      if (done) return;
      done = true;
      console.log(`${name}: ${msg}`);
      if (sock) sock.destroy();
      resolve();
    };
    try {
      sock = net.connect({ host, port });
    } catch (e) {
      finish(`blocked (${e.code || e.message})`);
      return;
    }
    sock.setTimeout(1000, () => finish('blocked (timeout)'));
    sock.on('connect', () => finish('OPEN'));
    sock.on('error', (e) => finish(`blocked (${e.code})`));
  });
}

(async () => {
  await tcp('redis', '127.0.0.1', port);
  await tcp('outside', '192.0.2.1', 80);
  await new Promise((resolve) => {
    dns.lookup('example.com', (err, address) => {
      console.log(err ? `dns: blocked (${err.code})` : `dns: OPEN ${address}`);
      resolve();
    });
  });
  try {
    await fetch('http://203.0.113.1/', { signal: AbortSignal.timeout(1000) });
    console.log('fetch: OPEN');
  } catch (e) {
    console.log(`fetch: blocked (${e.name})`);
  }
})();
"""

JS_READ_SECRETS = """\
const fs = require('fs');
const path = require('path');
const targets = [
  ['shadow', '/etc/shadow'],
  ['dotenv', path.join(process.argv[2], '.env')],
  ['proc1-environ', '/proc/1/environ'],
];
for (const [name, file] of targets) {
  try {
    console.log(`${name}: OPEN ${fs.readFileSync(file, 'utf8').slice(0, 300)}`);
  } catch (e) {
    console.log(`${name}: blocked (${e.code})`);
  }
}
try {
  console.log(`root: OPEN ${fs.readdirSync('/root')}`);
} catch (e) {
  console.log(`root: blocked (${e.code})`);
}
"""

JS_ENV = "for (const [k, v] of Object.entries(process.env)) console.log(`${k}=${v}`);\n"

JS_HOST_IPC = """\
const net = require('net');
// Node has no unix datagram sockets: the stream endpoints only.
const streams = process.argv[2].split(':').filter(Boolean);
console.log(`targets ${streams.length}`);

function attempt(path) {
  return new Promise((resolve) => {
    let done = false;
    const sock = net.connect({ path });
    const finish = (msg) => {
      if (done) return;
      done = true;
      console.log(`ipc ${path}: ${msg}`);
      sock.destroy();
      resolve();
    };
    sock.setTimeout(1000, () => finish('blocked (timeout)'));
    sock.on('connect', () => sock.write('cexec-hostile: hello\\n', () => finish('OPEN')));
    sock.on('error', (e) => finish(`blocked (${e.code})`));
  });
}

(async () => {
  for (const path of streams) await attempt(path);
})();
"""


# -- c -----------------------------------------------------------------------------------------

C_FORK_BOMB = r"""#include <stdio.h>
#include <unistd.h>
int main(void) {
    puts("bombing");
    for (;;) fork();
}
"""

C_SLEEPING_THREADS = r"""#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void *sleeper(void *arg) { pause(); return arg; }
int main(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 65536);
    int n = 0, err = 0;
    while (n < 100000) {
        pthread_t t;
        if ((err = pthread_create(&t, &attr, sleeper, NULL)) != 0) break;
        n++;
    }
    printf("created %d threads, then: %s\n", n, err ? strerror(err) : "no error");
    return 0;
}
"""

C_MALLOC_4GB = r"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    size_t chunk = 64u << 20, done = 0;
    while (done < (4ull << 30)) {
        char *p = malloc(chunk);
        if (!p) { printf("malloc failed at %zu MB\n", done >> 20); return 1; }
        memset(p, 1, chunk);
        done += chunk;
    }
    puts("got 4 GB");
    return 0;
}
"""

C_BUSY_CLOCK = r"""#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    puts("busy-waiting for an hour");
    do clock_gettime(CLOCK_MONOTONIC, &now); while (now.tv_sec - start.tv_sec < 3600);
    return 0;
}
"""

C_IGNORE_SIGNALS = r"""#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (int s = 1; s < 65; s++) signal(s, SIG_IGN);
    setsid();
    for (int i = 0; i < 3; i++) if (fork() == 0) break;
    puts("ignoring every signal");
    for (;;) {}
}
"""

C_STDOUT_FLOOD = r"""#include <stdio.h>
#include <string.h>
int main(void) {
    static char line[65536];
    memset(line, 'c', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (;;) fwrite(line, 1, sizeof line, stdout);
}
"""

C_BIG_FILE = r"""#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    int fd = open("big.bin", O_WRONLY | O_CREAT, 0600);
    long long written = 0;
    while (written < (10ll << 30)) {
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) { printf("capped at %lld MB\n", written >> 20); return 0; }
        written += n;
    }
    puts("wrote 10 GB");
    return 0;
}
"""

C_KEYCTL = (
    C_REPORT
    + r"""
int main(void) {
    report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 1));
    report("add_key", syscall(SYS_add_key, "user", "hostile", "x", 1, -3));
    report("request_key", syscall(SYS_request_key, "user", "hostile", NULL, -3));
    return 0;
}
"""
)

C_IO_URING = (
    C_REPORT
    + r"""
int main(void) {
    static unsigned char params[120]; /* struct io_uring_params, zeroed */
    report("io_uring_setup", syscall(425, 8, params));
    return 0;
}
"""
)

C_INT80 = (
    C_REPORT
    + r"""#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf jump;
static volatile sig_atomic_t caught;
static void on_signal(int sig) { caught = sig; siglongjmp(jump, 1); }

static long sys32(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

/* A 32-bit syscall that must be refused: a negative errno, or a signal (SIGSYS or SIGSEGV). */
static void try32(const char *name, long nr, long a, long b, long c) {
    caught = 0;
    if (sigsetjmp(jump, 1) == 0) {
        long r = sys32(nr, a, b, c);
        if (r < 0) printf("%s: blocked (%s)\n", name, strerror((int)-r));
        else printf("%s: OPEN (returned %ld)\n", name, r);
    } else {
        printf("%s: blocked (signal %d)\n", name, (int)caught);
    }
    fflush(stdout);
}

int main(void) {
    signal(SIGSYS, on_signal);
    signal(SIGSEGV, on_signal);
    signal(SIGILL, on_signal);
    /* MAP_32BIT: memory a 32-bit syscall can point at. */
    char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                     -1, 0);
    if (low == MAP_FAILED) { perror("mmap"); return 1; }
    printf("getpid32: %ld (getpid %d)\n", sys32(20, 0, 0, 0), (int)getpid());
    try32("unshare32-user", 310, 0x10000000, 0, 0);
    try32("keyctl32", 288, 0, -3, 1);
    try32("ptrace32-attach-parent", 26, 16, getppid(), 0);
    try32("io_uring_setup32", 425, 8, (long)low, 0);
    strcpy(low, "none");
    strcpy(low + 16, "/tmp");
    strcpy(low + 32, "tmpfs");
    try32("mount32", 21, (long)low, (long)(low + 16), (long)(low + 32));
    try32("setuid32-0", 213, 0, 0, 0);
    return 0;
}
"""
)

C_PTRACE = (
    C_REPORT
    + r"""#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
int main(void) {
    pid_t parent = getppid();
    report("ptrace-attach-parent", ptrace(PTRACE_ATTACH, parent, NULL, NULL));
    report("ptrace-seize-parent", ptrace(PTRACE_SEIZE, parent, NULL, NULL));
    char buf[16];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    report("process_vm_readv-parent", process_vm_readv(parent, &local, 1, &remote, 1, 0));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)parent);
    report("parent-mem", open(path, O_RDONLY));
    return 0;
}
"""
)

C_MISC_SYSCALLS = (
    C_REPORT
    + r"""#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

static long clone_newuser(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
}

int main(void) {
    report("setuid-0", setuid(0));
    report("chroot", chroot("/tmp"));
    report("unshare-user", unshare(CLONE_NEWUSER));
    report("unshare-mount", unshare(CLONE_NEWNS));
    report("clone-newuser", clone_newuser());
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    report("sethostname", sethostname("evil", 4));
    report("iopl", iopl(3));
    report("userfaultfd", syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */));
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.size = sizeof pe;
    pe.type = PERF_TYPE_SOFTWARE;
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    report("socket-inet", socket(AF_INET, SOCK_STREAM, 0));
    report("socket-netlink", socket(AF_NETLINK, SOCK_RAW, 0));
    report("socket-packet", socket(AF_PACKET, SOCK_RAW, 0));
    report("open-dev-mem", open("/dev/mem", O_RDONLY));
    return 0;
}
"""
)

C_DAEMON = r"""#define _GNU_SOURCE
#define MARKER "hostile-marker"
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            for (int s = 1; s < 65; s++) signal(s, SIG_IGN);
            for (;;) {
                FILE *f = fopen("/tmp/" MARKER "-alive", "w");
                if (f) fclose(f);
                usleep(50000);
            }
        }
        _exit(0);
    }
    puts("daemon started; main exits");
    return 0;
}
"""

C_ENV = (
    "#include <stdio.h>\nextern char **environ;\n"
    "int main(void) { for (char **e = environ; *e; e++) puts(*e); return 0; }\n"
)

C_HOST_IPC = r"""#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static void attempt(const char *path, int type) {
    static const char msg[] = "cexec-hostile: hello\n";
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    long r = -1;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd >= 0 && type == SOCK_STREAM) {
        r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
        if (r == 0) r = write(fd, msg, sizeof msg - 1);
    } else if (fd >= 0) {
        r = sendto(fd, msg, sizeof msg - 1, 0, (struct sockaddr *)&addr, sizeof addr);
    }
    if (r < 0) printf("ipc %s: blocked (%s)\n", path, strerror(errno));
    else printf("ipc %s: OPEN (%ld bytes)\n", path, r);
    fflush(stdout);
    if (fd >= 0) close(fd);
}

/* Every ':'-separated path of `list`: counted, or attempted with sockets of `type`. */
static int each(const char *list, int type, int run) {
    char *copy = strdup(list), *rest = copy, *path;
    int n = 0;
    while ((path = strsep(&rest, ":")) != NULL) {
        if (!*path) continue;
        n++;
        if (run) attempt(path, type);
    }
    free(copy);
    return n;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    printf("targets %d\n", each(argv[1], SOCK_STREAM, 0) + each(argv[2], SOCK_DGRAM, 0));
    each(argv[1], SOCK_STREAM, 1);
    each(argv[2], SOCK_DGRAM, 1);
    return 0;
}
"""

C_ORPHAN_BOMB = r"""#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
int main(void) {
    if (fork() == 0) {
        setsid();
        for (;;) fork();
    }
    usleep(300000);
    puts("fork bomb left running; main exits");
    return 0;
}
"""

C_HUGE_BINARY = (
    "char big[1 << 30] = {1}; /* external linkage: the 1 GB must be emitted */\n"
    "int main(int argc, char **argv) { (void)argv; return big[argc * 12345]; }\n"
)
C_INCBIN_SHADOW = '__asm__(".incbin \\"/etc/shadow\\"");\nint main(void) { return 0; }\n'

C_INCLUDE_SHADOW = '#include "/etc/shadow"\nint main(void) { return 0; }\n'
C_INCLUDE_DOTENV = f'#include "{ROOT / ".env"}"\nint main(void) {{ return 0; }}\n'
C_INCLUDE_ENVIRON = '#include "/proc/self/environ"\nint main(void) { return 0; }\n'
C_INCLUDE_ZERO = "#include </dev/zero>\nint main(void) { return 0; }\n"

C_MACRO_BOMB = (
    "#define a0 x\n"
    + "".join(f"#define a{i} a{i - 1} a{i - 1} a{i - 1} a{i - 1} a{i - 1}\n" for i in range(1, 14))
    + "int main(void) { a13; return 0; }\n"
)

C_ERROR_FLOOD = (
    "#define e0 { int *p = 1.5; }\n"
    + "".join(f"#define e{i} e{i - 1} e{i - 1} e{i - 1} e{i - 1}\n" for i in range(1, 9))
    + "int main(void) { e8 return 0; }\n"
)


# -- c++ ---------------------------------------------------------------------------------------

CPP_TEMPLATE_RECURSION = """\
template <int N> struct Fib {
    static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value;
};
int main() { return static_cast<int>(Fib<100000>::value); }
"""

CPP_TEMPLATE_BOMB = """\
template <unsigned N, unsigned long M> struct Tree {
    static constexpr unsigned long value =
        Tree<N - 1, 2 * M>::value + Tree<N - 1, 2 * M + 1>::value;
};
template <unsigned long M> struct Tree<0, M> { static constexpr unsigned long value = M; };
int main() { return static_cast<int>(Tree<40, 1>::value); }
"""

CPP_VECTOR_MEMORY = """\
#include <string>
#include <vector>
int main() {
    std::vector<std::string> hoard;
    for (;;) hoard.emplace_back(16 << 20, 'm');
}
"""

CPP_THREAD_BOMB = """\
#include <chrono>
#include <system_error>
#include <thread>
int main() {
    for (;;) {
        try {
            std::thread([] { for (;;) {} }).detach();
        } catch (const std::system_error &) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}
"""

CPP_STDERR_FLOOD = """\
#include <iostream>
#include <string>
int main() {
    const std::string line(65535, 'e');
    for (;;) std::cerr << line << '\\n';
}
"""

CPP_LINKS = """\
#include <filesystem>
#include <iostream>
#include <system_error>
namespace fs = std::filesystem;
static void report(const char *name, const std::error_code &ec) {
    if (ec) std::cout << name << ": blocked (" << ec.message() << ")\\n";
    else std::cout << name << ": OPEN\\n";
}
int main() {
    std::error_code ec;
    fs::create_symlink("/etc/shadow", "shadow", ec);
    fs::create_directory_symlink("/", "root", ec);
    fs::create_hard_link("/etc/passwd", "passwd", ec);
    report("hardlink-passwd", ec);
    ec.clear();
    fs::permissions("shadow", fs::perms::all, ec);
    report("chmod-through-shadow", ec);
    ec.clear();
    fs::remove_all("root/etc/hostname", ec);
    report("remove-through-root", ec);
    ec.clear();
    fs::resize_file("shadow", 0, ec);
    report("truncate-through-shadow", ec);
}
"""


# -- rust --------------------------------------------------------------------------------------

RS_INCLUDE_SHADOW = 'const S: &str = include_str!("/etc/shadow");\nfn main() { print!("{}", S); }\n'
RS_INCLUDE_ZERO = (
    'const Z: &[u8] = include_bytes!("/dev/zero");\nfn main() { println!("{}", Z.len()); }\n'
)
RS_ENV_SECRET = 'fn main() { println!("{}", env!("JWT_SECRET")); }\n'
RS_OPTION_ENV = """\
fn main() {
    println!("{:?}", option_env!("JWT_SECRET"));
    println!("{:?}", option_env!("REDIS_URL"));
    println!("{:?}", option_env!("API_KEYS"));
}
"""
RS_INCLUDE_ENVIRON = """\
const E: &[u8] = include_bytes!("/proc/self/environ");
fn main() {
    for kv in E.split(|b| *b == 0).filter(|kv| !kv.is_empty()) {
        println!("{}", String::from_utf8_lossy(kv));
    }
}
"""
RS_ENV = """\
fn main() {
    for (k, v) in std::env::vars_os() {
        println!("{}={}", k.to_string_lossy(), v.to_string_lossy());
    }
}
"""

RS_CONST_EVAL_FOREVER = """\
#![allow(long_running_const_eval)]
const X: u64 = {
    let mut i = 0u64;
    let mut s = 0u64;
    while i < u64::MAX {
        s = s.wrapping_add(i ^ (s >> 3));
        i += 1;
    }
    s
};
fn main() {
    println!("{}", X);
}
"""

RS_MEMORY = """\
fn main() {
    let mut hoard = Vec::new();
    loop {
        hoard.push(vec![1u8; 8 << 20]);
    }
}
"""

RS_SPAWN_BOMB = """\
use std::process::Command;
fn main() {
    println!("bombing");
    loop {
        let _ = Command::new("/proc/self/exe").spawn();
    }
}
"""

RS_THREAD_BOMB = """\
use std::{thread, time::Duration};
fn main() {
    loop {
        if thread::Builder::new().spawn(|| loop { std::hint::spin_loop() }).is_err() {
            thread::sleep(Duration::from_millis(10));
        }
    }
}
"""

RS_STDOUT_FLOOD = """\
use std::io::Write;
fn main() {
    let line = "r".repeat(65535) + "\\n";
    let mut out = std::io::stdout().lock();
    while out.write_all(line.as_bytes()).is_ok() {}
}
"""

RS_NET = """\
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;
fn report<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) {
    match r {
        Ok(_) => println!("{}: OPEN", name),
        Err(e) => println!("{}: blocked ({})", name, e),
    }
}
fn main() {
    let port: u16 = std::env::args().nth(1).unwrap().parse().unwrap();
    let t = Duration::from_secs(1);
    report("redis", TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), t));
    report("outside", TcpStream::connect_timeout(&([192, 0, 2, 1], 80).into(), t));
    report("dns", "example.com:80".to_socket_addrs());
    report("udp", UdpSocket::bind("0.0.0.0:0"));
}
"""

RS_READ_SECRETS = """\
use std::fs;
fn report(name: &str, r: std::io::Result<String>) {
    match r {
        Ok(s) => println!("{}: OPEN {}", name, &s[..s.len().min(300)]),
        Err(e) => println!("{}: blocked ({})", name, e),
    }
}
fn main() {
    let root = std::env::args().nth(1).unwrap();
    report("shadow", fs::read_to_string("/etc/shadow"));
    report("dotenv", fs::read_to_string(format!("{}/.env", root)));
    let environ = fs::read("/proc/1/environ").map(|b| String::from_utf8_lossy(&b).into());
    report("proc1-environ", environ);
    report("root", fs::read_dir("/root").map(|d| format!("{} entries", d.count())));
}
"""

RS_KILL_ALL = """\
extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
fn main() {
    let r = unsafe { kill(-1, 9) };
    println!("kill(-1) returned {}", r);
    std::thread::sleep(std::time::Duration::from_millis(200));
    println!("still here");
}
"""

RS_DAEMON = """\
extern "C" {
    fn fork() -> i32;
    fn setsid() -> i32;
}
fn main() {
    unsafe {
        if fork() == 0 {
            setsid();
            if fork() == 0 {
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            std::process::exit(0);
        }
    }
    println!("daemon started; main exits");
}
"""


# -- the corpus --------------------------------------------------------------------------------

CASES: list[Case] = [
    # ---- python: resources
    Case("py-fork-bomb", "python", PY_FORK_BOMB, {"timeout"}, check=stdout_has("bombing")),
    Case("py-thread-bomb", "python", PY_THREAD_BOMB, {"timeout"}),
    Case("py-memory-bytearrays", "python", PY_MEMORY, {"memory_limit"}),
    Case(
        "py-silent-6s",
        "python",
        PY_SILENT,
        {"ok"},
        {"time_s": 8, "memory_mb": 64},
        check=stdout_is("done\n"),
        note="no output for longer than the gateway's and worker's 5 s blocking reads",
    ),
    Case("py-sleep-forever", "python", PY_SLEEP_FOREVER, {"timeout"}, check=stdout_has("sleeping")),
    Case("py-ignore-sigterm", "python", PY_IGNORE_SIGNALS, {"timeout"}),
    Case(
        "py-stdout-flood",
        "python",
        PY_STDOUT_FLOOD,
        {"output_limit"},
        FLOOD,
        check=flooded(FLOOD_KB),
    ),
    Case(
        "py-stderr-flood",
        "python",
        PY_STDERR_FLOOD,
        {"output_limit"},
        FLOOD,
        check=flooded(FLOOD_KB),
    ),
    Case(
        "py-10gb-file",
        "python",
        PY_BIG_FILE,
        {"ok"},
        check=capped_at(MAX_FILE_MB),
        note="Python ignores SIGXFSZ, so RLIMIT_FSIZE shows as EFBIG",
    ),
    Case("py-200k-files", "python", PY_MANY_FILES, {"ok"}, check=capped_at(JOB_INODES)),
    Case(
        "py-fill-tmp",
        "python",
        _py_fill("/tmp"),
        {"memory_limit"},
        note="/tmp is a private tmpfs whose pages count against the job's memory",
    ),
    Case("py-fill-dev-shm", "python", _py_fill("/dev/shm"), {"memory_limit"}),
    Case(
        "py-sparse-1tb-file",
        "python",
        PY_SPARSE,
        {"ok"},
        check=blocked("truncate-1tb", "seek-write-1tb"),
    ),
    Case(
        "py-fd-exhaustion",
        "python",
        PY_FD_EXHAUSTION,
        {"ok"},
        check=all_of(blocked("raise-nofile"), capped_at(MAX_OPEN_FILES)),
    ),
    # ---- python: network
    Case(
        "py-net-outside",
        "python",
        PY_NET_OUTSIDE,
        {"ok"},
        SLOW,
        check=blocked(
            "tcp-192.0.2.1",
            "tcp-203.0.113.1",
            "udp-192.0.2.1",
            "raw-socket",
            "inet6",
            "netlink",
            "packet",
        ),
    ),
    Case(
        "py-dns",
        "python",
        PY_DNS,
        {"ok"},
        SLOW,
        check=blocked("dns-example.com", "dns-invalid", "dns-direct"),
    ),
    Case(
        "py-redis-tcp",
        "python",
        PY_REDIS_TCP,
        {"ok"},
        SLOW,
        args=["{redis_port}"],
        check=blocked("redis-127.0.0.1", "redis-localhost", "redis-0.0.0.0", "redis-::1"),
        forbidden=["PONG"],
    ),
    Case(
        "py-unix-sockets",
        "python",
        PY_UNIX_SOCKETS,
        {"ok"},
        SLOW,
        args=["{unix_socket}", "{abstract_socket}"],
        check=all_of(
            blocked(
                "unix /run/redis/redis-server.sock",
                "unix /var/run/redis/redis.sock",
                "unix /var/run/redis/redis-server.sock",
                "unix /tmp/redis.sock",
                "abstract",
            ),
            host_socket_blocked,
        ),
        note="the test listens on {unix_socket} (host /tmp) and on the abstract name",
    ),
    # ---- host IPC endpoints (issue 7): unix sockets on the file system are not the network
    Case(
        "py-host-ipc-sockets",
        "python",
        PY_HOST_IPC,
        {"ok"},
        SLOW,
        args=IPC_ARGS,
        check=ipc_blocked,
        note="the test listens on world-connectable sockets of its own in /run, /var/lib, "
        "/var/tmp, /home, /opt, /srv, /mnt, /media, the X11/PulseAudio/sndio places of /tmp and "
        "/dev/log; no connection and no datagram may reach one",
    ),
    Case(
        "py-socket-sweep",
        "python",
        PY_SOCKET_SWEEP,
        {"ok"},
        {"time_s": 10, "memory_mb": 128},
        check=ipc_blocked,
        note="every socket file anywhere but /usr, /proc and /sys: connect or send to each",
    ),
    Case(
        "py-host-view",
        "python",
        PY_HOST_VIEW,
        {"ok"},
        check=host_view_minimal,
        note="what the program sees: empty /run, /var, /opt, /srv, /mnt, /media, a minimal /etc",
    ),
    # ---- python: secrets
    Case(
        "py-read-shadow",
        "python",
        PY_READ_SHADOW,
        {"ok"},
        check=blocked("shadow", "gshadow", "shadow-backup"),
    ),
    Case(
        "py-read-dotenv",
        "python",
        PY_READ_DOTENV,
        {"ok"},
        args=["{root}"],
        check=blocked("dotenv", "dotenv-via-proc"),
    ),
    Case(
        "py-list-root",
        "python",
        PY_LIST_ROOT,
        {"ok"},
        check=blocked("root-dir", "root-history", "root-ssh"),
    ),
    Case(
        "py-proc1-environ",
        "python",
        PY_PROC1,
        {"ok"},
        check=blocked("proc1-environ", "proc1-root", "proc1-mem", "parent-environ", "parent-fds"),
    ),
    Case("py-walk-proc", "python", PY_WALK_PROC, {"ok"}, check=no_host_processes),
    Case("py-list-homes", "python", PY_LIST_HOMES, {"ok"}, check=no_other_jobs),
    Case("py-environment", "python", PY_ENV, {"ok"}, check=env_only),
    # ---- python: privilege
    Case(
        "py-kill-all",
        "python",
        PY_KILL_ALL,
        {"runtime_error"},
        check=stdout_has("still here"),
        note="kill(-1) reaches the reaper (same user, same PID namespace) and nothing outside; "
        "the job then has no exit status: runtime_error",
    ),
    Case(
        "py-kill-parent",
        "python",
        PY_KILL_PARENT,
        {"runtime_error"},
        check=all_of(blocked("kill-init"), stdout_has("killed my parent")),
        note="the parent is the reaper; Firejail's init (pid 1, root) is out of reach",
    ),
    Case(
        "py-ptrace",
        "python",
        PY_PTRACE,
        {"ok"},
        check=blocked(
            "ptrace-attach-parent", "ptrace-seize-parent", "ptrace-attach-init", "parent-mem"
        ),
    ),
    Case(
        "py-unshare",
        "python",
        PY_UNSHARE,
        {"ok"},
        check=blocked(
            "unshare-user", "unshare-user-mount", "unshare-mount", "unshare-net", "unshare-pid"
        ),
    ),
    Case(
        "py-mount",
        "python",
        PY_MOUNT,
        {"ok"},
        check=blocked(
            "mount-tmpfs", "mount-bind-etc", "remount-root-rw", "umount-home", "umount-proc"
        ),
    ),
    Case(
        "py-sudo-su-ping",
        "python",
        PY_SUDO,
        {"ok"},
        {"time_s": 8, "memory_mb": 128},
        check=blocked("sudo", "su", "ping"),
    ),
    Case(
        "py-uid",
        "python",
        PY_UID,
        {"ok"},
        check=all_of(not_root, blocked("setuid-0", "setgid-0", "setresuid-0")),
    ),
    Case(
        "py-cgroup-escape",
        "python",
        PY_CGROUP_ESCAPE,
        {"ok"},
        check=blocked(
            "join-memory-root",
            "join-pids-root",
            "release-agent",
            "raise-memory",
            "join-memory-parent",
            "raise-pids",
            "join-pids-parent",
        ),
    ),
    Case(
        "py-proc-sys-writes",
        "python",
        PY_PROC_SYS,
        {"ok"},
        check=blocked(
            "core-pattern",
            "modprobe",
            "sysrq-trigger",
            "drop-caches",
            "kcore",
            "kmsg",
            "mem",
            "disk",
        ),
    ),
    Case(
        "py-setuid-helpers",
        "python",
        PY_SETUID_HELPERS,
        {"ok"},
        {"time_s": 8, "memory_mb": 128},
        check=blocked("nested-firejail", "firejail-join", "unshare-r", "mount-binary", "proc1-exe"),
        note="no_new_privs makes every setuid binary, Firejail included, run unprivileged",
    ),
    Case(
        "py-args-injection",
        "python",
        PY_ARGS,
        {"ok"},
        args=ARGS_INJECTION,
        check=all_of(args_echoed(ARGS_INJECTION), env_only),
        note="arguments that look like Firejail or reaper options reach the program as data",
    ),
    Case(
        "py-stdout-drip",
        "python",
        PY_DRIP,
        {"timeout"},
        {"time_s": 2, "memory_mb": 64, "output_kb": 64},
        check=only_x,
        note="one byte per write: thousands of events, all in order",
    ),
    Case(
        "py-forge-reaper-status",
        "python",
        PY_FORGE_REAPER,
        {"runtime_error"},
        check=all_of(exit_code(1), stdout_has("forged into: nothing")),
        note="a forged status line would turn this exit 1 into ok",
    ),
    Case(
        "py-protocol-injection",
        "python",
        PY_PROTOCOL_INJECTION,
        {"runtime_error"},
        check=exit_code(3),
        note="JSON that looks like our messages is only ever data of an output event",
    ),
    # ---- python: persistence and the host side
    Case(
        "py-double-fork-daemon",
        "python",
        PY_DAEMON,
        {"ok"},
        check=stdout_has("daemon started"),
        note="the test checks that no process of the slot user is left",
    ),
    Case(
        "py-kill-reaper-leave-daemon",
        "python",
        PY_KILL_REAPER_DAEMON,
        {"timeout", "runtime_error"},
        check=stdout_has("reaper killed"),
        note="with the reaper gone, Firejail waits for the daemon: the wall clock (timeout) or a "
        "quicker end of a reaperless stage (runtime_error) must end it, never ok",
    ),
    Case(
        "py-persist-tmp-shm",
        "python",
        PY_PERSIST_PLANT,
        {"ok"},
        check=stdout_has("/tmp: planted", "/dev/shm: planted"),
        then=Case("py-persist-look", "python", PY_PERSIST_LOOK, {"ok"}, check=nothing_found),
    ),
    Case(
        "py-links-to-host",
        "python",
        PY_LINKS,
        {"ok"},
        check=all_of(
            blocked(
                "hardlink-hostname",
                "hardlink-passwd",
                "write-through-passwd",
                "chmod-through-shadow",
                "chown-through-hostname",
                "write-through-etc",
            ),
            stdout_has("home locked"),
        ),
        note="the test compares the host files' content and owner before and after",
        then=Case("py-hello-after-links", "python", PY_HELLO, {"ok"}, check=stdout_has("hello")),
    ),
    # ---- javascript
    Case("js-array-growth", "javascript", JS_ARRAY_GROWTH, {"memory_limit"}),
    Case("js-buffer-growth", "javascript", JS_BUFFER_GROWTH, {"memory_limit"}),
    Case("js-cpu-loop", "javascript", JS_CPU_LOOP, {"timeout"}),
    Case(
        "js-stdout-flood",
        "javascript",
        JS_STDOUT_FLOOD,
        {"output_limit"},
        FLOOD,
        check=flooded(FLOOD_KB),
    ),
    Case(
        "js-spawn-bomb",
        "javascript",
        JS_SPAWN_BOMB,
        {"timeout", "memory_limit"},
        note="each node is ~40 MB: the memory limit or the clock ends it, whichever comes first",
    ),
    Case(
        "js-detached-child",
        "javascript",
        JS_DETACHED,
        {"ok"},
        check=stdout_has("detached child started"),
    ),
    Case(
        "js-network",
        "javascript",
        JS_NETWORK,
        {"ok"},
        {"time_s": 5, "memory_mb": 128},
        args=["{redis_port}"],
        check=blocked("redis", "outside", "dns", "fetch"),
    ),
    Case(
        "js-read-secrets",
        "javascript",
        JS_READ_SECRETS,
        {"ok"},
        args=["{root}"],
        check=blocked("shadow", "dotenv", "proc1-environ", "root"),
    ),
    Case("js-environment", "javascript", JS_ENV, {"ok"}, check=env_only),
    Case(
        "js-host-ipc-sockets",
        "javascript",
        JS_HOST_IPC,
        {"ok"},
        {"time_s": 5, "memory_mb": 128},
        args=IPC_ARGS,
        check=ipc_blocked,
        note="as py-host-ipc-sockets, stream sockets only (Node has no unix datagrams)",
    ),
    # ---- c: resources
    Case("c-fork-bomb", "c", C_FORK_BOMB, {"timeout"}),
    Case(
        "c-100k-sleeping-threads",
        "c",
        C_SLEEPING_THREADS,
        {"ok"},
        check=created_at_most(MAX_TASKS),
    ),
    Case("c-malloc-memset-4gb", "c", C_MALLOC_4GB, {"memory_limit"}),
    Case("c-busy-wait-clock", "c", C_BUSY_CLOCK, {"timeout"}),
    Case("c-ignore-all-signals", "c", C_IGNORE_SIGNALS, {"timeout"}),
    Case("c-stdout-flood", "c", C_STDOUT_FLOOD, {"output_limit"}, FLOOD, check=flooded(FLOOD_KB)),
    Case(
        "c-10gb-file",
        "c",
        C_BIG_FILE,
        {"runtime_error"},
        check=killed_by("SIGXFSZ"),
        note="RLIMIT_FSIZE: SIGXFSZ at 64 MB",
    ),
    # ---- c: privilege
    Case("c-keyctl", "c", C_KEYCTL, {"ok"}, check=blocked("keyctl", "add_key", "request_key")),
    Case("c-io-uring", "c", C_IO_URING, {"ok"}, check=blocked("io_uring_setup")),
    Case(
        "c-int80-32bit-syscalls",
        "c",
        C_INT80,
        {"ok"},
        check=blocked(
            "unshare32-user",
            "keyctl32",
            "ptrace32-attach-parent",
            "io_uring_setup32",
            "mount32",
            "setuid32-0",
        ),
        note="the i386 syscall table must be filtered as strictly as the x86-64 one",
    ),
    Case(
        "c-ptrace",
        "c",
        C_PTRACE,
        {"ok"},
        check=blocked(
            "ptrace-attach-parent", "ptrace-seize-parent", "process_vm_readv-parent", "parent-mem"
        ),
    ),
    Case(
        "c-misc-syscalls",
        "c",
        C_MISC_SYSCALLS,
        {"ok"},
        check=blocked(
            "setuid-0",
            "chroot",
            "unshare-user",
            "unshare-mount",
            "clone-newuser",
            "mount",
            "sethostname",
            "iopl",
            "userfaultfd",
            "bpf",
            "perf_event_open",
            "socket-inet",
            "socket-netlink",
            "socket-packet",
            "open-dev-mem",
        ),
    ),
    Case(
        "c-double-fork-daemon",
        "c",
        C_DAEMON,
        {"ok"},
        check=stdout_has("daemon started"),
        note="the daemon ignores every catchable signal",
    ),
    Case(
        "c-orphaned-fork-bomb",
        "c",
        C_ORPHAN_BOMB,
        {"ok"},
        check=stdout_has("main exits"),
        note="the reaper must kill a fork bomb that outlives main",
    ),
    Case("c-environment", "c", C_ENV, {"ok"}, check=env_only),
    Case(
        "c-host-ipc-sockets",
        "c",
        C_HOST_IPC,
        {"ok"},
        SLOW,
        args=IPC_ARGS,
        check=ipc_blocked,
        note="as py-host-ipc-sockets: connect() and write(), sendto() for the datagram ones",
    ),
    # ---- c: compile time
    Case("c-include-etc-shadow", "c", C_INCLUDE_SHADOW, {"compile_error"}),
    Case("c-include-dotenv", "c", C_INCLUDE_DOTENV, {"compile_error"}),
    Case(
        "c-include-proc-environ",
        "c",
        C_INCLUDE_ENVIRON,
        {"ok"},
        note="/proc files have size 0, so GCC includes nothing; whatever it shows of the "
        "compiler's environment must hold no secret",
    ),
    Case("c-include-dev-zero", "c", C_INCLUDE_ZERO, {"compile_error"}),
    Case("c-incbin-etc-shadow", "c", C_INCBIN_SHADOW, {"compile_error"}),
    Case(
        "c-1gb-binary",
        "c",
        C_HUGE_BINARY,
        {"compile_error"},
        note="a 1 GB .data section: the file size limit stops the assembler",
    ),
    Case("c-macro-bomb", "c", C_MACRO_BOMB, {"compile_error"}),
    Case(
        "c-compiler-error-flood",
        "c",
        C_ERROR_FLOOD,
        {"compile_error"},
        FLOOD,
        check=output_at_most(FLOOD_KB),
    ),
    # ---- c++
    Case("cpp-template-recursion", "cpp", CPP_TEMPLATE_RECURSION, {"compile_error"}),
    Case(
        "cpp-template-bomb",
        "cpp",
        CPP_TEMPLATE_BOMB,
        {"compile_error"},
        note="2^40 distinct instantiations: the compile memory or time limit ends it",
    ),
    Case("cpp-vector-memory", "cpp", CPP_VECTOR_MEMORY, {"memory_limit"}),
    Case("cpp-thread-bomb", "cpp", CPP_THREAD_BOMB, {"timeout"}),
    Case(
        "cpp-stderr-flood",
        "cpp",
        CPP_STDERR_FLOOD,
        {"output_limit"},
        FLOOD,
        check=flooded(FLOOD_KB),
    ),
    Case(
        "cpp-links-to-host",
        "cpp",
        CPP_LINKS,
        {"ok"},
        check=blocked(
            "hardlink-passwd",
            "chmod-through-shadow",
            "remove-through-root",
            "truncate-through-shadow",
        ),
    ),
    # ---- rust
    Case("rs-include-etc-shadow", "rust", RS_INCLUDE_SHADOW, {"compile_error"}),
    Case("rs-include-dev-zero", "rust", RS_INCLUDE_ZERO, {"compile_error"}),
    Case(
        "rs-env-secret",
        "rust",
        RS_ENV_SECRET,
        {"compile_error"},
        note="env! reads the compiler's environment at compile time",
    ),
    Case(
        "rs-option-env",
        "rust",
        RS_OPTION_ENV,
        {"ok"},
        check=stdout_is("None\nNone\nNone\n"),
    ),
    Case("rs-include-proc-environ", "rust", RS_INCLUDE_ENVIRON, {"ok"}, check=env_only),
    Case("rs-environment", "rust", RS_ENV, {"ok"}, check=env_only),
    Case(
        "rs-const-eval-forever",
        "rust",
        RS_CONST_EVAL_FOREVER,
        {"compile_error"},
        check=message_has("longer than"),
        note="an endless compile-time loop: only the 30 s compile limit stops it",
    ),
    Case("rs-memory", "rust", RS_MEMORY, {"memory_limit"}),
    Case("rs-spawn-bomb", "rust", RS_SPAWN_BOMB, {"timeout"}),
    Case("rs-thread-bomb", "rust", RS_THREAD_BOMB, {"timeout"}),
    Case(
        "rs-stdout-flood", "rust", RS_STDOUT_FLOOD, {"output_limit"}, FLOOD, check=flooded(FLOOD_KB)
    ),
    Case(
        "rs-network",
        "rust",
        RS_NET,
        {"ok"},
        SLOW,
        args=["{redis_port}"],
        check=blocked("redis", "outside", "dns", "udp"),
    ),
    Case(
        "rs-read-secrets",
        "rust",
        RS_READ_SECRETS,
        {"ok"},
        args=["{root}"],
        check=blocked("shadow", "dotenv", "proc1-environ", "root"),
    ),
    Case(
        "rs-kill-all",
        "rust",
        RS_KILL_ALL,
        {"runtime_error"},
        check=stdout_has("still here"),
        note="as py-kill-all",
    ),
    Case("rs-double-fork-daemon", "rust", RS_DAEMON, {"ok"}, check=stdout_has("daemon started")),
    # ---- the worker's cleanup, last: a failure here may leave the slot unusable for later jobs
    Case(
        "py-deep-dirs",
        "python",
        PY_DEEP_DIRS,
        {"ok"},
        check=stdout_has("depth 4000"),
        note="the worker must still clean up a 4000-deep tree and send `complete`",
        then=Case("py-hello-after-deep", "python", PY_HELLO, {"ok"}, check=stdout_has("hello")),
    ),
    Case(
        "py-deep-dirs-fill-slot",
        "python",
        PY_DEEP_FILL,
        {"ok"},
        {"time_s": 3, "memory_mb": 256},
        check=stdout_has("job storage full"),
        note="a tree too deep to remove, holding the whole job tmpfs: the next job must still run",
        then=Case("py-hello-after-fill", "python", PY_HELLO, {"ok"}, check=stdout_has("hello")),
    ),
]


LANGUAGES = ("python", "javascript", "c", "cpp", "rust")
HELLO = {
    "python": 'print("hello, world")\n',
    "javascript": 'console.log("hello, world");\n',
    "c": '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "hello, world" << std::endl; }\n',
    "rust": 'fn main() { println!("hello, world"); }\n',
}
