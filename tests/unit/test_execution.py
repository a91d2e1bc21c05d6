"""services.worker.execution.Execution against the scripted sandbox (tests/unit/fake_sandbox.py):
the plan carried out stage by stage, judge mode test by test, the terminal event and the stored
result, the clean-up each test leaves and the one left for the worker. No Firejail, no Redis."""

from __future__ import annotations

import asyncio
import signal as signals
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from lib import results
from lib.codes import ErrorCode, Status
from lib.config import Settings
from lib.errors import SandboxError, StoreFault
from lib.events import Control
from lib.jobs import COMPILE, RUN, UNATTENDED, JobSpec, build_spec
from lib.languages import LANGUAGES
from lib.protocol import Complete, Eof, Error, Input, JobRequest, Kill, Output, Stream
from services.worker import execution as execution_module
from services.worker.execution import MAX_PROGRAM_MB, Execution, Runtime
from services.worker.sandbox import Natives
from services.worker.stage import StageResult, Stop
from services.worker.toolchains import Toolchain
from tests.unit.fake_sandbox import (
    FakeEvents,
    FakeSandbox,
    Program,
    Run,
    compiler,
    exited,
    hanging,
    printing,
    returning,
    stopped,
)

JOB = "0123456789abcdef0123456789abcdef"
WORKER = "worker-7"
KEY = "key-3"
BINARY = b"\x7fELF the compiled program"
C_SOURCE = "int main(void) { return 0; }"

SETTINGS = Settings(
    _env_file=None,
    execution_timeout=2.0,
    compilation_timeout=3.0,
    max_memory_mb=256,
    compile_memory_mb=512,
    max_output_kb=64,
    max_processes=32,
    max_open_files=100,
    max_file_size_mb=8,
    max_tests=20,
    max_tests_kb=64,
    result_ttl_s=1234,
    resume_grace_s=30.0,
)
TOOLCHAINS = {
    name: Toolchain(lang, f"/fake/bin/{lang.tool}", "fake 1.0") for name, lang in LANGUAGES.items()
}
NATIVES = Natives(enter="/fake/enter", reaper="/fake/reaper", stdio="/fake/stdio.o")


def spec(**fields: object) -> JobSpec:
    request: dict[str, object] = {"language": "python"}
    if "files" not in fields:
        request["code"] = C_SOURCE if fields.get("language") in ("c", "cpp") else "print(1)"
    request.update(fields)
    return build_spec(JobRequest.model_validate(request), SETTINGS, job_id=JOB, key_id=KEY)


def doubling(n: int = 5, wrong: Sequence[int] = (), **fields: object) -> JobSpec:
    """A C job in judge mode: test i gives `i` and expects `2i` (for `wrong`, something else)."""
    tests = [
        {"stdin": f"{i}\n", "expected_output": "nope\n" if i in wrong else f"{2 * i}\n"}
        for i in range(n)
    ]
    return spec(language="c", tests=tests, **fields)


def dir_of(index: int) -> str:
    return f"{JOB}-{index}"


def index_of(run: Run) -> int:
    return int(run.dir.name.rsplit("-", 1)[1])


async def double(run: Run) -> StageResult:
    """The judged program: prints twice the number it reads."""
    number = int((await run.read()).strip())
    await run.out(f"{2 * number}\n")
    return exited(0, wall_s=0.25, cpu_s=0.125, rss_kb=1000 + number)


def by_stage(compile_: Program, run: Program) -> Program:
    async def program(r: Run) -> StageResult:
        return await (compile_ if r.name == COMPILE else run)(r)

    return program


def per_test(default: Program, **special: Program) -> Program:
    """Run stages by test index (`t2=...` plays test 2); the compile stage compiles."""
    make = compiler(BINARY)

    async def program(r: Run) -> StageResult:
        if r.name == COMPILE:
            return await make(r)
        return await special.get(f"t{index_of(r)}", default)(r)

    return program


@dataclass
class Job:
    execution: Execution
    sandbox: FakeSandbox
    events: FakeEvents
    final: Complete | Error | None = None

    async def run(self) -> Complete | Error:
        self.final = await self.execution.run()
        return self.final

    @property
    def log(self) -> list[tuple[str, str]]:
        return self.sandbox.log

    @property
    def stored(self) -> results.StoredResult:
        assert len(self.events.finished) == 1
        return results.decode_stored(self.events.finished[0].result)

    @property
    def result(self) -> results.JobResult:
        return self.stored.result

    @property
    def complete(self) -> Complete:
        assert isinstance(self.final, Complete), self.final
        return self.final

    def stages(self) -> list[str]:
        return self.sandbox.kinds("run_stage")


