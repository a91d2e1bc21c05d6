"""The hostile corpus, end to end: gateway → Redis → worker → Firejail, code validation off, so
the sandbox alone stands between each program and the host.

Each case must get its expected status and pass its own check; after each job, global checks:
- no secret of the stack (JWT secret, API key, Redis URL, `NAME=` of the worker's variables) and
  no /etc/shadow entry in any output;
- no process of the worker's slot user is left 2 s after `complete`, and its job directory is gone;
- the host files and directories the programs aim at are unchanged (owner, mode, size, content);
- nobody connected to the host's listening sockets; no planted marker file on the host;
- the worker and the gateway are still running.
At the end: the worker is alive, its memory bounded, and hello world runs in every language.

To run the corpus against another stack: `with watching(stack, redis_port) as w:` and then
`await exercise(w, case)` for each case of `CASES`; it returns the failures found, as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import pwd
import re
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.client import Outcome, run
from tests.conftest import API_KEY, JWT_SECRET, ROOT, RedisServer, Stack, start_stack
from tests.hostile.cases import CASES, HELLO, LANGUAGES, MARKER, Case, Host

pytestmark = pytest.mark.e2e

EVENT_TIMEOUT_S = 75  # the longest quiet spell: a 30 s compile limit, then the run
LEFTOVER_GRACE_S = 2.0
CLEANUP_GRACE_S = 10.0  # the worker removes a job's directory after `complete`, off its loop
COMPILE_TIMEOUT_S = 30  # lib.config compilation_timeout
TIMEOUT_SLACK_S = 1.5  # a timed-out job's reported time may exceed its limit by this much
MAX_WORKER_RSS_MB = 300
LOCK_DIR = "/run/cexec/"
LOG_TAIL_LINES = 25

# Names of the worker's and gateway's variables as they appear in an environ dump or a .env.
SECRET_NAMES = ("JWT_SECRET=", "REDIS_URL=", "API_KEYS=", "API_KEY=", "KEY_PREFIX=")
SHADOW_ENTRY = re.compile(r"\b[a-z_][\w.-]*:(?:[*!]+|\$[\w./$]+):\d*:\d*:\d*:\d*:")
# Compared by content (a hash), by metadata (secrets are never read), or by owner and mode only
# (files of the repository, which its developers may edit while the suite runs).
HASHED_FILES = ("/etc/passwd", "/etc/group", "/etc/hostname", "/etc/hosts")
STAT_ONLY_FILES = ("/etc/shadow", "/etc/gshadow")
OWNER_ONLY = (".env", "pyproject.toml", "services/worker/sandbox.py")
PROTECTED_DIRS = ("/", "/etc", "/home", "/root", "/tmp", "/dev/shm", "/var/tmp", ".")
MARKER_DIRS = ("/tmp", "/dev/shm", "/var/tmp", "/run/lock", "/home")
# Host IPC endpoints of the test's own, world-connectable, where host services bind theirs (D-Bus's
# system bus and databases in /run, agents' state in /var/lib, …): no program may connect to one.
IPC_DIRS = ("/run", "/var/lib", "/var/tmp", "/home", "/opt", "/srv", "/mnt", "/media")
# Where Firejail itself brings host sockets in: --private-tmp whitelists X11, sndio and PulseAudio
# sockets of the host's /tmp, --private-dev binds /dev/log. Made only where absent, then removed.
X11_DIR, SNDIO_DIR, DEV_LOG = "/tmp/.X11-unix", "/tmp/sndio", "/dev/log"
UCRED = 12  # struct ucred: pid, uid, gid


# -- the watched host ----------------------------------------------------------------------------


@dataclass
class Watch:
    """The stack under attack and everything the global checks compare against."""

    stack: Stack
    slots: list[pwd.struct_passwd]
    host: Host
    listeners: list[socket.socket]  # stream sockets: none may ever have a connection waiting
    forbidden: list[str]
    protected: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)
    datagrams: list[socket.socket] = field(default_factory=list)  # none may get a slot's datagram

    @property
    def uids(self) -> set[int]:
        return {s.pw_uid for s in self.slots}


def worker_slots(pid: int) -> list[pwd.struct_passwd]:
    """The sandbox users a worker holds: it keeps /run/cexec/uid-<uid>.lock open for each."""
    users = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(LOCK_DIR) and target.endswith(".lock"):
            users.append(pwd.getpwuid(int(Path(target).stem.removeprefix("uid-"))))
    return users


def protected_paths(slots: list[pwd.struct_passwd]) -> tuple[list[str], list[str], list[str]]:
    """(hashed, stat only, owner and mode only) paths, absolute."""

    def at_root(p: str) -> str:
        return p if p.startswith("/") else str(ROOT / p)

    owner_only = [at_root(p) for p in PROTECTED_DIRS + OWNER_ONLY]
    for s in slots:
        owner_only += [s.pw_dir, f"{s.pw_dir}/jobs"]
    return [at_root(f) for f in HASHED_FILES], [at_root(f) for f in STAT_ONLY_FILES], owner_only


def snapshot(slots: list[pwd.struct_passwd]) -> dict[str, tuple[Any, ...] | None]:
    """The protected paths' owner and mode, and for files their size, link count and content (a
    hash, or for secrets, which are never read, the modification time); None if absent here."""
    hashed, stat_only, owner_only = protected_paths(slots)
    state: dict[str, tuple[Any, ...] | None] = {}
    for path in hashed + stat_only + owner_only:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            state[path] = None
            continue
        owner = (st.st_mode, st.st_uid, st.st_gid)
        if path in owner_only:
            state[path] = owner
            continue
        content: object = st.st_mtime_ns
        if path in hashed:
            content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        state[path] = (*owner, st.st_size, st.st_nlink, content)
    return state


def slot_processes(uids: set[int]) -> list[str]:
    """Every process whose real, effective, saved or filesystem UID is a slot user's."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:150]
        except OSError:
            continue  # gone meanwhile
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        if {int(x) for x in uid_line.split()[1:]} & uids:
            state = next(line for line in status.splitlines() if line.startswith("State:"))
            found.append(f"pid {entry.name} ({state.split(None, 1)[1]}): {cmdline!r}")
    return found


