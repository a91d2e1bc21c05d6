"""Runs one sandboxed stage (compile or run) and watches it: output, input, limits, kill.

The stage's stdout and stderr are read as they come, decoded incrementally (a UTF-8 character split
across two reads arrives whole) and handed to `emit`; stdin is fed from the job's input feed. The
stage ends when the program exits, when the wall clock runs out, when the output budget is spent,
or when the client asks for a kill; in every case everything in the stage's cgroup is killed.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from lib.errors import SandboxError
from services.worker.cgroups import StageCgroup

log = logging.getLogger(__name__)

READ_SIZE = 65536
DRAIN_AFTER_EXIT_S = 2.0
DRAIN_AFTER_KILL_S = 0.5  # a killed stage's pipes hold at most what it wrote before the kill

Emit = Callable[[str, str], Awaitable[None]]


class Stop(StrEnum):
    """Why the worker stopped a stage before it ended by itself."""

    TIMEOUT = "timeout"
    OUTPUT = "output"
    KILLED = "killed"


@dataclass
class InputFeed:
    """The job's input, in order, as it arrives from the client; EOF is `None`. Signals the
    client sends the program, by number."""

    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    kill: asyncio.Event = field(default_factory=asyncio.Event)
    signals: asyncio.Queue[int] = field(default_factory=asyncio.Queue)


@dataclass(frozen=True)
class ReaperStatus:
    exit_code: int | None
    signal: int | None
    wall_s: float
    cpu_s: float
    max_rss_kb: int


@dataclass(frozen=True)
class StageResult:
    stopped: Stop | None
    started: bool  # the sandbox came up and the reaper ran
    reaper: ReaperStatus | None  # None when the reaper could not report (killed or never ran)
    returncode: int | None  # of the launcher process
    wall_s: float
    cpu_s: float | None
    peak_kb: int | None
    oom_kills: int


STARTED = b"started"
_INT = re.compile(rb"-?[0-9]+")


@dataclass(frozen=True)
class ReaperReport:
    started: bool
    namespaces: tuple[str, str] = ("", "")  # the reaper's (pid, net) namespace links
    status: ReaperStatus | None = None  # None if the reaper did not report an end


def parse_reaper_report(raw: bytes) -> ReaperReport:
    lines = raw.split(b"\n")
    first = lines[0].split()
    if len(first) != 3 or first[0] != STARTED:
        return ReaperReport(started=False)
    namespaces = (first[1].decode(errors="replace"), first[2].decode(errors="replace"))
    status = parse_status_line(lines[1] if len(lines) > 1 else b"")
    return ReaperReport(True, namespaces, status)


def own_namespaces() -> tuple[str, str]:
    return os.readlink("/proc/self/ns/pid"), os.readlink("/proc/self/ns/net")


def check_isolated(report: ReaperReport, host: tuple[str, str]) -> None:
    """Firejail can silently run a program with no sandbox (inside some containers): refuse any
    stage whose reaper shares our PID or network namespace."""
    if not report.started:
        return
    pid_ns, net_ns = report.namespaces
    if pid_ns == host[0] or net_ns == host[1] or "?" in (pid_ns, net_ns):
        raise SandboxError(f"sandbox is not isolated (pid {pid_ns}, net {net_ns})")


def parse_status_line(line: bytes) -> ReaperStatus | None:
    parts = line.split()
    if len(parts) != 5 or not all(_INT.fullmatch(p) for p in parts):
        return None
    code, sig, wall_us, cpu_us, rss = (int(p) for p in parts)
    return ReaperStatus(
        exit_code=code if code >= 0 else None,
        signal=sig or None,
        wall_s=wall_us / 1e6,
        cpu_s=cpu_us / 1e6,
        max_rss_kb=rss,
    )


class OutputBudget:
    def __init__(self, limit_bytes: int) -> None:
        self.left = limit_bytes
        self.exceeded = asyncio.Event()

    def take(self, size: int) -> int:
        allowed = min(size, self.left)
        self.left -= allowed
        if allowed < size:
            self.exceeded.set()
        return allowed


async def _pump(
    reader: asyncio.StreamReader, stream: str, emit: Emit, budget: OutputBudget
) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := await reader.read(READ_SIZE):
        allowed = budget.take(len(chunk))
        text = decoder.decode(chunk[:allowed])
        if text:
            await emit(stream, text)
        if allowed < len(chunk):
            break
    if tail := decoder.decode(b"", final=True):
        await emit(stream, tail)
    # Over budget: the stage is being killed. Keep reading to EOF and throw it away, so that
    # nothing blocks on a full pipe until the kill lands.
    while await reader.read(READ_SIZE):
        pass


async def _feed(writer: asyncio.StreamWriter, feed: InputFeed) -> None:
    try:
        while (data := await feed.queue.get()) is not None:
            writer.write(data)
            await writer.drain()
    except (BrokenPipeError, ConnectionResetError):
        return  # the program closed its stdin or exited; later input has nowhere to go
    finally:
        writer.close()


async def _first(*aws: Awaitable[object], deadline_s: float) -> Stop | None:
    """Wait for the first awaitable; their index maps to a Stop reason, None means the process."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, timeout=deadline_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
    if not done:
        return Stop.TIMEOUT
    first = tasks.index(next(iter(done)))
    return (None, Stop.KILLED, Stop.OUTPUT)[first]


