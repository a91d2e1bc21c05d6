"""Every message on the WebSocket, parsed in one place (see docs/protocol.md).

Pure: no I/O. Client messages are validated here; server messages are built here and also travel
unchanged through the job's Redis event stream, so the worker and the gateway share one shape.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from lib.codes import CloseCode, ErrorCode, Status
from lib.errors import MalformedMessage

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"

__all__ = ["CloseCode", "ErrorCode", "Status"]  # re-exported: their home is lib.codes


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    COMPILE = "compile"


class _Message(BaseModel):
    # Unknown fields are ignored so that clients written for a newer protocol keep working.
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- client to server -------------------------------------------------------------------------


class SourceFile(_Message):
    name: str
    content: str
    # `base64`: `content` is the file's bytes in base64 (RFC 4648 section 4), for data files that
    # are not text. A file that decodes to UTF-8 text is treated as text (validated, compiled).
    encoding: Literal["utf8", "base64"] = "utf8"


class RequestLimits(_Message):
    time_s: float | None = Field(default=None, gt=0)  # wall clock
    memory_mb: int | None = Field(default=None, gt=0)
    output_kb: int | None = Field(default=None, gt=0)
    cpu_s: float | None = Field(default=None, gt=0)  # CPU time; default: time_s
    processes: int | None = Field(default=None, gt=0)  # processes and threads
    file_size_mb: int | None = Field(default=None, gt=0)  # largest file a process may write
    stack_kb: int | None = Field(default=None, gt=0)  # the program's stack; at most its memory


class TestCaseRequest(_Message):
    """One test case of judge mode: the program runs with `stdin` and must print
    `expected_output` (as the job's `compare` mode judges it)."""

    stdin: str = ""
    expected_output: str | None = None  # None: any run that ends well is accepted
    args: list[str] | None = None  # instead of the job's `args`
    limits: RequestLimits | None = None  # instead of the job's `limits`, capped the same way


class JobRequest(_Message):
    """What to run: the fields every door shares (WebSocket `execute`, `POST /api/execute`)."""

    language: str
    code: str | None = None
    filename: str | None = None
    files: list[SourceFile] | None = None
    args: list[str] = Field(default_factory=list)
    stdin: str | None = None
    limits: RequestLimits | None = None
    tests: list[TestCaseRequest] | None = None  # judge mode; see docs/protocol.md
    compare: str | None = None  # exact | lines (default) | tokens | float:EPS
    stop_on_failure: bool = False  # judge mode: end at the first failing test
    # Below: for the compatible APIs (docs/compat.md) and anyone who needs them.
    compile_limits: RequestLimits | None = None  # time_s, cpu_s, memory_mb of the compile stage
    compiler_options: list[str] = Field(default_factory=list)  # from an allow-list (lib.jobs)
    merge_stderr: bool = False  # the program's stderr arrives as stdout (one stream, in order)
    stage_events: bool = False  # `stage` events at each stage's start and end


class Execute(JobRequest):
    type: Literal["execute"]
    job_id: str
    job_token: str
    resumable: bool = False  # ask for a resume token; the job then survives a lost connection


class Resume(_Message):
    """Instead of `execute`, on a new connection: reattach to a running or finished job."""

    type: Literal["resume"]
    job_id: str
    resume_token: str
    received: int = Field(default=0, ge=0)  # events (server messages from the job) already seen


class Input(_Message):
    type: Literal["input"]
    data: str


class Eof(_Message):
    type: Literal["eof"]


class Kill(_Message):
    type: Literal["kill"]


# What `signal` may send: the catchable signals a program may want (an interrupt, a hang-up, a
# user signal). SIGKILL and SIGSTOP are `kill`'s business; signals of faults are not for clients.
SIGNALS = frozenset(
    {"SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCONT"}
    | {"SIGWINCH", "SIGTSTP", "SIGPIPE"}
)


class Signal(_Message):
    """Send a signal to the running program (its processes, not the sandbox's supervisor)."""

    type: Literal["signal"]
    signal: str = Field(pattern="^SIG[A-Z0-9]{2,8}$")


Client = Execute | Resume | Input | Eof | Kill | Signal
Control = Input | Eof | Kill | Signal
ClientMessage = Annotated[Client, Field(discriminator="type")]
RunControl = Annotated[Control, Field(discriminator="type")]

_client_adapter: TypeAdapter[Client] = TypeAdapter(ClientMessage)
_control_adapter: TypeAdapter[Control] = TypeAdapter(RunControl)
_request_adapter: TypeAdapter[JobRequest] = TypeAdapter(JobRequest)
M = TypeVar("M")


# --- server to client -------------------------------------------------------------------------


class Output(_Message):
    type: Literal["output"] = "output"
    stream: Stream
    data: str


def _absent(value: object) -> bool:
    return value is None


class Complete(_Message):
    type: Literal["complete"] = "complete"
    exit_code: int | None
    execution_time: float
    status: Status
    signal: str | None = None
    cpu_time: float = 0.0
    memory_kb: int = 0
    message: str | None = None  # present for internal_error and limits, for humans
    # Judge mode only (left out otherwise, so a job without `tests` looks as it always did).
    passed: int | None = Field(default=None, exclude_if=_absent)
    total: int | None = Field(default=None, exclude_if=_absent)


OUTCOME_FIELDS = ("exit_code", "signal", "execution_time", "cpu_time", "memory_kb", "message")


def outcome(done: Complete) -> dict[str, object]:
    """How a run ended (`complete`'s measurements and message), to build a `stage` event, a
    `test` event or a result from."""
    return {name: getattr(done, name) for name in OUTCOME_FIELDS}


class StageEvent(_Message):
    """A stage has started or ended (only for jobs that ask with `stage_events`)."""

    type: Literal["stage"] = "stage"
    stage: Literal["compile", "run"]
    event: Literal["start", "end"]
    status: Status | None = None  # at the end: the stage's own verdict
    exit_code: int | None = None
    signal: str | None = None
    execution_time: float = 0.0
    cpu_time: float = 0.0
    memory_kb: int = 0
    message: str | None = None


class TestReport(_Message):
    """Judge mode: one test case has finished (in index order, before `complete`)."""

    type: Literal["test"] = "test"
    index: int  # 0-based, in the order of the request's `tests`
    status: Status  # accepted, wrong_answer, or the run's own verdict (timeout, ...)
    exit_code: int | None
    signal: str | None = None
    execution_time: float
    cpu_time: float = 0.0
    memory_kb: int = 0
    message: str | None = None
    stdout: str = ""  # up to lib.results.TEST_OUTPUT_KB of what the program printed
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False


class CodeViolation(_Message):
    """One finding of the code validator, with its place in the user's files (1-based)."""

    rule: str
    message: str
    file: str
    line: int
    col: int
    action: Literal["warn", "deny"]


class Error(_Message):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    violations: list[CodeViolation] | None = Field(default=None, exclude_if=_absent)


class ResumeToken(_Message):
    """First server message of a `resumable` job (never sent otherwise, nor kept in the job's
    events): the token to reattach with `resume` after a lost connection."""

    type: Literal["resume_token"] = "resume_token"
    job_id: str
    token: str
    grace_s: float  # how long the job waits for a client to come back before it is killed


class ValidationWarning(_Message):
    """Validator findings that do not stop the job (policy `warn`); sent before any output."""

    type: Literal["warning"] = "warning"
    code: Literal["code_warnings"] = "code_warnings"
    message: str
    violations: list[CodeViolation]


Event = Output | Complete | Error | ValidationWarning | TestReport | StageEvent
ServerMessage = Annotated[Event, Field(discriminator="type")]
_server_adapter: TypeAdapter[Event] = TypeAdapter(ServerMessage)


def parse_client_message(raw: str | bytes) -> Client:
    """Parse one client frame; raises MalformedMessage (or subclasses) with a readable reason."""
    return _parse(_client_adapter, raw)


def parse_job_request(raw: str | bytes) -> JobRequest:
    """Parse the body of `POST /api/execute`; MalformedMessage as for a WebSocket frame."""
    return _parse(_request_adapter, raw)


def _parse(adapter: TypeAdapter[M], raw: str | bytes) -> M:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage("message is not valid JSON", code=ErrorCode.INVALID_JSON) from exc
    if not isinstance(data, dict):
        raise MalformedMessage("message must be a JSON object")
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise MalformedMessage(describe_validation_error(exc)) from exc


def parse_run_control(raw: str | bytes) -> Control:
    """Parse an entry of a job's input stream (written by the gateway, read by the worker)."""
    return _control_adapter.validate_json(raw)


def parse_server_message(raw: str | bytes) -> Event:
    return _server_adapter.validate_json(raw)


def describe_validation_error(exc: ValidationError) -> str:
    """A short, human explanation of the first few schema errors (pydantic may quote a short
    offending value, e.g. an unknown `type`; never the code)."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def encode(message: _Message) -> str:
    return message.model_dump_json(exclude_none=False)


def is_terminal(message: Event) -> bool:
    return isinstance(message, Complete | Error)