def job(
    tmp_path: Path,
    job_spec: JobSpec,
    program: Program | Sequence[Program] | None = None,
    controls: Sequence[Control] = (),
    toolchains: dict[str, Toolchain] | None = None,
) -> Job:
    sandbox = FakeSandbox(tmp_path, program)
    events = FakeEvents(log=sandbox.log, controls=controls)
    runtime = Runtime(SETTINGS, sandbox, NATIVES, TOOLCHAINS if toolchains is None else toolchains)
    execution = Execution(runtime, sandbox.slot(), job_spec, events, WORKER)  # type: ignore[arg-type]
    return Job(execution, sandbox, events)


async def run_job(
    tmp_path: Path,
    job_spec: JobSpec,
    program: Program | Sequence[Program] | None = None,
    controls: Sequence[Control] = (),
) -> Job:
    j = job(tmp_path, job_spec, program, controls)
    await j.run()
    return j


# --- one run stage --------------------------------------------------------------------------------


async def test_interpreted_job_runs_one_stage_and_ends_ok(tmp_path: Path) -> None:
    j = await run_job(
        tmp_path,
        spec(code="print('hi')", args=["-v", "x"]),
        [printing(stdout="hello\n", stderr="careful\n")],
    )
    final = j.complete
    assert final.status is Status.OK
    assert final.exit_code == 0
    assert final.passed is None and final.total is None
    assert j.stages() == [f"run@{JOB}"]
    [run] = j.sandbox.runs
    assert run.argv == ["/fake/bin/python3", "-u", "-B", "main.py", "-v", "x"]
    assert run.files == {"main.py": b"print('hi')"}
    assert run.request.streams == ("stdout", "stderr")
    assert run.request.limits == j.execution.spec.stages[0].limits
    assert run.feed is j.execution.feed
    assert j.sandbox.kinds("read_file") == []
    # the terminal event, once, by this worker, with the result stored next to it
    [finished] = j.events.finished
    assert finished.event == final
    assert finished.by == WORKER
    assert finished.ttl == SETTINGS.result_ttl_s
    assert j.stored.key_id == KEY
    result = j.result
    assert result.job_id == JOB
    assert result.language == "python"
    assert result.status == "ok"
    assert result.stdout == "hello\n"
    assert result.stderr == "careful\n"
    assert result.compile_output == ""
    assert not result.stdout_truncated and not result.stderr_truncated
    assert result.tests is None
    assert j.events.outputs == [
        Output(stream=Stream.STDOUT, data="hello\n"),
        Output(stream=Stream.STDERR, data="careful\n"),
    ]


async def test_job_directory_is_made_and_marked_started_before_any_stage(tmp_path: Path) -> None:
    j = await run_job(tmp_path, spec(), [printing("1\n")])
    assert j.log[:3] == [
        ("create_dir", JOB),
        ("mark_started", WORKER),
        ("run_stage", f"run@{JOB}"),
    ]
    assert j.log[-1] == ("finish", "ok")
    assert j.sandbox.dirs[0].last is True
    assert j.events.started == WORKER


async def test_client_input_reaches_the_program(tmp_path: Path) -> None:
    async def echo(run: Run) -> StageResult:
        await run.out((await run.read()).upper())
        return exited(0)

    controls: list[Control] = [
        Input(type="input", data="ab"),
        Input(type="input", data="c\n"),
        Eof(type="eof"),
    ]
    j = await run_job(tmp_path, spec(), [echo], controls)
    assert j.complete.status is Status.OK
    assert bytes(j.sandbox.runs[0].stdin) == b"abc\n"
    assert j.result.stdout == "ABC\n"


@pytest.mark.parametrize(
    ("ending", "status", "exit_code", "signal"),
    [
        (exited(3), Status.RUNTIME_ERROR, 3, None),
        (exited(None, signal=int(signals.SIGSEGV)), Status.RUNTIME_ERROR, None, "SIGSEGV"),
        (exited(0, oom_kills=1), Status.MEMORY_LIMIT, 0, None),
        (stopped(Stop.TIMEOUT), Status.TIMEOUT, None, None),
    ],
)
async def test_run_verdicts(
    tmp_path: Path, ending: StageResult, status: Status, exit_code: int | None, signal: str | None
) -> None:
    j = await run_job(tmp_path, spec(), [returning(ending)])
    assert j.complete.status is status
    assert j.complete.exit_code == exit_code
    assert j.complete.signal == signal
    assert j.result.status == status.value


