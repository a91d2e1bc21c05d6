"""The job spec that travels on the queue, built from an `execute` message and the server's caps.

Pure. Every rule here gives a clear InvalidRequest; nothing reaches the worker unchecked.
"""

from __future__ import annotations

import re
import time

from pydantic import BaseModel, ConfigDict, Field

from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge
from lib.languages import BINARY, Language, resolve
from lib.protocol import ErrorCode, Execute, SourceFile

FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({BINARY})
MIN_MEMORY_MB = 16
MAX_ARG_BYTES = 4096


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    time_s: float
    memory_mb: int
    output_kb: int


class JobSpec(BaseModel):
    """What a worker needs to run one job. Serialized as JSON into the queue stream."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    language: str
    main: str
    files: list[SourceFile]
    args: list[str] = Field(default_factory=list)
    limits: Limits
    enqueued_at: float = Field(default_factory=time.time)
    # With no client attached for longer than this, the worker kills the job (0: at once).
    detach_grace_s: float = 0.0


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


def collect_files(msg: Execute, lang: Language) -> tuple[str, list[SourceFile]]:
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


def resolve_limits(msg: Execute, settings: Settings) -> Limits:
    """The request's limits, each defaulting to and capped by the server's setting."""
    asked = msg.limits
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


def build_spec(msg: Execute, settings: Settings) -> JobSpec:
    """Validate an `execute` message into a job spec; raises a RequestError subclass."""
    lang = resolve(msg.language)
    main, files = collect_files(msg, lang)
    check_sizes(files, settings)
    check_args(msg.args, settings)
    if msg.stdin is not None and len(utf8(msg.stdin, "stdin")) > settings.max_input_kb * 1024:
        raise MessageTooLarge(
            f"stdin is over {settings.max_input_kb} KB", code=ErrorCode.INPUT_TOO_LARGE
        )
    return JobSpec(
        job_id=msg.job_id,
        language=lang.name,
        main=main,
        files=files,
        args=list(msg.args),
        limits=resolve_limits(msg, settings),
        detach_grace_s=settings.resume_grace_s if msg.resumable else 0.0,
    )
