"""The job plan: the spec that travels on the queue, resolved once from a request and the caps.

A spec names every stage the worker runs (compile, if the language has one, then run), each with
all of its limits, and the test cases of judge mode, each with its own resolved run limits. Every
limit is decided here, in the gateway, from the request and the server's settings; the worker only
carries the plan out (issue 8: no limit is decided in two processes).

Pure. Every rule here gives a clear RequestError; nothing reaches the worker unchecked.
"""

from __future__ import annotations

import re
import time

from pydantic import BaseModel, ConfigDict, Field

from lib.codes import ErrorCode
from lib.compare import parse_compare
from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge
from lib.languages import BINARY, Language, resolve
from lib.protocol import Execute, JobRequest, RequestLimits, SourceFile, TestCaseRequest

FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({BINARY})
MIN_MEMORY_MB = 16
MAX_ARG_BYTES = 4096
COMPILE_TASKS = 128  # processes and threads of a compile stage (gcc, cc1, as, ld; rustc's threads)
COMPILE = "compile"
RUN = "run"
UNATTENDED = -1.0  # detach_grace_s of a job no client waits on (POST /api/execute?wait=false)


class Limits(BaseModel):
    """What a request may ask for (`limits`), resolved: the run's time, memory and output."""

    model_config = ConfigDict(frozen=True)

    time_s: float
    memory_mb: int
    output_kb: int


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


class StagePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # COMPILE or RUN; also the stage's cgroup name under its slot
    limits: StageLimits


class TestCase(BaseModel):
    """One judged run: its input, the output it must give, its own argv and limits."""

    model_config = ConfigDict(frozen=True)

    stdin: str
    expected_output: str
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


def check_filename(name: str) -> str:
    if not FILENAME_RE.fullmatch(name) or ".." in name or name in RESERVED_NAMES:
        raise InvalidRequest(
            f"invalid file name {name[:70]!r}: use 1-64 of A-Z a-z 0-9 _ . -, not starting "
            f"with . or -, no '..', and not {', '.join(sorted(RESERVED_NAMES))}",
            code=ErrorCode.INVALID_FILENAME,
        )
    return name


def collect_files(msg: JobRequest, lang: Language) -> tuple[str, list[SourceFile]]:
    """The entry file name and the full file list of a request."""
    files = list(msg.files or [])
    if msg.code is not None:
        files.insert(0, SourceFile(name=msg.filename or lang.default_file, content=msg.code))
        main = files[0].name
    elif files:
        main = msg.filename or files[0].name
    else:
        raise InvalidRequest("the request has neither `code` nor `files`")
    names = [check_filename(f.name) for f in files]
    if len(set(names)) != len(names):
        raise InvalidRequest("two files have the same name", code=ErrorCode.INVALID_FILENAME)
    if main not in names:
        raise InvalidRequest(f"`filename` {main[:70]!r} is not among `files`")
    if lang.compiled and not main.endswith(lang.source_suffixes):
        raise InvalidRequest(
            f"the {lang.name} entry file must end with {' or '.join(lang.source_suffixes)}",
            code=ErrorCode.INVALID_FILENAME,
        )
    return main, files


def check_sizes(files: list[SourceFile], settings: Settings) -> None:
    if len(files) > settings.max_files:
        raise MessageTooLarge(f"at most {settings.max_files} files", code=ErrorCode.CODE_TOO_LARGE)
    total = 0
    for f in files:
        size = len(utf8(f.content, f"file {f.name!r}"))
        if size > settings.max_file_kb * 1024:
            raise MessageTooLarge(
                f"file {f.name!r} is over {settings.max_file_kb} KB",
                code=ErrorCode.CODE_TOO_LARGE,
            )
        total += size
    if total > settings.max_code_kb * 1024:
        raise MessageTooLarge(
            f"the files are over {settings.max_code_kb} KB in total", code=ErrorCode.CODE_TOO_LARGE
        )


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
    """The request's limits, each defaulting to and capped by the server's setting."""
    time_s = _capped("time_s", asked.time_s if asked else None, settings.execution_timeout)
    memory = _capped("memory_mb", asked.memory_mb if asked else None, settings.max_memory_mb)
    output = _capped("output_kb", asked.output_kb if asked else None, settings.max_output_kb)
    if memory < MIN_MEMORY_MB:
        raise InvalidRequest(
            f"limits.memory_mb must be at least {MIN_MEMORY_MB}", code=ErrorCode.LIMIT_EXCEEDED
        )
    return Limits(time_s=float(time_s), memory_mb=int(memory), output_kb=int(output))


def _capped(name: str, asked: float | None, cap: float) -> float:
    if asked is None:
        return cap
    if asked > cap:
        raise InvalidRequest(
            f"limits.{name} = {asked} is above the server's cap of {cap}",
            code=ErrorCode.LIMIT_EXCEEDED,
        )
    return asked


def run_limits(limits: Limits, settings: Settings) -> StageLimits:
    return StageLimits(
        wall_s=limits.time_s,
        cpu_s=limits.time_s,
        memory_mb=limits.memory_mb,
        processes=settings.max_processes,
        open_files=settings.max_open_files,
        file_size_mb=settings.max_file_size_mb,
        output_kb=limits.output_kb,
    )


def compile_limits(limits: Limits, settings: Settings) -> StageLimits:
    """A compile stage's limits are the server's, not the request's (a request cannot buy a longer
    compile); its output counts against the job's output limit."""
    return StageLimits(
        wall_s=settings.compilation_timeout,
        cpu_s=settings.compilation_timeout,
        memory_mb=settings.compile_memory_mb,
        processes=COMPILE_TASKS,
        open_files=settings.max_open_files,
        file_size_mb=settings.max_file_size_mb,
        output_kb=limits.output_kb,
    )


def plan_stages(lang: Language, limits: Limits, settings: Settings) -> list[StagePlan]:
    run = StagePlan(name=RUN, limits=run_limits(limits, settings))
    if not lang.compiled:
        return [run]
    return [StagePlan(name=COMPILE, limits=compile_limits(limits, settings)), run]


def plan_tests(
    tests: list[TestCaseRequest], job: Limits, args: list[str], settings: Settings
) -> list[TestCase]:
    """Judge mode's test cases, within MAX_TESTS and MAX_TESTS_KB (stdin and expected output of
    all tests together); each test's limits default to the job's and are capped like them."""
    if len(tests) > settings.max_tests:
        raise InvalidRequest(f"at most {settings.max_tests} tests", code=ErrorCode.LIMIT_EXCEEDED)
    size = sum(
        len(utf8(t.stdin, "a test's stdin")) + len(utf8(t.expected_output, "expected_output"))
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
        stages=plan_stages(lang, limits, settings),
        tests=tests,
        compare=compare,
        stop_on_failure=msg.stop_on_failure,
        key_id=key_id,
        detach_grace_s=settings.resume_grace_s if resumable else 0.0,
    )