async def test_wall_clock_limit_ends_a_hanging_program(tmp_path: Path) -> None:
    j = await run_job(tmp_path, spec(limits={"time_s": 0.05}), [hanging()])
    assert j.sandbox.runs[0].request.limits.wall_s == 0.05
    assert j.complete.status is Status.TIMEOUT


async def test_output_over_the_limit_is_cut_and_marked(tmp_path: Path) -> None:
    async def flood(run: Run) -> StageResult:
        await run.err("e")
        while True:
            await run.out("x" * 100)

    j = await run_job(tmp_path, spec(limits={"output_kb": 1}), [flood])
    assert j.complete.status is Status.OUTPUT_LIMIT
    assert j.result.stdout == "x" * 1023
    assert j.result.stdout_truncated is True
    assert j.result.stderr_truncated is False


async def test_kill_from_the_client_stops_the_run(tmp_path: Path) -> None:
    j = job(tmp_path, spec())

    async def slow(run: Run) -> StageResult:
        await run.out("working\n")
        j.events.send(Kill(type="kill"))
        return await run.hang()

    j.sandbox._queue = [slow]
    await j.run()
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "stopped by the client"
    assert j.result.stdout == "working\n"
    assert j.sandbox.results[0].stopped is Stop.KILLED


async def test_kill_by_the_worker_carries_its_reason(tmp_path: Path) -> None:
    j = job(tmp_path, spec())

    async def slow(run: Run) -> StageResult:
        j.execution.kill("the worker is shutting down")
        return await run.hang()

    j.sandbox._queue = [slow]
    await j.run()
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "the worker is shutting down"


async def test_a_job_with_no_client_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "CLIENT_CHECK_S", 0.01)
    j = job(tmp_path, spec(), [hanging()])
    j.events.attached = False
    await j.run()
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "no client was connected to the job"


async def test_an_attached_client_keeps_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "CLIENT_CHECK_S", 0.01)

    async def a_while(run: Run) -> StageResult:
        await asyncio.sleep(0.1)  # ten checks of the lease
        return exited(0)

    j = job(tmp_path, spec(), [a_while])
    await j.run()
    assert j.complete.status is Status.OK


async def test_missing_toolchain_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    j = job(tmp_path, spec(language="rust"), toolchains={"python": TOOLCHAINS["python"]})
    await j.run()
    assert isinstance(j.final, Error)
    assert j.final.code is ErrorCode.LANGUAGE_UNAVAILABLE
    assert j.log == [("finish", "error:language_unavailable")]
    assert j.result.status == results.JobState.ERROR.value
    assert j.result.error is not None
    assert j.result.error.code is ErrorCode.LANGUAGE_UNAVAILABLE


async def test_sandbox_failure_is_an_internal_error(tmp_path: Path) -> None:
    async def broken(run: Run) -> StageResult:
        raise SandboxError("the sandbox did not start")

    j = await run_job(tmp_path, spec(), [broken])
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.complete.message == "the sandbox failed to run the job"
    assert j.result.status == "internal_error"


async def test_output_publishing_waits_out_a_redis_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "RETRY_FIRST_S", 0.001)
    j = job(tmp_path, spec(), [printing("once\n")])
    j.events.failures["publish"] = 2
    await j.run()
    assert j.complete.status is Status.OK
    assert j.events.outputs == [Output(stream=Stream.STDOUT, data="once\n")]
    assert j.result.stdout == "once\n"


async def test_a_redis_refusal_that_does_not_mend_while_publishing_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(execution_module, "PUBLISH_RETRY_S", 0.05)
    j = job(tmp_path, doubling(3), per_test(double))
    j.events.failures["publish"] = 10_000
    await j.run()
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.complete.message == "the service's storage failed while the job ran"
    assert j.events.calls["publish"] > 1  # it was retried before giving up
    assert j.stages() == [f"compile@{JOB}", f"run@{dir_of(0)}"]
    assert j.result.status == "internal_error"


async def test_a_store_fault_is_not_retried(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(3), per_test(double))
    j.events.failure = StoreFault
    j.events.failures["publish"] = 1
    await j.run()
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.events.calls["publish"] == 1