@dataclass
class Pipes:
    """The stage's stdio, on pipes of our own rather than asyncio's subprocess pipes: asyncio
    (3.11.3+) reports a process as exited only once its pipes are closed, so one surviving
    process holding stdout would hold the stage past its deadline (issue 7.10). Here the
    stage ends when its launcher exits; the pipes are drained for a bounded time after that."""

    stdout: asyncio.StreamReader
    stderr: asyncio.StreamReader
    stdin: asyncio.StreamWriter | None
    transports: list[asyncio.BaseTransport]

    def close(self) -> None:
        for transport in self.transports:
            transport.close()


async def _open_pipes(out_r: int, err_r: int, in_w: int | None) -> Pipes:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    readers = []
    for fd in (out_r, err_r):
        reader = asyncio.StreamReader(limit=READ_SIZE, loop=loop)
        transport, _ = await loop.connect_read_pipe(
            partial(asyncio.StreamReaderProtocol, reader), os.fdopen(fd, "rb", buffering=0)
        )
        transports.append(transport)
        readers.append(reader)
    writer = None
    if in_w is not None:
        w_transport, w_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(in_w, "wb", buffering=0)
        )
        transports.append(w_transport)
        writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)
    return Pipes(readers[0], readers[1], writer, transports)


# /proc/PID/comm (the name, cut to 15 bytes) of the sandbox's own processes: our launcher (it
# runs as the slot user just before it becomes Firejail), Firejail (the launcher and the
# sandbox's init, both running as the slot user once set up) and our reaper.
SUPERVISORS = (b"cexec-enter", b"firejail", b"cexec-reaper")


def signal_program(uid: int, signum: int) -> int:
    """Send `signum` to every process whose real and effective UID are `uid` (a slot's user: only
    this stage runs as it, slots being exclusive per kernel) except the sandbox's supervisors. A
    program that names itself after one only keeps the signal from itself. Returns how many
    were signalled. Blocking (reads /proc): call it in a thread."""
    sent = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or not _runs_as(entry.path, uid):
            continue
        try:
            with open(f"{entry.path}/comm", "rb") as comm:
                if comm.read().startswith(SUPERVISORS):
                    continue
            os.kill(int(entry.name), signum)
            sent += 1
        except (OSError, ValueError):
            continue  # it exited meanwhile
    return sent


def _runs_as(proc_dir: str, uid: int) -> bool:
    try:
        with open(f"{proc_dir}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Uid:"):
                    real, effective = line.split()[1:3]
                    return int(real) == uid and int(effective) == uid
    except (OSError, ValueError, IndexError):
        return False
    return False


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception in a (nested) exception group."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        # Firejail's sandbox init dies with its parent (PR_SET_PDEATHSIG), and with it the
        # whole PID namespace, so this reaches every process even without a cgroup.
        os.killpg(proc.pid, 9)