def job_dirs(slots: list[pwd.struct_passwd]) -> set[str]:
    return {str(p) for s in slots for p in (Path(s.pw_dir) / "jobs").glob("*")}


def planted_markers() -> list[str]:
    return [str(p) for d in MARKER_DIRS for p in Path(d).glob(f"*{MARKER}*")]


async def left_behind(slots: list[pwd.struct_passwd], before: set[str]) -> set[str]:
    """The job directories (new since `before`) still there CLEANUP_GRACE_S after `complete`."""
    deadline = time.monotonic() + CLEANUP_GRACE_S
    left = job_dirs(slots) - before
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        left = job_dirs(slots) - before
    return left


async def lingering(uids: set[int]) -> list[str]:
    """The slot users' processes still there LEFTOVER_GRACE_S after a job's end."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    left = slot_processes(uids)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        left = slot_processes(uids)
    return left


def datagram_senders(listener: socket.socket) -> list[int | None]:
    """The sender UIDs of the datagrams waiting on `listener` (None: no credentials), read off.
    On a host /dev/log, the host's own services write too: only the sender tells them apart."""
    senders: list[int | None] = []
    while True:
        try:
            _, ancillary, _, _ = listener.recvmsg(65536, socket.CMSG_SPACE(UCRED))
        except BlockingIOError:
            return senders
        uid = None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                uid = int.from_bytes(data[4:8], sys.byteorder)
        senders.append(uid)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = start_stack(
        redis_server.url,
        tmp_path_factory.mktemp("hostile"),
        CODE_VALIDATION="off",
        WORKER_CONCURRENCY="1",
    )
    yield stack
    stack.gateway.stop()
    stack.worker.stop()


def quietly(remove: Callable[[str], None], path: str) -> None:
    """Remove `path` if it is still there (a directory: if it is empty)."""
    with contextlib.suppress(OSError):
        remove(path)


def listen(path: str, kind: socket.SocketKind, cleanup: contextlib.ExitStack) -> socket.socket:
    """A unix socket bound at `path`, mode 0777 (connectable by anyone who can see it), removed
    again when `cleanup` closes; a datagram socket is told its senders' credentials."""
    s = socket.socket(socket.AF_UNIX, kind)
    cleanup.callback(s.close)
    s.bind(path)
    cleanup.callback(quietly, os.unlink, path)
    os.chmod(path, 0o777)
    if kind == socket.SOCK_STREAM:
        s.listen(8)
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.setblocking(False)
    return s