async def test_a_redis_refusal_that_does_not_mend_while_publishing_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox that raises emit's error as it is (not the real one: see the next test)."""
    monkeypatch.setattr(execution_module, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(execution_module, "PUBLISH_RETRY_S", 0.05)
    j = job(tmp_path, spec(), [printing("lost\n")])
    j.events.failures["publish"] = 10_000
    await j.run()
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.complete.message == "the service's storage failed while the job ran"
    assert j.result.stdout == "lost\n"


async def test_the_terminal_event_not_published_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(execution_module, "PUBLISH_RETRY_S", 0.05)
    j = job(tmp_path, spec(), [printing("1\n")])
    j.events.failures["finish"] = 10_000
    final = await j.run()
    assert isinstance(final, Complete) and final.status is Status.OK
    assert j.events.finished == []
    assert j.events.calls["finish"] > 1


async def test_redis_failing_before_the_program_starts(tmp_path: Path) -> None:
    j = job(tmp_path, spec(), [printing("never\n")])
    j.events.failures["mark_started"] = 1
    await j.run()
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.stages() == []
    assert j.log[-1] == ("finish", "internal_error")


async def test_an_unattended_job_is_not_killed_without_a_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "CLIENT_CHECK_S", 0.01)

    async def a_while(run: Run) -> StageResult:
        await asyncio.sleep(0.1)
        return exited(0)

    unattended = spec().model_copy(update={"detach_grace_s": UNATTENDED})
    j = job(tmp_path, unattended, [a_while])
    j.events.attached = False
    await j.run()
    assert j.complete.status is Status.OK
    assert j.events.calls["is_attached"] == 0


async def test_a_client_back_within_its_grace_keeps_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "CLIENT_CHECK_S", 0.01)
    j = job(tmp_path, spec().model_copy(update={"detach_grace_s": 0.3}))

    async def reconnecting(run: Run) -> StageResult:
        j.events.attached = False
        await asyncio.sleep(0.1)
        j.events.attached = True
        await asyncio.sleep(0.1)
        return exited(0)

    j.sandbox._queue = [reconnecting]
    await j.run()
    assert j.complete.status is Status.OK


async def test_the_lease_unreadable_is_no_evidence_the_client_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution_module, "CLIENT_CHECK_S", 0.01)

    async def a_while(run: Run) -> StageResult:
        await asyncio.sleep(0.1)
        return exited(0)

    j = job(tmp_path, spec(), [a_while])
    j.events.failures["is_attached"] = 10_000
    await j.run()
    assert j.complete.status is Status.OK
    assert j.events.calls["is_attached"] > 1


# --- compile, then run --------------------------------------------------------------------------


async def test_compiled_job_compiles_then_runs(tmp_path: Path) -> None:
    j = await run_job(
        tmp_path,
        spec(language="c", args=["7"]),
        [compiler(BINARY, output="warning: unused\n"), printing("ran\n")],
    )
    assert j.complete.status is Status.OK
    assert j.stages() == [f"compile@{JOB}", f"run@{JOB}"]
    compile_run, program_run = j.sandbox.runs
    assert compile_run.argv == [
        "/fake/bin/gcc",
        "-std=c11",
        "-D_DEFAULT_SOURCE",
        "-O2",
        "-pipe",
        "-o",
        "main",
        "main.c",
        "/fake/stdio.o",
        "-lm",
    ]
    assert compile_run.request.streams == ("compile", "compile")
    assert compile_run.request.limits == j.execution.spec.stage(COMPILE).limits  # type: ignore[union-attr]
    assert compile_run.feed is None
    assert compile_run.files == {"main.c": C_SOURCE.encode()}
    # the run is in the same directory, with what the compiler left
    assert program_run.argv == ["./main", "7"]
    assert program_run.request.limits == j.execution.spec.stage(RUN).limits  # type: ignore[union-attr]
    assert program_run.files == {"main.c": C_SOURCE.encode(), "main": BINARY}
    assert j.execution.compiles == 1
    assert j.result.compile_output == "warning: unused\n"
    assert j.result.stdout == "ran\n"
    assert j.events.outputs == [
        Output(stream=Stream.COMPILE, data="warning: unused\n"),
        Output(stream=Stream.STDOUT, data="ran\n"),
    ]