@dataclass
class Stage:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    status_fd: int  # the write end, passed to the reaper
    status_read: int
    wall_s: float
    output_bytes: int
    cgroup: StageCgroup | None
    host_namespaces: tuple[str, str]  # the worker's own (pid, net) namespaces
    streams: tuple[str, str] = ("stdout", "stderr")
    merge_stderr: bool = False
    uid: int | None = None  # the slot user's: whose processes a client's signal reaches

    async def run(self, emit: Emit, feed: InputFeed | None, kill: asyncio.Event) -> StageResult:
        started = time.monotonic()
        proc, pipes = await self._spawn(feed is not None)
        try:
            return await self._watch(proc, pipes, started, emit, feed, kill)
        except BaseExceptionGroup as group:
            # The watch's task group wraps what an `emit` raised (a Redis refusal that outlasted
            # its retries): callers catch our own errors, not groups of them.
            raise first_leaf(group) from group
        finally:
            if proc.returncode is None:  # the watch failed or was cancelled: never leave it
                _kill_group(proc)
            pipes.close()

    async def _watch(
        self,
        proc: asyncio.subprocess.Process,
        pipes: Pipes,
        started: float,
        emit: Emit,
        feed: InputFeed | None,
        kill: asyncio.Event,
    ) -> StageResult:
        budget = OutputBudget(self.output_bytes)
        async with asyncio.TaskGroup() as tg:
            pumps = [
                tg.create_task(_pump(pipes.stdout, self.streams[0], emit, budget)),
                tg.create_task(_pump(pipes.stderr, self.streams[1], emit, budget)),
            ]
            feeder = tg.create_task(_feed(pipes.stdin, feed)) if feed and pipes.stdin else None
            signaller = tg.create_task(self._deliver(feed)) if feed and self.uid else None
            stopped = await _first(
                proc.wait(), kill.wait(), budget.exceeded.wait(), deadline_s=self.wall_s
            )
            # Whatever ended the stage, nothing of it may outlive its verdict: the launcher's
            # group if we stopped it, and in any case whatever is left in the stage's cgroup.
            await self._kill(proc, group=stopped is not None)
            await proc.wait()  # the launcher only: it exits once killed, whatever it ran
            wall = time.monotonic() - started
            for task in (feeder, signaller):
                if task:
                    task.cancel()
            await self._drain(pumps, DRAIN_AFTER_EXIT_S if stopped is None else DRAIN_AFTER_KILL_S)
        return self._result(stopped, proc.returncode, wall)

    async def _spawn(self, with_stdin: bool) -> tuple[asyncio.subprocess.Process, Pipes]:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if with_stdin else (None, None)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=in_r if in_r is not None else asyncio.subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w if self.merge_stderr else err_w,
                env=self.env,
                cwd=self.cwd,
                pass_fds=(self.status_fd,),
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (out_r, err_r, in_w):
                if fd is not None:
                    os.close(fd)
            raise SandboxError(f"cannot start the sandbox: {exc}") from exc
        finally:
            for fd in (self.status_fd, out_w, err_w, in_r):
                if fd is not None:
                    os.close(fd)  # the child has its copies; ours would keep the pipes open
        return proc, await _open_pipes(out_r, err_r, in_w)

    async def _deliver(self, feed: InputFeed) -> None:
        """The client's signals, to the program's processes (not the sandbox's supervisor)."""
        assert self.uid is not None
        while True:
            signum = await feed.signals.get()
            sent = await asyncio.to_thread(signal_program, self.uid, signum)
            log.info("signal %d sent to %d process(es) of uid %d", signum, sent, self.uid)

    async def _kill(self, proc: asyncio.subprocess.Process, group: bool = True) -> None:
        if group:
            _kill_group(proc)
        if self.cgroup is not None:  # a loop of reads and kills until the cgroup is empty
            await asyncio.to_thread(self.cgroup.kill)

    async def _drain(self, pumps: list[asyncio.Task[None]], limit_s: float) -> None:
        """Output written just before exit is still in the pipes: read it, but not forever."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_s):
                await asyncio.gather(*pumps, return_exceptions=True)
        for p in pumps:
            p.cancel()

    def _result(self, stopped: Stop | None, returncode: int | None, wall: float) -> StageResult:
        try:
            raw = os.read(self.status_read, 4096)
        except BlockingIOError:
            raw = b""
        finally:
            os.close(self.status_read)
        cg = self.cgroup
        cpu_us = cg.cpu_us() if cg else None
        report = parse_reaper_report(raw)
        if not report.started and stopped is not Stop.KILLED:
            raise SandboxError(f"the sandbox did not start (launcher exit {returncode})")
        check_isolated(report, self.host_namespaces)
        return StageResult(
            stopped=stopped,
            started=report.started,
            reaper=report.status,
            returncode=returncode,
            wall_s=wall,
            cpu_s=cpu_us / 1e6 if cpu_us is not None else None,
            peak_kb=cg.peak_kb() if cg else None,
            oom_kills=cg.oom_kills() if cg else 0,
        )
