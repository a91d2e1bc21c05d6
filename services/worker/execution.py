"""One job from claim to `complete`: it carries out the job's plan (lib.jobs) in a sandbox.

workspace → [compile stage] → run stage → verdict; or, in judge mode, compile once, then each test
in a fresh directory holding a fresh copy of the program, its own stage and clean-up, judged
against its expected output (services.worker.judge).

Every path ends with exactly one terminal event (`complete` or, for a job that cannot start,
`error`), published to the job's event stream with the job's result (lib.results) as soon as the
verdict is known; the host work the job leaves (cgroups, files, a remount) is collected in a
Cleanup that the worker runs afterwards, off the event loop, before the slot takes another job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from lib import results
from lib.codes import ErrorCode, Status
from lib.compare import Comparison, parse_compare
from lib.config import Settings
from lib.errors import SandboxError, ServiceUnavailable, StoreFault, ToolchainMissing
from lib.events import EventLog
from lib.jobs import COMPILE, RUN, UNATTENDED, JobSpec, StagePlan, TestCase
from lib.languages import BINARY, expand
from lib.protocol import (
    Complete,
    Eof,
    Error,
    Input,
    Kill,
    Output,
    Signal,
    StageEvent,
    Stream,
    TestReport,
    outcome,
)
from services.worker import judge, verdict
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Natives, Slot, cpu_soft_s
from services.worker.sandboxes import Sandbox, StageRequest
from services.worker.stage import InputFeed, StageResult
from services.worker.toolchains import Toolchain
from services.worker.workspace import JobFile, source_files

log = logging.getLogger(__name__)
T = TypeVar("T")

CONTROL_BLOCK_MS = 5000
CLIENT_CHECK_S = 1.0
# Publishing waits out a passing Redis refusal (OOM, READONLY, an outage) this long at most: an
# output chunk holds its pipe meanwhile (the program blocks on write; nothing is lost), the
# terminal event holds the slot.
PUBLISH_RETRY_S = 30.0
RETRY_FIRST_S, RETRY_MOST_S = 0.1, 2.0
MAX_PROGRAM_MB = 256  # a compiled program larger than this is not copied into judged tests
STAGE_NAMES: dict[str, Literal["compile", "run"]] = {COMPILE: "compile", RUN: "run"}


@dataclass(frozen=True)
class Runtime:
    """What every job on this worker shares."""

    settings: Settings
    sandbox: Sandbox
    natives: Natives  # the stdio object linked into C and C++ programs
    toolchains: dict[str, Toolchain]


class Execution:
    def __init__(
        self, runtime: Runtime, slot: Slot, spec: JobSpec, log_: EventLog, worker_id: str
    ) -> None:
        self.rt = runtime
        self.sandbox = runtime.sandbox
        self.slot = slot
        self.spec = spec
        self.events = log_
        self.worker_id = worker_id
        self.feed = InputFeed()
        self.job_dir: Path | None = None
        self.kill_reason: str | None = None  # set when the worker, not the client, stops the job
        self.cleanup = Cleanup()
        self.outputs = {name: results.Captured() for name in ("stdout", "stderr", "compile")}
        self.reports: list[TestReport] = []
        self.stages_done: list[StageEvent] = []  # each stage's `end`, for the result
        self.last_stream = ""
        self.compiles = 0  # compile stages run (recorded in the metrics: judge mode compiles once)

    @property
    def verdicts(self) -> Counter[str]:
        return Counter(r.status.value for r in self.reports)

    def kill(self, reason: str) -> None:
        """Stop the job from the worker's side (shutdown); it ends `killed` with `reason`."""
        self.kill_reason = reason
        self.feed.kill.set()

    async def run(self) -> Complete | Error:
        """Run the job, publish its terminal event and result and return it; never raises for the
        program's faults. The worker must then `await execution.cleanup.run()`."""
        reader = asyncio.create_task(self._read_controls())
        watcher = asyncio.create_task(self._watch_client())
        try:
            final = await self._stages()
        except ToolchainMissing as exc:
            final = Error(code=ErrorCode.LANGUAGE_UNAVAILABLE, message=str(exc))
        except SandboxError as exc:
            log.error("job %s: sandbox failure: %s", self.spec.job_id, exc)
            final = verdict.complete(
                Status.INTERNAL_ERROR, None, "the sandbox failed to run the job"
            )
        except ServiceUnavailable as exc:
            log.error("job %s: redis failed while the job ran: %s", self.spec.job_id, exc)
            final = verdict.complete(
                Status.INTERNAL_ERROR, None, "the service's storage failed while the job ran"
            )
        finally:
            for task in (reader, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ServiceUnavailable):
                    await task
        await self._finish(final)
        return final

    async def _finish(self, final: Complete | Error) -> None:
        result = results.encode_stored(self.spec.key_id, self.result(final))
        ttl = self.rt.settings.result_ttl_s
        try:
            await retrying(
                lambda: self.events.finish(final, self.worker_id, result, ttl), PUBLISH_RETRY_S
            )
        except ServiceUnavailable as exc:
            log.error("job %s: terminal event not published: %s", self.spec.job_id, exc)

    def result(self, final: Complete | Error) -> results.JobResult:
        out = self.outputs
        outputs = results.Outputs(
            stdout=out["stdout"].text,
            stderr=out["stderr"].text,
            compile_output=out["compile"].text,
            stdout_truncated=out["stdout"].truncated or self._cut(final, "stdout"),
            stderr_truncated=out["stderr"].truncated or self._cut(final, "stderr"),
            compile_output_truncated=out["compile"].truncated,
        )
        tests = self.reports if self.spec.judged else None
        return results.from_final(
            self.spec.job_id, self.spec.language, final, outputs, tests, self.stages_done
        )

    async def _stages(self) -> Complete | Error:
        toolchain = self.rt.toolchains.get(self.spec.language)
        if toolchain is None:
            raise ToolchainMissing(self.spec.language)
        files = source_files(self.spec.files)
        self.job_dir = await self.sandbox.create_dir(
            self.slot, self.spec.job_id, files, self.cleanup, last=True
        )
        await self.events.mark_started(self.worker_id)
        failure = await self._compile(toolchain)
        if failure is not None:
            return failure
        if self.spec.judged:
            return await self._judge(toolchain, files)
        plan = self._plan(RUN)
        result = await self._stage(plan, self._run_argv(toolchain, self.spec.args), self.feed)
        status, reason = verdict.run_status(result, cpu_soft_s(plan.limits.cpu_s))
        done = verdict.complete(status, result, self._reason(status, reason))
        await self._stage_ended(RUN, done)
        return done

    async def _compile(self, toolchain: Toolchain) -> Complete | None:
        """The compile stage, if the plan has one; its `complete` if compilation failed."""
        plan = self.spec.stage(COMPILE)
        if plan is None:
            return None
        self.compiles += 1
        compiled = await self._stage(plan, self._compile_argv(toolchain), None)
        failure = verdict.compile_failure(compiled, plan.limits.wall_s)
        status, reason = failure or (Status.OK, None)
        message = self._reason(status, reason)
        await self._stage_ended(COMPILE, verdict.complete(status, compiled, message))
        return None if failure is None else verdict.complete(status, None, message)

    def _plan(self, name: str) -> StagePlan:
        plan = self.spec.stage(name)
        if plan is None:
            raise SandboxError(f"the job's plan has no {name} stage")
        return plan

    def _reason(self, status: Status, reason: str | None) -> str | None:
        return self.kill_reason if status is Status.KILLED and self.kill_reason else reason

    def _compile_argv(self, toolchain: Toolchain) -> list[str]:
        lang = toolchain.language
        assert lang.compile is not None
        sources = [f.name for f in self.spec.files if f.name.endswith(lang.source_suffixes)]
        stdio = self.rt.natives.stdio if lang.line_buffered_stdio else None
        return expand(
            lang.compile,
            tool=toolchain.path,
            main=self.spec.main,
            sources=sources,
            stdio=stdio,
            options=self.spec.compiler_options,
        )

    def _run_argv(self, toolchain: Toolchain, args: list[str]) -> list[str]:
        lang = toolchain.language
        return expand(lang.run, tool=toolchain.path, main=self.spec.main, sources=[]) + args

    async def _stage(
        self, plan: StagePlan, program: list[str], feed: InputFeed | None
    ) -> StageResult:
        assert self.job_dir is not None
        compiling = plan.name == COMPILE
        request = StageRequest(
            slot=self.slot,
            job_dir=self.job_dir,
            name=plan.name,
            program=program,
            limits=plan.limits,
            streams=(Stream.COMPILE.value,) * 2 if compiling else ("stdout", "stderr"),
            merge_stderr=self.spec.merge_stderr and not compiling,
        )
        if self.spec.stage_events:
            await self._publish(StageEvent(stage=STAGE_NAMES[plan.name], event="start"))
        return await self.sandbox.run_stage(request, self._emit, feed, self.feed.kill, self.cleanup)

    async def _stage_ended(self, name: str, done: Complete) -> None:
        """A stage's own outcome: kept for the result, and a `stage` event if the job asks."""
        ended = StageEvent.model_validate(
            {"stage": STAGE_NAMES[name], "event": "end", "status": done.status, **outcome(done)}
        )
        self.stages_done.append(ended)
        if self.spec.stage_events:
            await self._publish(ended)

    async def _publish(self, event: StageEvent | TestReport) -> None:
        await retrying(partial(self.events.publish, event), PUBLISH_RETRY_S)

    def _cut(self, final: Complete | Error, stream: str) -> bool:
        """An output_limit verdict: the stream that wrote last is the one cut at the limit."""
        over = isinstance(final, Complete) and final.status is Status.OUTPUT_LIMIT
        return over and self.last_stream == stream

    async def _emit(self, stream: str, text: str) -> None:
        self.outputs[stream].add(text)
        self.last_stream = stream
        output = Output(stream=Stream(stream), data=text)
        await retrying(lambda: self.events.publish(output), PUBLISH_RETRY_S)

    # -- judge mode ----------------------------------------------------------------------------

    async def _judge(self, toolchain: Toolchain, sources: list[JobFile]) -> Complete:
        """Every test in a fresh sandbox of its own, with a fresh copy of the job's files and of
        the compiled program (read out of the compile stage's directory once it is dead)."""
        files = list(sources)
        if toolchain.language.compiled:
            assert self.job_dir is not None
            program = await self.sandbox.read_file(self.job_dir, BINARY, MAX_PROGRAM_MB << 20)
            if program is None:
                message = "the compiler left no program (or one that is not a plain file)"
                return verdict.complete(Status.COMPILE_ERROR, None, message)
            files.append(JobFile(BINARY, program, executable=True))
        comparison = parse_compare(self.spec.compare)
        for index, test in enumerate(self.spec.tests):
            report = await self._run_test(index, test, files, toolchain, comparison)
            self.reports.append(report)
            await self._publish(report)
            if self.feed.kill.is_set() or (
                self.spec.stop_on_failure and report.status is not Status.ACCEPTED
            ):
                break
        final = judge.job_complete(self.reports, len(self.spec.tests))
        if final.status is Status.KILLED and self.kill_reason:
            final = final.model_copy(update={"message": self.kill_reason})
        return final

    async def _run_test(
        self,
        index: int,
        test: TestCase,
        files: list[JobFile],
        toolchain: Toolchain,
        comparison: Comparison,
    ) -> TestReport:
        cleanup, outputs = Cleanup(), TestOutputs()
        job_dir = await self.sandbox.create_dir(
            self.slot, f"{self.spec.job_id}-{index}", files, cleanup, last=False
        )
        feed = InputFeed(kill=self.feed.kill)  # the test's stdin, then EOF; the job's kill
        feed.queue.put_nowait(test.stdin.encode("utf-8"))
        feed.queue.put_nowait(None)
        program = self._run_argv(toolchain, test.args)
        request = StageRequest(self.slot, job_dir, RUN, program, test.limits, ("stdout", "stderr"))
        try:
            result = await self.sandbox.run_stage(
                request, outputs.emit, feed, self.feed.kill, cleanup
            )
        finally:
            await self._clean_after_test(index, cleanup)
        run = verdict.run_status(result, cpu_soft_s(test.limits.cpu_s))
        status, message = judge.test_status(run, comparison, test.expected_output, outputs.stdout)
        return outputs.report(
            index, verdict.complete(status, result, self._reason(status, message))
        )

    async def _clean_after_test(self, index: int, cleanup: Cleanup) -> None:
        """Before the next test: nothing of this one may remain. What cannot be cleaned now is
        left to the job's clean-up (which retires the slot if it fails again), and the job ends
        here: the next test would not start fresh."""
        failures = await cleanup.run()
        if failures:
            self.cleanup.take_over(cleanup)
            raise SandboxError(f"test {index}: clean-up failed: {'; '.join(failures)}")

    # -- the client's side ---------------------------------------------------------------------

    async def _watch_client(self) -> None:
        """Kill the job once no client has been attached for longer than its grace: a client
        that disconnected without `kill`, or whose gateway died, leaves nobody to read it."""
        if self.spec.detach_grace_s == UNATTENDED:
            return
        lost_at: float | None = None
        while True:
            await asyncio.sleep(CLIENT_CHECK_S)
            try:
                attached = await self.events.is_attached()
            except ServiceUnavailable:
                continue  # Redis is away: no evidence the client is
            if attached:
                lost_at = None
                continue
            lost_at = lost_at or time.monotonic()
            if time.monotonic() - lost_at >= self.spec.detach_grace_s:
                self.kill("no client was connected to the job")
                return

    async def _read_controls(self) -> None:
        """Input, eof and kill from the client, in order, from the first one ever sent; a
        Redis outage only pauses it."""
        after = "0"
        while True:
            read = partial(self.events.read_controls, after, CONTROL_BLOCK_MS)
            for entry_id, control in await retrying(read, None):
                after = entry_id
                if isinstance(control, Input):
                    self.feed.queue.put_nowait(control.data.encode("utf-8", "replace"))
                elif isinstance(control, Eof):
                    self.feed.queue.put_nowait(None)
                elif isinstance(control, Kill):
                    self.feed.kill.set()
                elif isinstance(control, Signal):
                    self.feed.signals.put_nowait(signals.Signals[control.signal].value)