@pytest.mark.parametrize(
    ("ending", "message"),
    [
        (exited(1), "compilation failed"),
        (exited(None, signal=int(signals.SIGKILL)), "compilation failed"),
        (exited(0, oom_kills=2), "the compiler ran out of memory"),
        (stopped(Stop.TIMEOUT), "compilation took longer than 3 s"),
        (stopped(Stop.OUTPUT), "the compiler wrote more than the output limit"),
    ],
)
async def test_compile_failure_ends_the_job_with_no_run(
    tmp_path: Path, ending: StageResult, message: str
) -> None:
    async def failing(run: Run) -> StageResult:
        await run.out("main.c:1: error: expected ';'\n")
        return ending

    j = await run_job(tmp_path, spec(language="c"), [failing])
    assert j.complete.status is Status.COMPILE_ERROR
    assert j.complete.message == message
    assert j.stages() == [f"compile@{JOB}"]
    assert j.result.compile_output == "main.c:1: error: expected ';'\n"
    assert j.result.stdout == ""


async def test_kill_during_compilation(tmp_path: Path) -> None:
    j = await run_job(tmp_path, spec(language="cpp"), [returning(stopped(Stop.KILLED))])
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "stopped by the client during compilation"
    assert j.stages() == [f"compile@{JOB}"]


async def test_the_jobs_own_cleanup_is_left_for_the_worker(tmp_path: Path) -> None:
    j = await run_job(tmp_path, spec(language="c"), [compiler(BINARY), printing()])
    assert j.sandbox.kinds("cleanup") == []
    job_dir = j.sandbox.dirs[0].path
    assert job_dir.is_dir()
    assert await j.execution.cleanup.run() == []
    assert j.sandbox.kinds("cleanup") == [
        "the job directory",
        f"the compile cgroup of {JOB}",
        f"the run cgroup of {JOB}",
    ]
    assert not job_dir.exists()


# --- judge mode ---------------------------------------------------------------------------------


async def test_judge_mode_five_tests(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(5, wrong=[3]), per_test(double))
    log = j.log
    final = j.complete
    # one compile, in the job's directory; then five runs, each in a directory of its own
    assert j.stages() == [f"compile@{JOB}"] + [f"run@{dir_of(i)}" for i in range(5)]
    assert j.execution.compiles == 1
    assert j.sandbox.kinds("create_dir") == [JOB] + [dir_of(i) for i in range(5)]
    assert [d.last for d in j.sandbox.dirs] == [True] + [False] * 5
    assert j.sandbox.kinds("read_file") == [f"main@{JOB}"]
    assert j.sandbox.reads[0][2] == MAX_PROGRAM_MB << 20
    for i, run in enumerate(j.sandbox.runs[1:]):
        assert run.dir.name == dir_of(i)
        assert run.files == {"main.c": C_SOURCE.encode(), "main": BINARY}
        assert run.modes["main"] & 0o100, "the program's copy must be executable"
        assert bytes(run.stdin) == f"{i}\n".encode() and run.eof
        assert run.argv == ["./main"]
        assert run.request.limits == j.execution.spec.tests[i].limits
    # each test cleaned up before the next one's directory exists
    for i in range(5):
        ran = log.index(("run_stage", f"run@{dir_of(i)}"))
        removed = log.index(("cleanup", f"the directory {dir_of(i)}"))
        cgroup = log.index(("cleanup", f"the run cgroup of {dir_of(i)}"))
        reported = log.index(("publish", f"test:{i}"))
        assert ran < removed < reported and ran < cgroup < reported
        if i < 4:
            assert reported < log.index(("create_dir", dir_of(i + 1)))
        assert not (j.sandbox.root / "jobs" / dir_of(i)).exists()
    # five reports, in order, then the terminal event
    reports = j.events.reports
    assert [r.index for r in reports] == [0, 1, 2, 3, 4]
    assert log.index(("publish", "test:4")) < log.index(("finish", "wrong_answer"))
    assert not any(isinstance(e, Complete) for e in j.events.published)
    assert [r.status for r in reports] == [Status.ACCEPTED] * 3 + [
        Status.WRONG_ANSWER,
        Status.ACCEPTED,
    ]
    assert [r.stdout for r in reports] == [f"{2 * i}\n" for i in range(5)]
    assert reports[3].message == "the output differs from the expected output"
    assert reports[2].memory_kb == 1002 and reports[2].execution_time == 0.25
    # the job's verdict
    assert final.status is Status.WRONG_ANSWER
    assert final.message == "test 3: the output differs from the expected output"
    assert (final.passed, final.total) == (4, 5)
    assert final.execution_time == 1.25
    assert final.memory_kb == 1004
    assert j.result.tests == reports
    assert (j.result.passed, j.result.total) == (4, 5)
    assert j.execution.verdicts == {"accepted": 4, "wrong_answer": 1}
    # the program's own output went into the reports, not onto the job's stream
    assert j.events.outputs == []