def own_dir(path: str, mode: int, cleanup: contextlib.ExitStack) -> bool:
    """Make `path` if absent (removed again if still empty); False if it was there already."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return False
    os.chmod(path, mode)
    cleanup.callback(quietly, os.rmdir, path)
    return True


def host_endpoints(
    token: str, cleanup: contextlib.ExitStack
) -> tuple[list[socket.socket], list[socket.socket], list[str], list[str]]:
    """The host IPC endpoints of issue 7: (stream listeners, datagram listeners, stream paths,
    datagram paths) for the programs to try. /dev/log is always among the datagram paths: the
    host's own where it has one (not read here), else the test's."""
    streams, datagrams = [], []
    stream_paths, datagram_paths = [], []
    name = f"cexec-hostile-{token}"
    for d in IPC_DIRS:
        if os.path.isdir(d) and not os.path.islink(d):
            stream_paths.append(f"{d}/{name}.sock")
    if os.path.realpath("/var/run") == "/run":
        stream_paths.append(f"/var/run/{name}.sock")  # the /run socket, by its other name
    own_dir(X11_DIR, 0o1777, cleanup)
    x11 = f"{X11_DIR}/X{int(token, 16) % 90000 + 10000}"
    pulse_dir = f"/tmp/pulse-{name}"
    own_dir(pulse_dir, 0o755, cleanup)
    stream_paths += [x11, f"{pulse_dir}/native"]
    if own_dir(SNDIO_DIR, 0o1777, cleanup):
        stream_paths.append(f"{SNDIO_DIR}/{name}")
    for path in stream_paths:
        if not path.startswith("/var/run/"):
            streams.append(listen(path, socket.SOCK_STREAM, cleanup))
    datagram_paths.append(f"/run/{name}.dgram")  # the shape of journald's and agents' sockets
    datagrams.append(listen(datagram_paths[0], socket.SOCK_DGRAM, cleanup))
    if not os.path.lexists(DEV_LOG):
        datagrams.append(listen(DEV_LOG, socket.SOCK_DGRAM, cleanup))
    datagram_paths.append(DEV_LOG)
    return streams, datagrams, stream_paths, datagram_paths


@contextmanager
def watching(stack: Stack, redis_port: int) -> Iterator[Watch]:
    """A Watch over `stack`: host listeners up, host state recorded. Any stack can be watched,
    so the corpus can be run again against a stack set up differently."""
    token = secrets.token_hex(4)
    unix_path = f"/tmp/cexec-hostile-{token}.sock"
    abstract = f"cexec-hostile-{token}"
    with contextlib.ExitStack() as cleanup:
        listeners = [listen(unix_path, socket.SOCK_STREAM, cleanup)]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cleanup.callback(s.close)
        s.bind("\0" + abstract)
        s.listen(8)
        s.setblocking(False)
        listeners.append(s)
        streams, datagrams, stream_paths, datagram_paths = host_endpoints(token, cleanup)
        slots = worker_slots(stack.worker.proc.pid)
        assert slots, "cannot tell which sandbox users the worker holds"
        host = Host(
            redis_port,
            str(ROOT),
            unix_path,
            abstract,
            ":".join(stream_paths),
            ":".join(datagram_paths),
        )
        w = Watch(
            stack=stack,
            slots=slots,
            host=host,
            listeners=listeners + streams,
            forbidden=[JWT_SECRET, API_KEY, stack.redis_url, *SECRET_NAMES],
            datagrams=datagrams,
        )
        w.protected = snapshot(slots)
        yield w


@pytest.fixture(scope="module")
def watch(redis_server: RedisServer, hostile_stack: Stack) -> Iterator[Watch]:
    with watching(hostile_stack, redis_server.port) as w:
        yield w


# -- running one case ----------------------------------------------------------------------------


async def exercise(watch: Watch, case: Case, may_reject: bool = False) -> list[str]:
    """Run one case (and its follow-up) on `watch.stack`; every failure found, as text.
    `may_reject`: the stack validates code, so a `code_rejected` refusal is a good outcome too."""
    dead = [s.name for s in (watch.stack.worker, watch.stack.gateway) if s.proc.poll() is not None]
    if dead:  # an earlier case killed it: fail at once rather than wait for a job that never runs
        return [f"{case.id}: {', '.join(dead)} no longer running"]
    failures: list[str] = []
    jobs_before = job_dirs(watch.slots)  # a failed cleanup is blamed on its own case only
    started = time.monotonic()
    try:
        out = await run(
            watch.stack,
            case.language,
            case.code,
            limits=case.limits,
            args=watch.host.fill(case.args),
            timeout=EVENT_TIMEOUT_S,
        )
    except TimeoutError:
        out = None
        failures.append(f"{case.id}: no event for {EVENT_TIMEOUT_S} s: the job hangs")
    elapsed = time.monotonic() - started
    if out is not None and may_reject and rejected(out):
        failures += [
            f"{case.id}: secret in the refusal" for s in watch.forbidden if s in str(out.events)
        ]
    elif out is not None:
        failures += judge(watch, case, out, elapsed)
    failures += await aftermath(watch, case, jobs_before)
    if case.then is not None:
        failures += await exercise(watch, case.then, may_reject)
    return failures


def rejected(out: Outcome) -> bool:
    errors = [e for e in out.events if e["type"] == "error"]
    return bool(errors) and errors[0]["code"] == "code_rejected" and out.close_code == 1008


def judge(watch: Watch, case: Case, out: Outcome, elapsed: float) -> list[str]:
    failures = []
    where = f"{case.id} ({case.language})"
    try:
        done = out.complete
    except AssertionError as exc:
        return [f"{where}: {exc}"]
    if case.expect_status is not None and done["status"] not in case.expect_status:
        failures.append(
            f"{where}: status {done['status']!r}, expected {sorted(case.expect_status)}; "
            f"complete={done}\n--- stdout\n{out.stdout[:1500]}\n--- stderr\n{out.stderr[:1500]}"
            f"\n--- compile\n{out.compile[:1500]}"
        )
    if out.close_code != 1000:
        failures.append(f"{where}: close code {out.close_code}, expected 1000")
    time_s = float(case.limits.get("time_s", 10))
    if done["status"] == "timeout" and done["execution_time"] > time_s + TIMEOUT_SLACK_S:
        failures.append(f"{where}: timed out only after {done['execution_time']} s")
    if elapsed > time_s + COMPILE_TIMEOUT_S + 15:
        failures.append(f"{where}: the job took {elapsed:.1f} s end to end")
    streams = {s: out.text(s) for s in ("stdout", "stderr", "compile")}
    for stream, text in streams.items():
        for i, needle in enumerate([*watch.forbidden, *case.forbidden]):
            if needle in text:
                # Never print the secret itself: say which one, and where.
                failures.append(f"{where}: forbidden string #{i} in {stream}")
        if SHADOW_ENTRY.search(text):
            failures.append(f"{where}: an /etc/shadow entry in {stream}")
    if case.check is not None:
        try:
            case.check(out)
        except AssertionError as exc:
            failures.append(f"{where}: {exc}")
    return failures


async def aftermath(watch: Watch, case: Case, jobs_before: set[str]) -> list[str]:
    """The global checks, right after a job's `complete`."""
    failures = []
    where = f"{case.id} ({case.language}), after the job"
    if left := await lingering(watch.uids):
        failures.append(f"{where}: {len(left)} slot-user processes left: {left[:10]}")
    if left_dirs := await left_behind(watch.slots, jobs_before):
        failures.append(f"{where}: job directories not removed: {sorted(left_dirs)}")
    now = snapshot(watch.slots)
    for path, before in watch.protected.items():
        if now.get(path) != before:
            failures.append(f"{where}: {path} changed: {before} -> {now.get(path)}")
    for listener in watch.listeners:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            continue
        conn.close()
        failures.append(
            f"{where}: a program connected to the host socket {listener.getsockname()!r}"
        )
    for listener in watch.datagrams:
        for uid in datagram_senders(listener):
            if uid is None or uid in watch.uids:
                failures.append(
                    f"{where}: a program sent a datagram to the host socket "
                    f"{listener.getsockname()!r} (sender uid {uid})"
                )
    if planted := planted_markers():
        failures.append(f"{where}: planted on the host: {planted}")
    for service in (watch.stack.worker, watch.stack.gateway):
        if service.proc.poll() is not None:
            failures.append(f"{where}: the {service.name} died (exit {service.proc.returncode})")
    return failures