class TestOutputs:
    """One judged run's output: all of stdout, to compare, and what its report keeps."""

    def __init__(self) -> None:
        cap = results.TEST_OUTPUT_KB * 1024
        self.kept = {"stdout": results.Captured(cap), "stderr": results.Captured(cap)}
        self.whole: list[str] = []
        self.last = ""  # the stream that wrote last: the one an output_limit verdict cut

    async def emit(self, stream: str, text: str) -> None:
        self.kept[stream].add(text)
        self.last = stream
        if stream == "stdout":
            self.whole.append(text)

    @property
    def stdout(self) -> str:
        return "".join(self.whole)

    def truncated(self, stream: str, done: Complete) -> bool:
        cut = done.status is Status.OUTPUT_LIMIT and self.last == stream
        return self.kept[stream].truncated or cut

    def report(self, index: int, done: Complete) -> TestReport:
        return TestReport.model_validate(
            {
                "index": index,
                "status": done.status,
                **outcome(done),
                "stdout": self.kept["stdout"].text,
                "stderr": self.kept["stderr"].text,
                "stdout_truncated": self.truncated("stdout", done),
                "stderr_truncated": self.truncated("stderr", done),
            }
        )


async def retrying(call: Callable[[], Awaitable[T]], give_up_s: float | None) -> T:
    """`call()`, again with back-off while Redis is unavailable; after `give_up_s` (None: never)
    the last ServiceUnavailable is raised. A StoreFault is not retried: it will not mend."""
    delay, deadline = RETRY_FIRST_S, None if give_up_s is None else time.monotonic() + give_up_s
    while True:
        try:
            return await call()
        except StoreFault:
            raise
        except ServiceUnavailable as exc:
            if deadline is not None and time.monotonic() + delay > deadline:
                raise
            log.warning("redis unavailable (%s); retrying in %.1fs", exc.reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MOST_S)