async def test_judge_mode_all_accepted(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(3), per_test(double))
    assert j.complete.status is Status.ACCEPTED
    assert j.complete.message is None
    assert (j.complete.passed, j.complete.total) == (3, 3)
    assert j.result.status == "accepted"
    assert [r.status for r in j.events.reports] == [Status.ACCEPTED] * 3


@pytest.mark.parametrize(
    ("compare", "printed", "expected", "status"),
    [
        ("exact", "1 2\n", "1 2\n", Status.ACCEPTED),
        ("exact", "1 2 \n", "1 2\n", Status.WRONG_ANSWER),
        ("lines", "1 2 \n\n", "1 2\n", Status.ACCEPTED),
        ("lines", "1  2\n", "1 2\n", Status.WRONG_ANSWER),
        ("tokens", "1\n  2\n", "1 2", Status.ACCEPTED),
        ("tokens", "0.3333333\n", "0.333333333\n", Status.WRONG_ANSWER),
        ("float:1e-6", "0.3333333\n", "0.333333333\n", Status.ACCEPTED),
        ("float:1e-9", "0.3333333\n", "0.333333333\n", Status.WRONG_ANSWER),
        (None, "1 2\r\n", "1 2", Status.ACCEPTED),  # the default: lines
    ],
)
async def test_judge_compare_modes(
    tmp_path: Path, compare: str | None, printed: str, expected: str, status: Status
) -> None:
    tests = [{"stdin": "", "expected_output": expected}]
    j = await run_job(
        tmp_path, spec(tests=tests, compare=compare), by_stage(compiler(), printing(printed))
    )
    [report] = j.events.reports
    assert report.status is status
    assert j.complete.status is status


async def test_interpreted_judge_mode_reads_no_program(tmp_path: Path) -> None:
    tests = [
        {"stdin": "1\n", "expected_output": "2\n"},
        {"stdin": "2\n", "expected_output": "4\n", "args": ["--fast"]},
    ]
    j = await run_job(tmp_path, spec(tests=tests, args=["-q"]), double)
    assert j.complete.status is Status.ACCEPTED
    assert j.sandbox.kinds("read_file") == []
    assert j.stages() == [f"run@{dir_of(0)}", f"run@{dir_of(1)}"]
    assert [r.files for r in j.sandbox.runs] == [{"main.py": b"print(1)"}] * 2
    assert [r.argv[-1] for r in j.sandbox.runs] == ["-q", "--fast"]


async def test_each_test_starts_in_a_fresh_directory(tmp_path: Path) -> None:
    async def litter(run: Run) -> StageResult:
        run.write("scratch", b"left by test %d" % index_of(run), 0o644)
        return await double(run)

    j = await run_job(tmp_path, doubling(3), per_test(litter))
    assert j.complete.status is Status.ACCEPTED
    for run in j.sandbox.runs[1:]:
        assert "scratch" not in run.files


async def test_stop_on_failure_stops_after_the_first_failure(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(5, wrong=[1], stop_on_failure=True), per_test(double))
    assert j.stages() == [f"compile@{JOB}", f"run@{dir_of(0)}", f"run@{dir_of(1)}"]
    assert [r.index for r in j.events.reports] == [0, 1]
    assert j.complete.status is Status.WRONG_ANSWER
    assert (j.complete.passed, j.complete.total) == (1, 5)
    assert j.sandbox.kinds("create_dir") == [JOB, dir_of(0), dir_of(1)]


async def test_without_stop_on_failure_every_test_runs(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(4, wrong=[0, 1]), per_test(double))
    assert [r.index for r in j.events.reports] == [0, 1, 2, 3]
    assert j.complete.status is Status.WRONG_ANSWER
    assert j.complete.message is not None and j.complete.message.startswith("test 0:")
    assert (j.complete.passed, j.complete.total) == (2, 4)


async def test_kill_during_the_third_test(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(5))

    async def killed(run: Run) -> StageResult:
        j.events.send(Kill(type="kill"))
        return await run.hang()

    j.sandbox._program = per_test(double, t2=killed)
    await j.run()
    log = j.log
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "test 2: stopped by the client"
    assert (j.complete.passed, j.complete.total) == (2, 5)
    assert [r.index for r in j.events.reports] == [0, 1, 2]
    assert j.events.reports[2].status is Status.KILLED
    assert j.sandbox.results[-1].stopped is Stop.KILLED
    assert j.sandbox.kinds("create_dir") == [JOB, dir_of(0), dir_of(1), dir_of(2)]
    # test 2 was cleaned up all the same, before the job ended
    finish = log.index(("finish", "killed"))
    assert log.index(("cleanup", f"the directory {dir_of(2)}")) < finish
    assert log.index(("cleanup", f"the run cgroup of {dir_of(2)}")) < finish
    assert [r.index for r in j.result.tests or []] == [0, 1, 2]


