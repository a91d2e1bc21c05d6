"""A scripted Sandbox (services/worker/sandboxes.py) and a stand-in EventLog, for unit tests of
execution: no Firejail, no root, no Redis.

Job directories are real directories in the slot's `jobs/` (make the slot with `slot()`, whose
home is the sandbox's temporary root). Each `run_stage` is played by a
*program*: an async function of a `Run` (the StageRequest, the directory's files when the stage
started, its stdin, `emit`, `kill`) that returns how the stage ended (`exited(...)`,
`stopped(...)`). Like the real sandbox, the fake ends a stage on `kill` (Stop.KILLED), at its
wall-clock limit (Stop.TIMEOUT) and at its output limit (Stop.OUTPUT), whatever the program does.

Everything both fakes do is appended, in order, to one call log of `(kind, detail)` pairs:

    ("create_dir", NAME)                 a directory was made (the job's, or a test's)
    ("run_stage", "STAGE@DIR")           a stage started in directory DIR
    ("read_file", "NAME@DIR")            a file was read out of DIR
    ("cleanup", STEP)                    a clean-up step ran: "the job directory",
                                         "the directory D", "the STAGE cgroup of D"
    ("cleanup_failed", STEP)             ... and failed (see FakeSandbox.fail_steps)
    ("mark_started", WORKER)             FakeEvents
    ("publish", "output:STREAM" | "test:INDEX" | TYPE)
    ("finish", STATUS)                   the terminal event (STATUS: the verdict, or error:CODE)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib.errors import ServiceUnavailable
from lib.events import Control
from lib.protocol import Complete, Error, Event, Output, TestReport
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Slot
from services.worker.sandboxes import StageRequest
from services.worker.stage import Emit, InputFeed, ReaperStatus, StageResult, Stop
from services.worker.workspace import JobFile

Log = list[tuple[str, str]]
Program = Callable[["Run"], Awaitable[StageResult]]

HANG_LIMIT_S = 5.0  # a stage still running after this is a bug in the test, not a verdict


# -- how a stage ends ----------------------------------------------------------------------------


def exited(
    code: int | None = 0,
    *,
    signal: int | None = None,
    wall_s: float = 0.01,
    cpu_s: float = 0.005,
    rss_kb: int = 1024,
    oom_kills: int = 0,
) -> StageResult:
    """The program ended by itself (exit code or signal) and the reaper reported it."""
    return StageResult(
        stopped=None,
        started=True,
        reaper=ReaperStatus(code, signal, wall_s, cpu_s, rss_kb),
        returncode=0,
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_kb=rss_kb,
        oom_kills=oom_kills,
    )


def stopped(why: Stop, *, wall_s: float = 0.01) -> StageResult:
    """The worker stopped the stage (timeout, output, kill): no reaper status, as after a kill."""
    return StageResult(
        stopped=why,
        started=True,
        reaper=None,
        returncode=-9,
        wall_s=wall_s,
        cpu_s=None,
        peak_kb=None,
        oom_kills=0,
    )


# -- one stage as the program sees it ------------------------------------------------------------


@dataclass
class Run:
    request: StageRequest
    number: int  # 0-based, among all run_stage calls of this sandbox
    files: dict[str, bytes]  # the directory's files when the stage started
    modes: dict[str, int]  # their permission bits
    emit: Emit
    feed: InputFeed | None
    kill: asyncio.Event
    stdin: bytearray = field(default_factory=bytearray)  # what the program has read so far
    eof: bool = False

    @property
    def name(self) -> str:
        return self.request.name

    @property
    def argv(self) -> list[str]:
        return self.request.program

    @property
    def dir(self) -> Path:
        return self.request.job_dir

    async def out(self, text: str) -> None:
        await self.emit(self.request.streams[0], text)

    async def err(self, text: str) -> None:
        await self.emit(self.request.streams[1], text)

    async def read(self) -> str:
        """All of stdin, up to EOF (nothing if the stage has no stdin)."""
        while self.feed is not None and not self.eof:
            chunk = await self.feed.queue.get()
            if chunk is None:
                self.eof = True
            else:
                self.stdin += chunk
        return self.stdin.decode("utf-8", "replace")

    def write(self, name: str, data: bytes, mode: int = 0o755) -> None:
        """Leave a file in the stage's directory (a compiler writing `main`)."""
        path = self.dir / name
        path.write_bytes(data)
        path.chmod(mode)

    async def hang(self) -> StageResult:
        """Never end by itself: the stage ends on kill, or at its time limit."""
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


# -- the programs tests use most -----------------------------------------------------------------


def compiler(binary: bytes = b"\x7fELF fake program", output: str = "") -> Program:
    """A compiler that leaves `main` (executable) in the job directory and exits 0."""

    async def program(run: Run) -> StageResult:
        if output:
            await run.out(output)
        run.write("main", binary)
        return exited(0)

    return program


