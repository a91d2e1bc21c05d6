"""The job plan: the spec that travels on the queue, resolved once from a request and the caps.

A spec names every stage the worker runs (compile, if the language has one, then run), each with
all of its limits, and the test cases of judge mode, each with its own resolved run limits. Every
limit is decided here, in the gateway, from the request and the server's settings; the worker only
carries the plan out (issue 8: no limit is decided in two processes).

Pure. Every rule here gives a clear RequestError; nothing reaches the worker unchecked.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from lib.codes import ErrorCode
from lib.compare import parse_compare
from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge
from lib.files import RESERVED_NAMES, check_filename, check_sizes, collect_files
from lib.languages import Language, resolve
from lib.options import check_compiler_options
from lib.protocol import Execute, JobRequest, RequestLimits, SourceFile, TestCaseRequest

MIN_MEMORY_MB = 16
MAX_ARG_BYTES = 4096
COMPILE_TASKS = 128  # processes and threads of a compile stage (gcc, cc1, as, ld; rustc's threads)
COMPILE = "compile"
RUN = "run"
UNATTENDED = -1.0  # detach_grace_s of a job no client waits on (POST /api/execute?wait=false)


class Limits(BaseModel):
    """What a request may ask for (`limits`), resolved: the run's time, memory and output, and
    (None: the server's) CPU time, processes and file size."""

    model_config = ConfigDict(frozen=True)

    time_s: float
    memory_mb: int
    output_kb: int
    cpu_s: float | None = None
    processes: int | None = None
    file_size_mb: int | None = None
    stack_kb: int | None = None


class StageLimits(BaseModel):
    """Every limit of one sandboxed stage."""

    model_config = ConfigDict(frozen=True)

    wall_s: float
    cpu_s: float
    memory_mb: int
    processes: int
    open_files: int
    file_size_mb: int
    output_kb: int  # stdout and stderr together (a compile stage: the compiler's output)
    stack_kb: int | None = None  # the program's stack (RLIMIT_STACK); None: the system's


class StagePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # COMPILE or RUN; also the stage's cgroup name under its slot
    limits: StageLimits


class TestCase(BaseModel):
    """One judged run: its input, the output it must give, its own argv and limits."""

    model_config = ConfigDict(frozen=True)

    stdin: str
    expected_output: str | None  # None: any run that ends well is accepted
    args: list[str]
    limits: StageLimits


class JobSpec(BaseModel):
    """What a worker needs to run one job. Serialized as JSON into the queue stream."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    language: str
    main: str
    files: list[SourceFile]
    args: list[str] = Field(default_factory=list)
    limits: Limits
    stages: list[StagePlan]
    tests: list[TestCase] = Field(default_factory=list)  # judge mode when not empty
    compare: str = "lines"
    stop_on_failure: bool = False
    compiler_options: list[str] = Field(default_factory=list)  # allowed by lib.options
    merge_stderr: bool = False  # the run's stderr is its stdout (one pipe)
    stage_events: bool = False  # publish a `stage` event at each stage's start and end
    key_id: str = ""  # the API key that started the job: who may read its result
    enqueued_at: float = Field(default_factory=time.time)
    # With no client attached for longer than this, the worker kills the job (0: at once;
    # UNATTENDED: never, the job runs to its end and its result is read by id).
    detach_grace_s: float = 0.0

    def stage(self, name: str) -> StagePlan | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def judged(self) -> bool:
        return bool(self.tests)

    @property
    def longest_s(self) -> float:
        """The wall-clock time every stage and test may take in all (admission's bound)."""
        compile_ = self.stage(COMPILE)
        runs = [t.limits.wall_s for t in self.tests] or [self.limits.time_s]
        return (compile_.limits.wall_s if compile_ else 0.0) + sum(runs)


def utf8(text: str, what: str) -> bytes:
    """Encode text for the sandbox; JSON can carry lone surrogates, which UTF-8 cannot."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(f"{what} is not valid Unicode (lone surrogate)") from exc


def check_args(args: list[str], settings: Settings) -> None:
    if len(args) > settings.max_args:
        raise InvalidRequest(
            f"at most {settings.max_args} arguments", code=ErrorCode.LIMIT_EXCEEDED
        )
    for arg in args:
        if "\x00" in arg or len(utf8(arg, "an argument")) > MAX_ARG_BYTES:
            raise InvalidRequest(
                f"an argument has a NUL byte or is over {MAX_ARG_BYTES} bytes",
                code=ErrorCode.INVALID_REQUEST,
            )


def resolve_limits(asked: RequestLimits | None, settings: Settings) -> Limits:
    """The request's limits, each defaulting to and capped by the server's setting (CPU time
    defaults to the wall-clock limit, and is capped like it)."""
    a = asked or RequestLimits()
    time_s = _capped("time_s", a.time_s, settings.execution_timeout)
    memory = _capped("memory_mb", a.memory_mb, settings.max_memory_mb)
    _at_least_min_memory("limits.memory_mb", memory)
    return Limits(
        time_s=float(time_s),
        memory_mb=int(memory),
        output_kb=int(_capped("output_kb", a.output_kb, settings.max_output_kb)),
        # None: not asked for; the stage then gets the wall-clock limit, or the server's cap.
        cpu_s=_capped("cpu_s", a.cpu_s, settings.execution_timeout) if a.cpu_s else None,
        processes=_whole("processes", a.processes, settings.max_processes),
        file_size_mb=_whole("file_size_mb", a.file_size_mb, settings.max_file_size_mb),
        # A stack larger than the memory limit could never be used: that is its cap.
        stack_kb=_whole("stack_kb", a.stack_kb, int(memory) * 1024),
    )


def _whole(name: str, asked: int | None, cap: int) -> int | None:
    return None if asked is None else int(_capped(name, asked, cap))


def _at_least_min_memory(name: str, memory: float) -> None:
    if memory < MIN_MEMORY_MB:
        raise InvalidRequest(
            f"{name} must be at least {MIN_MEMORY_MB}", code=ErrorCode.LIMIT_EXCEEDED
        )


def _capped(
    name: str, asked: float | None, cap: float, default: float | None = None, where: str = "limits"
) -> float:
    if asked is None:
        return cap if default is None else default
    if asked > cap:
        raise InvalidRequest(
            f"{where}.{name} = {asked} is above the server's cap of {cap}",
            code=ErrorCode.LIMIT_EXCEEDED,
        )
    return asked


def run_limits(limits: Limits, settings: Settings) -> StageLimits:
    return StageLimits(
        wall_s=limits.time_s,
        cpu_s=limits.cpu_s or limits.time_s,
        memory_mb=limits.memory_mb,
        processes=limits.processes or settings.max_processes,
        open_files=settings.max_open_files,
        file_size_mb=limits.file_size_mb or settings.max_file_size_mb,
        output_kb=limits.output_kb,
        stack_kb=limits.stack_kb,
    )


def compile_limits(
    limits: Limits, settings: Settings, asked: RequestLimits | None = None
) -> StageLimits:
    """A compile stage's limits default to the server's caps (COMPILATION_TIMEOUT,
    COMPILE_MEMORY_MB) and may only be lowered (`compile_limits`); its output counts against the
    job's output limit."""
    a = asked or RequestLimits()
    wall = _capped("time_s", a.time_s, settings.compilation_timeout, where="compile_limits")
    memory = _capped("memory_mb", a.memory_mb, settings.compile_memory_mb, where="compile_limits")
    _at_least_min_memory("compile_limits.memory_mb", memory)
    cpu = _capped(
        "cpu_s", a.cpu_s, settings.compilation_timeout, default=wall, where="compile_limits"
    )
    return StageLimits(
        wall_s=float(wall),
        cpu_s=float(cpu),
        memory_mb=int(memory),
        processes=COMPILE_TASKS,
        open_files=settings.max_open_files,
        file_size_mb=settings.max_file_size_mb,
        output_kb=limits.output_kb,
    )


def plan_stages(
    lang: Language, limits: Limits, settings: Settings, asked: RequestLimits | None = None
) -> list[StagePlan]:
    run = StagePlan(name=RUN, limits=run_limits(limits, settings))
    if not lang.compiled:
        return [run]
    return [StagePlan(name=COMPILE, limits=compile_limits(limits, settings, asked)), run]


def plan_tests(
    tests: list[TestCaseRequest], job: Limits, args: list[str], settings: Settings
) -> list[TestCase]:
    """Judge mode's test cases, within MAX_TESTS and MAX_TESTS_KB (stdin and expected output of
    all tests together); each test's limits default to the job's and are capped like them."""
    if len(tests) > settings.max_tests:
        raise InvalidRequest(f"at most {settings.max_tests} tests", code=ErrorCode.LIMIT_EXCEEDED)
    size = sum(
        len(utf8(t.stdin, "a test's stdin")) + len(utf8(t.expected_output or "", "expected_output"))
        for t in tests
    )
    if size > settings.max_tests_kb * 1024:
        raise MessageTooLarge(
            f"the tests are over {settings.max_tests_kb} KB in total",
            code=ErrorCode.INPUT_TOO_LARGE,
        )
    planned = []
    for test in tests:
        test_args = args if test.args is None else list(test.args)
        check_args(test_args, settings)
        limits = resolve_limits(test.limits, settings) if test.limits else job
        planned.append(
            TestCase(
                stdin=test.stdin,
                expected_output=test.expected_output,
                args=test_args,
                limits=run_limits(limits, settings),
            )
        )
    return planned


def check_stdin(stdin: str | None, settings: Settings) -> int:
    """The size of the request's stdin in bytes, within MAX_INPUT_KB."""
    size = len(utf8(stdin or "", "stdin"))
    if size > settings.max_input_kb * 1024:
        raise MessageTooLarge(
            f"stdin is over {settings.max_input_kb} KB", code=ErrorCode.INPUT_TOO_LARGE
        )
    return size


def build_spec(
    msg: JobRequest, settings: Settings, *, job_id: str | None = None, key_id: str = ""
) -> JobSpec:
    """Validate a request into a job plan; raises a RequestError subclass. An `execute` message
    brings its own job id (and may be resumable); other doors pass the id they issued."""
    lang = resolve(msg.language)
    main, files = collect_files(msg, lang)
    check_sizes(files, settings)
    check_args(msg.args, settings)
    check_stdin(msg.stdin, settings)
    compare = str(parse_compare(msg.compare))
    limits = resolve_limits(msg.limits, settings)
    tests = plan_tests(msg.tests, limits, list(msg.args), settings) if msg.tests else []
    if msg.tests is not None and not msg.tests:
        raise InvalidRequest("`tests` is empty: give at least one test, or leave it out")
    resumable = isinstance(msg, Execute) and msg.resumable
    return JobSpec(
        job_id=job_id or (msg.job_id if isinstance(msg, Execute) else ""),
        language=lang.name,
        main=main,
        files=files,
        args=list(msg.args),
        limits=limits,
        stages=plan_stages(lang, limits, settings, msg.compile_limits),
        tests=tests,
        compare=compare,
        stop_on_failure=msg.stop_on_failure,
        compiler_options=check_compiler_options(lang, msg.compiler_options),
        merge_stderr=msg.merge_stderr,
        stage_events=msg.stage_events,
        key_id=key_id,
        detach_grace_s=settings.resume_grace_s if resumable else 0.0,
    )


__all__ = ["RESERVED_NAMES", "check_filename", "check_sizes", "collect_files"]  # lib.files