async def test_worker_kill_during_a_test_carries_its_reason(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(3))

    async def killed(run: Run) -> StageResult:
        j.execution.kill("the worker is shutting down")
        return await run.hang()

    j.sandbox._program = per_test(double, t1=killed)
    await j.run()
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "the worker is shutting down"
    assert j.events.reports[1].message == "the worker is shutting down"
    assert [r.index for r in j.events.reports] == [0, 1]


async def test_killed_between_two_tests(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(4))

    async def then_kill(run: Run) -> StageResult:
        result = await double(run)
        j.execution.feed.kill.set()  # as the control reader does on the client's `kill`
        return result

    j.sandbox._program = per_test(double, t1=then_kill)
    await j.run()
    assert [(r.index, r.status) for r in j.events.reports] == [
        (0, Status.ACCEPTED),
        (1, Status.ACCEPTED),
    ]
    assert j.complete.status is Status.KILLED
    assert j.complete.message is None
    assert (j.complete.passed, j.complete.total) == (2, 4)
    assert j.sandbox.kinds("create_dir") == [JOB, dir_of(0), dir_of(1)]


async def test_worker_kill_between_two_tests_carries_its_reason(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(4))

    async def then_kill(run: Run) -> StageResult:
        result = await double(run)
        j.execution.kill("no client was connected to the job")
        return result

    j.sandbox._program = per_test(double, t0=then_kill)
    await j.run()
    assert [r.status for r in j.events.reports] == [Status.ACCEPTED]
    assert j.complete.status is Status.KILLED
    assert j.complete.message == "no client was connected to the job"


async def test_client_input_reaches_no_test(tmp_path: Path) -> None:
    controls: list[Control] = [Input(type="input", data="99\n"), Eof(type="eof")]
    j = await run_job(tmp_path, doubling(2), per_test(double), controls)
    assert [bytes(r.stdin) for r in j.sandbox.runs[1:]] == [b"0\n", b"1\n"]
    assert j.complete.status is Status.ACCEPTED


async def test_timeout_on_one_test(tmp_path: Path) -> None:
    j = await run_job(
        tmp_path, doubling(5), per_test(double, t2=returning(stopped(Stop.TIMEOUT, wall_s=2.0)))
    )
    reports = j.events.reports
    assert [r.status for r in reports] == [Status.ACCEPTED] * 2 + [Status.TIMEOUT] + [
        Status.ACCEPTED
    ] * 2
    assert j.complete.status is Status.TIMEOUT
    assert j.complete.message == "test 2: the program ran past its time limit"
    assert (j.complete.passed, j.complete.total) == (4, 5)
    assert j.complete.execution_time == 3.0  # four runs of 0.25 s and one of 2 s


async def test_a_test_at_its_own_time_limit(tmp_path: Path) -> None:
    tests = [
        {"stdin": "1\n", "expected_output": "2\n"},
        {"stdin": "2\n", "expected_output": "4\n", "limits": {"time_s": 0.05}},
    ]
    j = await run_job(tmp_path, spec(tests=tests), per_test(double, t1=hanging()))
    assert [r.status for r in j.events.reports] == [Status.ACCEPTED, Status.TIMEOUT]
    assert j.sandbox.runs[1].request.limits.wall_s == 0.05
    assert j.complete.status is Status.TIMEOUT


async def test_a_test_at_its_output_limit(tmp_path: Path) -> None:
    async def flood(run: Run) -> StageResult:
        while True:
            await run.out("x" * 100)

    tests = [
        {"stdin": "1\n", "expected_output": "2\n"},
        {"stdin": "", "expected_output": "x", "limits": {"output_kb": 1}},
    ]
    j = await run_job(tmp_path, spec(tests=tests), per_test(double, t1=flood))
    report = j.events.reports[1]
    assert report.status is Status.OUTPUT_LIMIT
    assert report.stdout == "x" * 1024
    assert j.complete.status is Status.OUTPUT_LIMIT
    assert j.complete.message == "test 1: the program wrote more than the output limit"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_a_test_cut_at_its_output_limit_says_which_stream(
    tmp_path: Path, stream: str
) -> None:
    async def flood(run: Run) -> StageResult:
        await run.out("o")
        await run.err("e")
        while True:
            await (run.out if stream == "stdout" else run.err)("x" * 100)

    tests = [{"stdin": "", "expected_output": "x", "limits": {"output_kb": 1}}]
    j = await run_job(tmp_path, spec(tests=tests), [flood])
    [report] = j.events.reports
    assert report.status is Status.OUTPUT_LIMIT
    assert report.stdout_truncated is (stream == "stdout")
    assert report.stderr_truncated is (stream == "stderr")