def printing(stdout: str = "", stderr: str = "", code: int = 0) -> Program:
    async def program(run: Run) -> StageResult:
        if stdout:
            await run.out(stdout)
        if stderr:
            await run.err(stderr)
        return exited(code)

    return program


def hanging() -> Program:
    async def program(run: Run) -> StageResult:
        return await run.hang()

    return program


def returning(result: StageResult) -> Program:
    async def program(run: Run) -> StageResult:
        return result

    return program


# -- the sandbox ---------------------------------------------------------------------------------


@dataclass
class CreatedDir:
    name: str
    path: Path
    files: list[JobFile]
    last: bool


class _Budget:
    """The stage's output limit, over both streams, in bytes (as services.worker.stage); and
    what `emit` raised, if it did (the real stage's pump would die of it)."""

    def __init__(self, limit: int, emit: Emit) -> None:
        self.left = limit
        self.inner = emit
        self.exceeded = asyncio.Event()
        self.failed = asyncio.Event()
        self.error: Exception | None = None

    async def emit(self, stream: str, text: str) -> None:
        if self.exceeded.is_set():
            return
        data = text.encode("utf-8")
        if len(data) > self.left:
            text = data[: self.left].decode("utf-8", "ignore")
            self.left = 0
            if text:
                await self._relay(stream, text)
            self.exceeded.set()
            await asyncio.Event().wait()  # the program is stopped here
        self.left -= len(data)
        await self._relay(stream, text)

    async def _relay(self, stream: str, text: str) -> None:
        try:
            await self.inner(stream, text)
        except Exception as exc:  # noqa: BLE001 - whatever it is ends the stage
            self.error = exc
            self.failed.set()
            await asyncio.Event().wait()  # the stage ends of it (FakeSandbox._play)