# -- the tests -----------------------------------------------------------------------------------


def test_corpus_shape() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 45
    assert {c.language for c in CASES} == set(LANGUAGES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_hostile(watch: Watch, case: Case) -> None:
    failures = await exercise(watch, case)
    if failures:
        for service in (watch.stack.gateway, watch.stack.worker):
            tail = "\n".join(service.output().splitlines()[-LOG_TAIL_LINES:])
            failures.append(f"--- {service.name} log (tail)\n{tail}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def validated_watch(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Watch]:
    """The second pass: the same corpus against a stack with the default validation policy."""
    stack = start_stack(
        redis_server.url,
        tmp_path_factory.mktemp("hostile-validated"),
        CODE_VALIDATION="deny",
        WORKER_CONCURRENCY="1",
    )
    try:
        with watching(stack, redis_server.port) as w:
            yield w
    finally:
        stack.gateway.stop()
        stack.worker.stop()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_hostile_with_validation(validated_watch: Watch, case: Case) -> None:
    """Each case is either refused early (`code_rejected`) or, where validation cannot see the
    attack, held by the sandbox exactly as in the first pass."""
    failures = await exercise(validated_watch, case, may_reject=True)
    assert not failures, "\n".join(failures)


async def test_worker_survived_the_corpus(watch: Watch) -> None:
    worker = watch.stack.worker
    assert worker.proc.poll() is None, f"the worker died:\n{worker.output()[-4000:]}"
    rss = rss_mb(worker.proc.pid)
    assert rss < MAX_WORKER_RSS_MB, f"worker RSS {rss:.0f} MB after the corpus"
    outs = await asyncio.gather(
        *(run(watch.stack, lang, HELLO[lang], timeout=EVENT_TIMEOUT_S) for lang in LANGUAGES)
    )
    for lang, out in zip(LANGUAGES, outs, strict=True):
        assert out.stdout == "hello, world\n", f"{lang}: {out.summary()}"
        assert out.status == "ok", f"{lang}: {out.summary()}"
    assert not await lingering(watch.uids)