async def test_a_tests_report_keeps_the_first_part_but_judges_all_of_it(tmp_path: Path) -> None:
    cap = results.TEST_OUTPUT_KB * 1024
    whole = "y" * (cap + 100) + "\n"
    tests = [{"stdin": "", "expected_output": whole}, {"stdin": "", "expected_output": "z"}]
    j = await run_job(tmp_path, spec(tests=tests), printing(whole))
    first, second = j.events.reports
    assert first.status is Status.ACCEPTED  # compared in full, not as kept
    assert first.stdout == whole[:cap]
    assert first.stdout_truncated is True
    assert second.status is Status.WRONG_ANSWER
    assert j.result.tests == [first, second]


async def test_missing_binary_after_compile_is_a_compile_error(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(3), [printing("compiled, or so it says\n")])
    assert j.complete.status is Status.COMPILE_ERROR
    assert j.complete.message is not None and "no program" in j.complete.message
    assert j.sandbox.kinds("read_file") == [f"main@{JOB}"]
    assert j.stages() == [f"compile@{JOB}"]
    assert j.sandbox.kinds("create_dir") == [JOB]
    assert j.events.reports == []
    assert j.result.status == "compile_error"
    assert (j.complete.passed, j.complete.total) == (None, None)


async def test_a_judged_job_that_does_not_compile_runs_no_test(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(3), [printing("main.c:1: error\n", code=1)])
    assert j.complete.status is Status.COMPILE_ERROR
    assert j.complete.message == "compilation failed"
    assert (j.complete.passed, j.complete.total) == (None, None)
    assert j.stages() == [f"compile@{JOB}"]
    assert j.sandbox.kinds("read_file") == []
    assert j.events.reports == []
    assert j.events.outputs == [Output(stream=Stream.COMPILE, data="main.c:1: error\n")]
    assert j.result.compile_output == "main.c:1: error\n"


async def test_a_directory_instead_of_a_binary_is_a_compile_error(tmp_path: Path) -> None:
    async def odd(run: Run) -> StageResult:
        (run.dir / "main").mkdir()
        return exited(0)

    j = await run_job(tmp_path, doubling(2), [odd])
    assert j.complete.status is Status.COMPILE_ERROR
    assert j.sandbox.kinds("create_dir") == [JOB]


async def test_a_per_test_cleanup_failure_ends_the_job(tmp_path: Path) -> None:
    j = job(tmp_path, doubling(5), per_test(double))
    failing = f"the directory {dir_of(1)}"
    j.sandbox.fail_steps[failing] = 1
    await j.run()
    log = j.log
    assert j.complete.status is Status.INTERNAL_ERROR
    assert j.result.status == "internal_error"
    # no test after the one whose clean-up failed
    assert j.sandbox.kinds("create_dir") == [JOB, dir_of(0), dir_of(1)]
    assert [r.index for r in j.events.reports] == [0]
    assert ("cleanup_failed", failing) in log
    # the rest of that test's clean-up still ran
    assert ("cleanup", f"the run cgroup of {dir_of(1)}") in log
    # the failing step is the job's now: the worker runs it with the job's own steps
    assert j.sandbox.kinds("cleanup").count(failing) == 0
    assert await j.execution.cleanup.run() == []
    assert j.sandbox.kinds("cleanup")[-3:] == [
        "the job directory",
        f"the compile cgroup of {JOB}",
        failing,
    ]
    assert not (j.sandbox.root / "jobs" / dir_of(1)).exists()


async def test_judge_job_cleanup_is_left_for_the_worker(tmp_path: Path) -> None:
    j = await run_job(tmp_path, doubling(2), per_test(double))
    done = j.sandbox.kinds("cleanup")
    assert "the job directory" not in done
    assert f"the compile cgroup of {JOB}" not in done
    assert j.sandbox.dirs[0].path.is_dir()
    await j.execution.cleanup.run()
    assert j.sandbox.kinds("cleanup")[-2:] == ["the job directory", f"the compile cgroup of {JOB}"]