class FakeSandbox:
    """Implements services.worker.sandboxes.Sandbox.

    `program`: one Program for every stage, or a list played one per run_stage call, in order.
    `fail_steps`: clean-up step name -> how many times that step fails before it works.
    An exception raised by `emit` ends the stage as it is, as services.worker.stage.Stage
    raises it (it unwraps its task group's exception group).
    """

    def __init__(
        self,
        root: Path,
        program: Program | Sequence[Program] | None = None,
        *,
        log: Log | None = None,
    ) -> None:
        self.root = root
        self.log: Log = [] if log is None else log
        self._program = program
        self._queue = list(program) if isinstance(program, Sequence) else None
        self.dirs: list[CreatedDir] = []
        self.runs: list[Run] = []
        self.results: list[StageResult] = []
        self.reads: list[tuple[Path, str, int]] = []
        self.fail_steps: dict[str, int] = {}

    # -- helpers for tests --

    def kinds(self, kind: str) -> list[str]:
        return [detail for k, detail in self.log if k == kind]

    def position(self, kind: str, detail: str) -> int:
        """Where (kind, detail) first is in the call log; fails the test if it is not there."""
        return self.log.index((kind, detail))

    def slot(self) -> Slot:
        return Slot(index=0, user="cexec-sb0", uid=os.getuid(), gid=os.getgid(), home=self.root)

    def _step(self, what: str, step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if self.fail_steps.get(what, 0) > 0:
                self.fail_steps[what] -= 1
                self.log.append(("cleanup_failed", what))
                raise OSError(f"injected failure of {what}")
            self.log.append(("cleanup", what))
            step()

        return run

    # -- the Sandbox protocol --

    async def create_dir(
        self, slot: Slot, name: str, files: Sequence[JobFile], cleanup: Cleanup, *, last: bool
    ) -> Path:
        self.log.append(("create_dir", name))
        path = slot.job_dir(name)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(mode=0o700, parents=True)
        for f in files:
            target = path / f.name
            target.write_bytes(f.data)
            target.chmod(0o700 if f.executable else 0o600)
        self.dirs.append(CreatedDir(name, path, list(files), last))
        what = "the job directory" if last else f"the directory {name}"
        cleanup.add(what, self._step(what, lambda: shutil.rmtree(path, ignore_errors=True)))
        return path

    async def read_file(self, job_dir: Path, name: str, max_bytes: int) -> bytes | None:
        self.log.append(("read_file", f"{name}@{job_dir.name}"))
        self.reads.append((job_dir, name, max_bytes))
        path = job_dir / name
        try:
            info = path.lstat()
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        return path.read_bytes()

    async def run_stage(
        self,
        req: StageRequest,
        emit: Emit,
        feed: InputFeed | None,
        kill: asyncio.Event,
        cleanup: Cleanup,
    ) -> StageResult:
        where = req.job_dir.name
        self.log.append(("run_stage", f"{req.name}@{where}"))
        what = f"the {req.name} cgroup of {where}"
        cleanup.add(what, self._step(what, lambda: None))
        files, modes = {}, {}
        for path in sorted(req.job_dir.iterdir()):
            if path.is_file():
                files[path.name] = path.read_bytes()
                modes[path.name] = stat.S_IMODE(path.stat().st_mode)
        budget = _Budget(req.limits.output_kb * 1024, emit)
        run = Run(req, len(self.runs), files, modes, budget.emit, feed, kill)
        self.runs.append(run)
        result = await self._play(run, budget, min(req.limits.wall_s, HANG_LIMIT_S))
        self.results.append(result)
        return result

    async def _play(self, run: Run, budget: _Budget, wall_s: float) -> StageResult:
        program = self._next_program()
        started = time.monotonic()
        task = asyncio.ensure_future(program(run))
        killed = asyncio.ensure_future(run.kill.wait())
        over = asyncio.ensure_future(budget.exceeded.wait())
        failed = asyncio.ensure_future(budget.failed.wait())
        try:
            done, _ = await asyncio.wait(
                {task, killed, over, failed}, timeout=wall_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for t in (killed, over, failed):
                t.cancel()
            if not task.done():  # stopped by kill, limit or time: the program dies with it
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        elapsed = time.monotonic() - started
        if failed in done and budget.error is not None:
            raise budget.error
        if task in done:
            return task.result()  # the program's own ending (or its exception)
        if killed in done:
            return stopped(Stop.KILLED, wall_s=elapsed)
        if over in done:
            return stopped(Stop.OUTPUT, wall_s=elapsed)
        if wall_s >= HANG_LIMIT_S:
            raise AssertionError(f"stage {run.name} in {run.dir.name} hung")
        return stopped(Stop.TIMEOUT, wall_s=elapsed)

    def _next_program(self) -> Program:
        if self._queue is not None:
            if not self._queue:
                raise AssertionError("run_stage called more often than the test scripted")
            return self._queue.pop(0)
        if self._program is None:
            return printing()
        assert callable(self._program)
        return self._program


# -- the event log -------------------------------------------------------------------------------


@dataclass
class Finished:
    event: Complete | Error
    by: str
    result: str
    ttl: int


class FakeEvents:
    """Stands in for lib.events.EventLog as the worker uses it.

    `controls` are what the client sent (push more with `send`); `attached` is the client's lease;
    `failures[METHOD] = N` makes the next N calls of METHOD (publish, finish, mark_started,
    is_attached, read_controls) raise `failure` (ServiceUnavailable unless set); `calls`
    counts every call of each, failed ones included."""

    def __init__(self, log: Log | None = None, controls: Sequence[Control] = ()) -> None:
        self.log: Log = [] if log is None else log
        self.published: list[Event] = []
        self.finished: list[Finished] = []
        self.started: str | None = None
        self.attached = True
        self.failures: dict[str, int] = {}
        self.failure: type[ServiceUnavailable] = ServiceUnavailable
        self.calls: Counter[str] = Counter()
        self._controls: list[tuple[str, Control]] = []
        self._arrived = asyncio.Event()
        for control in controls:
            self.send(control)

    def send(self, control: Control) -> str:
        entry_id = f"{len(self._controls) + 1}-0"
        self._controls.append((entry_id, control))
        self._arrived.set()
        return entry_id

    async def send_control(self, control: Control) -> str:
        return self.send(control)

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            raise self.failure(f"injected failure of {method}", reason="OOM")

    async def publish(self, event: Event) -> str:
        self._call("publish")
        self.published.append(event)
        if isinstance(event, Output):
            self.log.append(("publish", f"output:{event.stream.value}"))
        elif isinstance(event, TestReport):
            self.log.append(("publish", f"test:{event.index}"))
        else:
            self.log.append(("publish", event.type))
        return f"{len(self.published)}-0"

    async def finish(
        self, event: Complete | Error, by: str, result: str = "", result_ttl_s: int = 0
    ) -> bool:
        self._call("finish")
        first = not self.finished
        self.finished.append(Finished(event, by, result, result_ttl_s))
        status = event.status.value if isinstance(event, Complete) else f"error:{event.code}"
        self.log.append(("finish", status))
        return first

    async def mark_started(self, worker_id: str) -> None:
        self._call("mark_started")
        self.started = worker_id
        self.log.append(("mark_started", worker_id))

    async def was_started(self) -> bool:
        return self.started is not None

    async def started_by(self) -> str | None:
        return self.started

    async def is_attached(self) -> bool:
        self._call("is_attached")
        return self.attached

    async def has_ended(self) -> bool:
        return bool(self.finished)

    async def read_controls(self, after: str, block_ms: int) -> list[tuple[str, Control]]:
        """The controls after entry `after`; blocks up to `block_ms` for one, like XREAD."""
        self._call("read_controls")
        deadline = time.monotonic() + block_ms / 1000
        while True:
            seen = 0 if after == "0" else int(after.split("-")[0])
            if len(self._controls) > seen:
                return self._controls[seen:]
            self._arrived.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    # -- helpers for tests --

    @property
    def outputs(self) -> list[Output]:
        return [e for e in self.published if isinstance(e, Output)]

    @property
    def reports(self) -> list[TestReport]:
        return [e for e in self.published if isinstance(e, TestReport)]
