"""A finished job's result, kept by id after its event stream (RESULT_TTL_S).

The worker builds it from the terminal event and the outputs it relayed; it is written in the same
Redis script as the terminal event (lib.events.EventLog.finish), so a result exists exactly when
the job has ended, whichever door started it and whichever process ended it. Any gateway reads it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from lib.codes import ErrorCode
from lib.protocol import Complete, Error, StageEvent, TestReport, outcome

# Outputs kept in a result, per stream (and per test in judge mode): a job's output limit bounds
# what a run may print, and a result of 100 tests must still be a small Redis value.
RESULT_OUTPUT_KB = 64
TEST_OUTPUT_KB = 16  # per stream of each judged test (a job may have MAX_TESTS of them)


class JobState(StrEnum):
    """A job's state before it has a verdict; after, the result's `status` is the verdict."""

    QUEUED = "queued"
    RUNNING = "running"
    ERROR = "error"  # it ended with an `error` event (e.g. language_unavailable): see `error`


class ResultError(BaseModel):
    code: ErrorCode
    message: str


class JobResult(BaseModel):
    """The whole outcome of a job: what `POST /api/execute` and `GET /api/jobs/{id}` answer."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: str  # a lib.codes.Status value, or a JobState value
    language: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    stdout: str = ""
    stderr: str = ""
    compile_output: str = ""
    stdout_truncated: bool = False  # the output limit or RESULT_OUTPUT_KB cut it short
    stderr_truncated: bool = False
    compile_output_truncated: bool = False
    execution_time: float = 0.0
    cpu_time: float = 0.0
    memory_kb: int = 0
    message: str | None = None
    tests: list[TestReport] | None = None  # judge mode
    stages: list[StageEvent] = Field(default_factory=list)  # each stage's own outcome (`end`)
    passed: int | None = None
    total: int | None = None
    error: ResultError | None = None  # status `error`


class StoredResult(BaseModel):
    """What Redis holds: the result and the API key that may read it."""

    key_id: str
    result: JobResult


class Captured:
    """One stream's text as a result keeps it: the first RESULT_OUTPUT_KB, and whether there was
    more (the stream itself may have been cut earlier by the output limit)."""

    def __init__(self, limit_chars: int = RESULT_OUTPUT_KB * 1024) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit_chars
        self.truncated = False

    def add(self, text: str) -> None:
        room = self.limit - self.size
        if len(text) > room:
            self.truncated = True
            text = text[: max(room, 0)]
        self.parts.append(text)
        self.size += len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Outputs(BaseModel):
    """The outputs a worker relayed for one run (or the whole job), for its result."""

    stdout: str = ""
    stderr: str = ""
    compile_output: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    compile_output_truncated: bool = False


def from_final(
    job_id: str,
    language: str,
    final: Complete | Error,
    outputs: Outputs,
    tests: list[TestReport] | None = None,
    stages: list[StageEvent] | None = None,
) -> JobResult:
    """The result of a job that ended with `final`."""
    if isinstance(final, Error):
        return JobResult(
            job_id=job_id,
            status=JobState.ERROR.value,
            language=language,
            message=final.message,
            error=ResultError(code=final.code, message=final.message),
            **outputs.model_dump(),
        )
    return JobResult(
        job_id=job_id,
        status=final.status.value,
        language=language,
        **outcome(final),
        tests=tests,
        stages=list(stages or []),
        passed=final.passed,
        total=final.total,
        **outputs.model_dump(),
    )


def pending(job_id: str, started: bool) -> JobResult:
    """What is known of a job that has not ended."""
    return JobResult(job_id=job_id, status=(JobState.RUNNING if started else JobState.QUEUED))


def encode_stored(key_id: str, result: JobResult) -> str:
    return StoredResult(key_id=key_id, result=result).model_dump_json()


def decode_stored(raw: bytes | str) -> StoredResult:
    return StoredResult.model_validate_json(raw)
