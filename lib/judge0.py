"""Judge0 CE 1.13.1 on our engine: the pure half of the compatible API (docs/compat.md, Judge0).

Language ids and names, statuses, the configuration we announce, a submission's validation with
Judge0's defaults, maxima and 422 messages, its translation into our JobRequest, and the serializer
of a submission with its result. Upstream sources (judge0/judge0 @ v1.13.1, ffd7a48):
app/models/submission.rb (validations, defaults), app/controllers/submissions_controller.rb,
app/serializers/submission_serializer.rb, app/jobs/isolate_job.rb (statuses, number_of_runs),
app/enumerations/status.rb, app/helpers/config.rb. No I/O: services/websocket/judge0.py does it.
"""

from __future__ import annotations

import base64
import io
import math
import re
import shlex
import signal as signals
import stat
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from lib.codes import ErrorCode
from lib.config import Settings
from lib.errors import InvalidRequest, RequestError
from lib.files import check_filename
from lib.jobs import MIN_MEMORY_MB, build_spec, check_args
from lib.languages import LANGUAGES, Language
from lib.options import MAX_OPTIONS, check_compiler_options
from lib.protocol import JobRequest, RequestLimits, SourceFile, TestCaseRequest
from lib.results import JobResult

VERSION = "1.13.1"
ABOUT = {
    "version": VERSION,
    "homepage": "https://judge0.com",
    "source_code": "https://github.com/judge0/judge0",
    "maintainer": "Herman Zvonimir Došilović <hermanz.dosilovic@gmail.com>",
}
QUEUE_NAME = VERSION  # upstream's Resque queue is named after JUDGE0_VERSION (GET /workers)
MAX_BATCH = 20  # MAX_SUBMISSION_BATCH_SIZE
MAX_EXTRACT_KB = 10240  # MAX_EXTRACT_SIZE: additional_files, extracted
MAX_TEXT_OPTION = 512  # compiler_options and command_line_arguments, in characters
MEMORY_MESSAGE = "Memory limit exceeded"
OUTPUT_MESSAGE = "Output limit exceeded"
COMPILE_TIMEOUT_OUTPUT = "Compilation time limit exceeded."
UTF8_ERROR = (
    "some attributes for this submission cannot be converted to UTF-8, "
    "use base64_encoded=true query parameter"
)
BATCH_UTF8_ERROR = (
    "some attributes for one or more submissions cannot be converted to UTF-8, "
    "use base64_encoded=true query parameter"
)

# -- statuses (app/enumerations/status.rb) -----------------------------------------------------

STATUSES: dict[int, str] = {
    1: "In Queue",
    2: "Processing",
    3: "Accepted",
    4: "Wrong Answer",
    5: "Time Limit Exceeded",
    6: "Compilation Error",
    7: "Runtime Error (SIGSEGV)",
    8: "Runtime Error (SIGXFSZ)",
    9: "Runtime Error (SIGFPE)",
    10: "Runtime Error (SIGABRT)",
    11: "Runtime Error (NZEC)",
    12: "Runtime Error (Other)",
    13: "Internal Error",
    14: "Exec Format Error",
}
# Our verdicts (lib.codes.Status, lib.results.JobState) as Judge0 statuses; timeout,
# runtime_error (split by signal: _SIGNAL_STATUS), memory_limit and output_limit are `_verdict`'s.
_STATUS_IDS = {
    "queued": 1,
    "running": 2,
    "ok": 3,
    "accepted": 3,
    "wrong_answer": 4,
    "compile_error": 6,
    "killed": 13,
    "internal_error": 13,
    "error": 13,
}
_SIGNAL_STATUS = {"SIGSEGV": 7, "SIGXFSZ": 8, "SIGFPE": 9, "SIGABRT": 10}


def statuses() -> list[dict[str, Any]]:
    return [{"id": i, "description": d} for i, d in STATUSES.items()]


# -- languages ---------------------------------------------------------------------------------

# Ids clients hard-code: the open-source 1.13.1 ids and the hosted service's (ce.judge0.com).
LANGUAGE_IDS: dict[int, str] = {
    **dict.fromkeys((71, 92, 100, 109, 113), "python"),
    **dict.fromkeys((63, 93, 97, 102), "javascript"),
    **dict.fromkeys((48, 49, 50, 103), "c"),
    **dict.fromkeys((52, 53, 54, 105), "cpp"),
    **dict.fromkeys((73, 108), "rust"),
}
# Upstream's file names (db/languages/active.rb), so a program that names itself still works.
SOURCE_FILES = {
    "python": "script.py",
    "javascript": "script.js",
    "c": "main.c",
    "cpp": "main.cpp",
    "rust": "main.rs",
}
_LABELS = {
    "python": ("Python", ""),
    "javascript": ("JavaScript", "Node.js "),
    "c": ("C", "GCC "),
    "cpp": ("C++", "GCC "),
    "rust": ("Rust", ""),
}
_VERSION_NUMBER = re.compile(r"\d+\.\d+(?:\.\d+)?")


def language_name(runtime: str, detected: str | None) -> str:
    """`Python (3.11.2)` from the toolchain's own version line (`Python 3.11.2`, `v20.20.2`,
    `gcc (Debian 12.2.0-14) 12.2.0`, `rustc 1.96.0 (...)`); the bare name if none is known."""
    label, tool = _LABELS[runtime]
    found = _VERSION_NUMBER.search(detected or "")
    return f"{label} ({tool}{found.group()})" if found else label


def language_names(served: Mapping[str, Sequence[str]]) -> dict[int, str]:
    """Every id's name, from the versions live workers detected (lib.registry.languages)."""
    latest = {name: versions[-1] for name, versions in served.items() if versions}
    return {i: language_name(rt, latest.get(rt)) for i, rt in LANGUAGE_IDS.items()}


def languages(names: Mapping[int, str]) -> list[dict[str, Any]]:
    """GET /languages: `{id, name}` ordered by name, as upstream's default scope."""
    return [{"id": i, "name": n} for i, n in sorted(names.items(), key=lambda x: (x[1], x[0]))]


def language_detail(language_id: int, names: Mapping[int, str]) -> dict[str, Any] | None:
    """GET /languages/{id}, with the commands that really run (`%s`: compiler_options)."""
    runtime = LANGUAGE_IDS.get(language_id)
    if runtime is None:
        return None
    lang, source = LANGUAGES[runtime], SOURCE_FILES[runtime]
    return {
        "id": language_id,
        "name": names[language_id],
        "is_archived": False,
        "source_file": source,
        "compile_cmd": _command(lang.compile, lang, source) if lang.compile else None,
        "run_cmd": _command(lang.run, lang, source),
    }


def _command(template: tuple[str, ...], lang: Language, source: str) -> str:
    words = {"{tool}": lang.tool, "{main}": source, "{sources}": source, "{options}": "%s"}
    return " ".join(words.get(part, part) for part in template if part != "{stdio}")


# -- configuration (app/helpers/config.rb) ------------------------------------------------------


@dataclass(frozen=True)
class Caps:
    """Judge0's defaults and maxima, each lowered to our own cap where that is lower."""

    cpu_time_limit: float
    max_cpu_time_limit: float
    cpu_extra_time: float
    max_cpu_extra_time: float
    wall_time_limit: float
    max_wall_time_limit: float
    memory_limit: int
    max_memory_limit: int
    stack_limit: int
    max_stack_limit: int
    max_processes_and_or_threads: int
    max_max_processes_and_or_threads: int
    max_file_size: int
    max_max_file_size: int
    number_of_runs: int
    max_number_of_runs: int


def caps(settings: Settings) -> Caps:
    timeout = float(settings.execution_timeout)
    memory_kb = settings.max_memory_mb * 1024
    processes = settings.max_processes
    file_kb = settings.max_file_size_mb * 1024
    runs = settings.max_tests
    return Caps(
        cpu_time_limit=min(5.0, timeout),
        max_cpu_time_limit=min(15.0, timeout),
        cpu_extra_time=1.0,
        max_cpu_extra_time=5.0,
        wall_time_limit=min(10.0, timeout),
        max_wall_time_limit=min(20.0, timeout),
        memory_limit=min(128000, memory_kb),
        max_memory_limit=min(512000, memory_kb),
        stack_limit=64000,
        max_stack_limit=128000,
        max_processes_and_or_threads=min(60, processes),
        max_max_processes_and_or_threads=min(120, processes),
        max_file_size=min(1024, file_kb),
        max_max_file_size=min(4096, file_kb),
        number_of_runs=1,
        max_number_of_runs=min(20, runs),
    )


def config_info(settings: Settings) -> dict[str, Any]:
    """GET /config_info: the 39 keys of 1.13.1, in its order, with what this server does."""
    c = caps(settings)
    return {
        "maintenance_mode": False,
        "enable_wait_result": True,
        "enable_compiler_options": True,  # from our allow-list only (lib/options.py)
        "allowed_languages_for_compile_options": ["C", "C++", "Rust"],
        "enable_command_line_arguments": True,
        "enable_submission_delete": False,
        "enable_callbacks": False,  # we make no outbound requests
        "callbacks_max_tries": 3,
        "callbacks_timeout": 5.0,
        "enable_additional_files": True,
        "max_queue_size": settings.max_queue_length,
        "cpu_time_limit": c.cpu_time_limit,
        "max_cpu_time_limit": c.max_cpu_time_limit,
        "cpu_extra_time": c.cpu_extra_time,
        "max_cpu_extra_time": c.max_cpu_extra_time,
        "wall_time_limit": c.wall_time_limit,
        "max_wall_time_limit": c.max_wall_time_limit,
        "memory_limit": c.memory_limit,
        "max_memory_limit": c.max_memory_limit,
        "stack_limit": c.stack_limit,
        "max_stack_limit": c.max_stack_limit,
        "max_processes_and_or_threads": c.max_processes_and_or_threads,
        "max_max_processes_and_or_threads": c.max_max_processes_and_or_threads,
        "enable_per_process_and_thread_time_limit": False,
        "allow_enable_per_process_and_thread_time_limit": False,  # limits are per cgroup
        "enable_per_process_and_thread_memory_limit": False,
        "allow_enable_per_process_and_thread_memory_limit": False,
        "max_file_size": c.max_file_size,
        "max_max_file_size": c.max_max_file_size,
        "number_of_runs": c.number_of_runs,
        "max_number_of_runs": c.max_number_of_runs,
        "redirect_stderr_to_stdout": False,
        "max_extract_size": MAX_EXTRACT_KB,
        "enable_batched_submissions": True,
        "max_submission_batch_size": MAX_BATCH,
        "submission_cache_duration": 0.0,  # results are read from the result store, not cached
        "use_docs_as_homepage": False,
        "allow_enable_network": False,
        "enable_network": False,
    }


# -- base64 (Ruby's Base64.encode64 / decode64) -------------------------------------------------

_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def decode64(text: str) -> bytes:
    """Ruby's lenient decode64: characters outside the alphabet are skipped, padding is optional,
    decoding stops at the first `=`; it never fails."""
    body = _NOT_BASE64.sub("", text.split("=", 1)[0])
    if len(body) % 4 == 1:  # a lone trailing character carries no whole byte
        body = body[:-1]
    return base64.b64decode(body + "=" * (-len(body) % 4))


def encode64(data: bytes) -> str:
    """Ruby's encode64 (RFC 2045): a newline after every 60 characters and at the end."""
    text = base64.b64encode(data).decode("ascii")
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


# -- submissions ---------------------------------------------------------------------------------


class Submission(BaseModel):
    """A valid submission with Judge0's defaults filled in: what `fields=*` echoes back."""

    model_config = ConfigDict(frozen=True)

    source_code: str
    language_id: int
    stdin: str | None = None
    expected_output: str | None = None
    number_of_runs: int = 1
    cpu_time_limit: float = 5.0
    cpu_extra_time: float = 1.0
    wall_time_limit: float = 10.0
    memory_limit: int = 128000
    stack_limit: int = 64000
    max_processes_and_or_threads: int = 60
    enable_per_process_and_thread_time_limit: bool = False
    enable_per_process_and_thread_memory_limit: bool = False
    max_file_size: int = 1024
    compiler_options: str | None = None
    command_line_arguments: str | None = None
    redirect_stderr_to_stdout: bool = False
    callback_url: str | None = None
    additional_files: str | None = None  # the zip, in base64 (one line)
    enable_network: bool = False

    @property
    def runtime(self) -> str:
        return LANGUAGE_IDS[self.language_id]


class Record(BaseModel):
    """What the gateway keeps of a submission beside the job's result."""

    submission: Submission
    created_at: float  # seconds since the epoch


class Invalid(Exception):
    """A submission Judge0 would refuse with 422: Rails' errors hash, `{field: [message]}`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k} {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class InvalidFields(Exception):
    """`fields` names something that is not a field: 400 `{"error": "invalid fields: [a, b]"}`."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"invalid fields: [{', '.join(names)}]")
        self.names = names


class NotUtf8(Exception):
    """A text that JSON cannot carry as UTF-8 (only in plain-text mode)."""


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, []).append(message)


# Rails' casts of request parameters (ActiveModel::Type): what a JSON or form value becomes
# (False == 0 == 0.0 in Python as in Ruby, so 0 is false too).
_FALSE_VALUES = frozenset({False, "0", "f", "F", "false", "FALSE", "off", "OFF"})
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
_SHELL_CHARS = re.compile(r"[$&;<>|`]")  # upstream strips these from both option strings
_ENCODED = ("source_code", "stdin", "expected_output")


def _scalar(raw: Mapping[str, Any], name: str) -> Any:
    """Rails permits scalars only: an array or object is dropped; "" is nil."""
    value = raw.get(name)
    return None if isinstance(value, list | dict) or value == "" else value


def _boolean(raw: Mapping[str, Any], name: str, default: bool) -> bool:
    value = _scalar(raw, name)
    return default if value is None else value not in _FALSE_VALUES


def _string(raw: Mapping[str, Any], name: str) -> str | None:
    value = _scalar(raw, name)
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    """A numericality check's number; None if it is not one (`is not a number`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def _language_id(raw: Mapping[str, Any]) -> int | None:
    value = _scalar(raw, "language_id")
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    found = _LEADING_INT.match(str(value))  # Ruby's to_i: "71abc" is 71, "abc" is 0
    return int(found.group(1)) if found else 0


def _text(raw: Mapping[str, Any], name: str, b64: bool, errors: _Errors) -> str | None:
    value = _string(raw, name)
    if value is None:
        return None
    data = decode64(value) if b64 else value.encode("utf-8", "surrogatepass")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        errors.add(name, "is not valid UTF-8 text")
        return None


def _count(limit: float) -> str:
    """How Rails prints a bound: Ruby floats keep `.0` (`15.0`), integers do not."""
    return repr(limit) if isinstance(limit, float) else str(limit)


# name, integer column, lower bound, lower bound included (app/models/submission.rb, in order)
_NUMERIC = (
    ("number_of_runs", True, 0, False),
    ("cpu_time_limit", False, 0, True),
    ("cpu_extra_time", False, 0, True),
    ("wall_time_limit", False, 1, True),
    ("memory_limit", True, 2048, True),
    ("stack_limit", True, 0, True),
    ("max_processes_and_or_threads", True, 0, False),
    ("max_file_size", True, 0, True),
)


def _numeric(raw: Mapping[str, Any], c: Caps, errors: _Errors) -> dict[str, float | int]:
    """Every limit: null or missing gets the default (0 stays 0); Rails' numericality messages."""
    values: dict[str, float | int] = {}
    for name, integer, low, inclusive in _NUMERIC:
        default, high = getattr(c, name), getattr(c, f"max_{name}")
        given = _scalar(raw, name)
        number = default if given is None else _number(given)
        if number is None:
            errors.add(name, "is not a number")
        elif number < low or (number == low and not inclusive):
            relation = "greater than or equal to" if inclusive else "greater than"
            errors.add(name, f"must be {relation} {low}")
        elif number > high:
            errors.add(name, f"must be less than or equal to {_count(high)}")
        values[name] = (int(number) if integer else float(number)) if number is not None else 0
    return values


_FLAGS = (
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "redirect_stderr_to_stdout",
    "enable_network",
)
_PER_PROCESS = _FLAGS[:2]
_OPTION_STRINGS = ("compiler_options", "command_line_arguments")


def parse_submission(
    raw: Mapping[str, Any], *, base64_encoded: bool, settings: Settings
) -> Submission:
    """A submission from a request's parameters (JSON body merged over the query string); raises
    Invalid with every error found, as Rails validates every field before it answers 422."""
    errors = _Errors()
    texts = {name: _text(raw, name, base64_encoded, errors) for name in _ENCODED}
    source = texts["source_code"]
    if (source is None or not source.strip()) and "source_code" not in errors.found:
        errors.add("source_code", "can't be blank")
    language_id = _language_id(raw)
    if language_id is None:
        errors.add("language_id", "can't be blank")
    numbers = _numeric(raw, caps(settings), errors)
    flags = {name: _boolean(raw, name, False) for name in _FLAGS}
    for name in _PER_PROCESS:
        if flags[name]:  # our limits hold for the whole cgroup, never per process
            errors.add(name, "this option cannot be enabled")
    options = _option_strings(raw, errors)
    runtime = _check_language(language_id, errors)
    if "compiler_options" not in errors.found:
        _check_compiler_options(options["compiler_options"], runtime, errors)
    _check_arguments(options["command_line_arguments"], settings, errors)
    callback_url = _string(raw, "callback_url")
    if (callback_url or "").strip():  # we make no outbound requests
        errors.add("callback_url", "setting callback is not allowed")
    files = _additional_files(raw, runtime, settings, errors)
    if flags["enable_network"]:
        errors.add("enable_network", "enabling network is not allowed")
    if errors.found:
        raise Invalid(errors.found)
    fields: dict[str, Any] = {**texts, **numbers, **flags, **options}
    return Submission(
        language_id=language_id, callback_url=callback_url, additional_files=files, **fields
    )


def _option_strings(raw: Mapping[str, Any], errors: _Errors) -> dict[str, str | None]:
    options = {name: _string(raw, name) for name in _OPTION_STRINGS}
    for name, value in options.items():
        if value is not None and len(value) > MAX_TEXT_OPTION:
            errors.add(name, f"is too long (maximum is {MAX_TEXT_OPTION} characters)")
    return options


def _check_language(language_id: int | None, errors: _Errors) -> str | None:
    """The runtime of the id, or None (and the error; `language with id  doesn't exist` with
    two spaces when it is missing, as upstream)."""
    runtime = LANGUAGE_IDS.get(language_id) if language_id is not None else None
    if runtime is None:
        shown = "" if language_id is None else str(language_id)
        errors.add("language_id", f"language with id {shown} doesn't exist")
    return runtime


def _words(value: str | None) -> list[str]:
    """Upstream strips `$ & ; < > |` and backticks, then bash splits the words (run.sh); we
    split them as a POSIX shell would (shlex), and run nothing through a shell. ValueError for
    an unclosed quote."""
    if not value or not value.strip():
        return []
    return shlex.split(_SHELL_CHARS.sub("", value))


def compiler_options(value: str | None) -> list[str]:
    return _words(value)


def _check_compiler_options(value: str | None, runtime: str | None, errors: _Errors) -> None:
    """Each option from our allow-list (lib/options.py), never a string passed to a shell."""
    if not value or not value.strip() or runtime is None:
        return
    lang = LANGUAGES[runtime]
    if not lang.compiled:
        errors.add(
            "compiler_options", "setting compiler options is only allowed for compiled languages"
        )
        return
    try:
        options = _words(value)
    except ValueError:
        errors.add("compiler_options", "has an unclosed quote")
        return
    if len(options) > MAX_OPTIONS:
        errors.add("compiler_options", f"at most {MAX_OPTIONS} compiler options are allowed")
    for option in options:
        try:
            check_compiler_options(lang, [option])
        except InvalidRequest:
            errors.add("compiler_options", f"compiler option {option} is not allowed")


def _check_arguments(value: str | None, settings: Settings, errors: _Errors) -> None:
    try:
        check_args(_words(value), settings)
    except ValueError:
        errors.add("command_line_arguments", "has an unclosed quote")
    except InvalidRequest as exc:
        errors.add("command_line_arguments", exc.message)


# -- additional_files: a zip, always in base64 ---------------------------------------------------


def _additional_files(
    raw: Mapping[str, Any], runtime: str | None, settings: Settings, errors: _Errors
) -> str | None:
    """The zip in one-line base64 if it is one we can unpack safely; else the error."""
    value = _string(raw, "additional_files")
    if value is None or not value.strip():
        return None
    data = decode64(value)
    try:
        extract_files(data, SOURCE_FILES.get(runtime or "", ""), settings)
    except Invalid as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                errors.add(field, message)
    return base64.b64encode(data).decode("ascii")


def extract_files(data: bytes, source_file: str, settings: Settings) -> list[SourceFile]:
    """The files of a zip as base64 data files. Safe against hostile archives: flat names under
    our file name rules only (no path can escape the job directory), no links, at most
    MAX_FILES entries, and MAX_EXTRACT_KB in all, counted while decompressing (a zip bomb's
    declared sizes may lie). A file named as the source is skipped: upstream unzips with `-n`
    after writing the source, so the source wins."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Invalid({"additional_files": ["is not a valid zip archive"]}) from exc
    entries = [i for i in archive.infolist() if not i.is_dir() and i.filename != source_file]
    if len(entries) >= settings.max_files:
        raise Invalid({"additional_files": [f"has more than {settings.max_files - 1} files"]})
    budget, files = MAX_EXTRACT_KB * 1024, []
    for info in entries:
        content = _member(archive, info, budget)
        budget -= len(content)
        encoded = base64.b64encode(content).decode("ascii")
        files.append(SourceFile(name=info.filename, content=encoded, encoding="base64"))
    return files


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    name = info.filename
    _check_member_name(name, info)
    if info.file_size > budget:
        raise Invalid({"additional_files": [f"is larger than {MAX_EXTRACT_KB} KB extracted"]})
    try:
        with archive.open(info) as member:
            content = member.read(budget + 1)  # the real size, whatever the header says
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise Invalid({"additional_files": [f"cannot extract {name[:64]}: {exc}"]}) from exc
    if len(content) > budget:
        raise Invalid({"additional_files": [f"is larger than {MAX_EXTRACT_KB} KB extracted"]})
    return content


def _check_member_name(name: str, info: zipfile.ZipInfo) -> None:
    if "/" in name or "\\" in name:
        raise Invalid(
            {"additional_files": [f"{name[:64]}: only files at the top level are supported"]}
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise Invalid({"additional_files": [f"{name[:64]}: symbolic links are not allowed"]})
    try:
        check_filename(name)
    except InvalidRequest as exc:
        raise Invalid({"additional_files": [exc.message]}) from exc


# -- a submission as our job ---------------------------------------------------------------------


def job_request(sub: Submission, settings: Settings) -> JobRequest:
    """The job that runs the submission. With `expected_output` or more than one run it is a
    judged job: `number_of_runs` identical tests compared by lines (trailing whitespace of each
    line and trailing empty lines ignored, upstream's `strip`), stopping at the first failure as
    upstream's loop does."""
    runtime = sub.runtime
    judged = sub.expected_output is not None or sub.number_of_runs > 1
    test = TestCaseRequest(stdin=sub.stdin or "", expected_output=sub.expected_output)
    zipped = decode64(sub.additional_files) if sub.additional_files else None
    files = extract_files(zipped, SOURCE_FILES[runtime], settings) if zipped else []
    return JobRequest(
        language=runtime,
        code=sub.source_code,
        filename=SOURCE_FILES[runtime],
        files=files or None,
        args=_words(sub.command_line_arguments),
        stdin=None if judged else sub.stdin,
        limits=request_limits(sub, settings),
        tests=[test] * sub.number_of_runs if judged else None,
        compare="lines",
        stop_on_failure=judged,
        compiler_options=_words(sub.compiler_options),
        merge_stderr=sub.redirect_stderr_to_stdout,
    )


def request_limits(sub: Submission, settings: Settings) -> RequestLimits:
    """Judge0's limits in our units. CPU: the limit plus its extra time (upstream kills at that
    point; the verdict is still TLE past the limit itself, see `outcome`), cut at our
    EXECUTION_TIMEOUT; 0 is no CPU limit but the wall clock's. Memory and file size in KB,
    rounded up to MB; memory at least our minimum (16 MB). The stack (RLIMIT_STACK, as Isolate's
    `-k`) at most the memory limit; 0: the system's default."""
    cpu = sub.cpu_time_limit + sub.cpu_extra_time
    memory_mb = max(MIN_MEMORY_MB, math.ceil(sub.memory_limit / 1024))
    return RequestLimits(
        time_s=sub.wall_time_limit,
        cpu_s=min(cpu, float(settings.execution_timeout)) if cpu > 0 else None,
        memory_mb=memory_mb,
        processes=sub.max_processes_and_or_threads,
        file_size_mb=max(1, math.ceil(sub.max_file_size / 1024)),
        stack_kb=min(sub.stack_limit, memory_mb * 1024) or None,
    )


def accept(
    raw: Mapping[str, Any], *, base64_encoded: bool, settings: Settings
) -> tuple[Submission, JobRequest]:
    """Validate a submission and plan its job (pure, as the job service will again); Invalid."""
    sub = parse_submission(raw, base64_encoded=base64_encoded, settings=settings)
    request = job_request(sub, settings)
    try:
        build_spec(request, settings)
    except RequestError as exc:
        raise Invalid(field_errors(exc, sub)) from exc
    return sub, request


def field_errors(exc: RequestError, sub: Submission) -> dict[str, list[str]]:
    """One of our refusals (the plan's, or the code validator's) as Judge0's errors hash."""
    field = {
        ErrorCode.CODE_TOO_LARGE: "additional_files" if sub.additional_files else "source_code",
        ErrorCode.CODE_REJECTED: "source_code",
        ErrorCode.INPUT_TOO_LARGE: "stdin",
        ErrorCode.INVALID_FILENAME: "additional_files",
    }.get(exc.code, "base")
    return {field: [exc.message]}


# -- results as Judge0 shows them ----------------------------------------------------------------


class _Run(Protocol):
    """What a job's result and a judged test's report have in common."""

    @property
    def status(self) -> str: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def signal(self) -> str | None: ...
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def execution_time(self) -> float: ...
    @property
    def cpu_time(self) -> float: ...
    @property
    def memory_kb(self) -> int: ...
    @property
    def message(self) -> str | None: ...


@dataclass(frozen=True)
class Outcome:
    """The result columns of a submission."""

    status_id: int
    stdout: str | None = None
    stderr: str | None = None
    compile_output: str | None = None
    message: str | None = None
    time: float | None = None  # CPU seconds
    wall_time: float | None = None
    memory: int | None = None  # KB
    exit_code: int | None = None
    exit_signal: int | None = None

    @property
    def done(self) -> bool:
        return self.status_id > 2


def outcome(result: JobResult, sub: Submission) -> Outcome:
    """Our result in Judge0's terms (isolate_job.rb: verify, determine_status, perform)."""
    status = result.status
    if status in ("queued", "running"):
        return Outcome(_STATUS_IDS[status])
    if status == "error":  # e.g. no live worker serves the language
        return Outcome(13, message=result.message)
    if status == "compile_error":
        return _compile_error(result)
    compiled = result.compile_output or None
    runs = _judged_runs(result, sub)
    if not runs:
        return replace(_run(result, sub), compile_output=compiled)
    last = _run(runs[-1], sub)
    return replace(
        last,
        compile_output=compiled,
        time=sum(r.cpu_time for r in runs) / len(runs),  # averaged, as upstream
        memory=int(sum(r.memory_kb for r in runs) / len(runs)),
    )


def _judged_runs(result: JobResult, sub: Submission) -> list[_Run]:
    """The runs upstream would have made: up to and including the first that is not
    Accepted (a run over its CPU limit but within the extra time counts as failed)."""
    runs: list[_Run] = []
    for report in result.tests or []:
        runs.append(report)
        if _verdict(report, sub)[0] != 3:
            break
    return runs


def _compile_error(result: JobResult) -> Outcome:
    # services/worker/verdict.py words a compile timeout "compilation took longer than N s".
    timed_out = (result.message or "").startswith("compilation took longer")
    output = COMPILE_TIMEOUT_OUTPUT if timed_out else result.compile_output or result.message
    return Outcome(6, compile_output=output or None)


def _run(run: _Run, sub: Submission) -> Outcome:
    status_id, message = _verdict(run, sub)
    return Outcome(
        status_id,
        stdout=run.stdout or None,
        stderr=run.stderr or None,
        message=message,
        time=run.cpu_time,
        wall_time=run.execution_time,
        memory=run.memory_kb,
        exit_code=run.exit_code or 0,  # upstream: `exitcode || 0`, so 0 when signalled
        exit_signal=signal_number(run.signal),
    )


def _verdict(run: _Run, sub: Submission) -> tuple[int, str | None]:
    """Status id and message (Isolate's wording where upstream shows Isolate's)."""
    status = str(run.status)
    over_cpu = 0 < sub.cpu_time_limit < run.cpu_time
    if status in ("ok", "accepted", "wrong_answer") and over_cpu:
        return 5, "Time limit exceeded"
    if status == "timeout":
        return 5, "Time limit exceeded" if over_cpu else "Time limit exceeded (wall clock)"
    # memory_limit is 12 "Runtime Error (Other)": a cgroup OOM kill is a SIGKILL, which
    # upstream's determine_status maps to 12, and clients know no MLE id (the SDK refuses an
    # unknown one); the message says what happened. output_limit is 8 (SIGXFSZ): upstream's
    # stdout is a file bounded by max_file_size, so too much output ends that way there.
    if status == "memory_limit":
        return 12, MEMORY_MESSAGE
    if status == "output_limit":
        return 8, OUTPUT_MESSAGE
    if status == "runtime_error":
        if run.signal:
            return _SIGNAL_STATUS.get(
                run.signal, 12
            ), f"Caught fatal signal {signal_number(run.signal)}"
        return 11, f"Exited with error status {run.exit_code}"
    status_id = _STATUS_IDS.get(status, 13)
    return status_id, run.message if status_id == 13 else None


def signal_number(name: str | None) -> int | None:
    """`SIGSEGV` → 11; our name of an unnamed signal is `SIG<n>`."""
    if not name:
        return None
    try:
        return int(signals.Signals[name])
    except KeyError:
        digits = name.removeprefix("SIG")
        return int(digits) if digits.isdigit() else None


# -- the serializer (app/serializers/submission_serializer.rb) -----------------------------------

# `fields=*`: every column but `id`, then status and language, in db/schema.rb's order (v1.13.1;
# later columns would break the official SDK, which refuses keys it does not know).
ALL_FIELDS = (
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
)
DEFAULT_FIELDS = (
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
)
_TEXTS = (
    "source_code",
    "stdin",
    "expected_output",
    "stdout",
    "stderr",
    "compile_output",
    "message",
)
_DECIMALS = ("cpu_time_limit", "cpu_extra_time", "wall_time_limit")


def parse_fields(raw: str | None) -> tuple[str, ...]:
    """The requested fields, in the serializer's order; InvalidFields for unknown names."""
    names = (raw or "").split(",")
    while names and not names[-1]:  # Ruby's split drops trailing empty strings
        names.pop()
    invalid = [n for n in names if n != "*" and n not in ALL_FIELDS]
    if invalid:
        raise InvalidFields(invalid)
    if "*" in names:
        return ALL_FIELDS
    return tuple(f for f in ALL_FIELDS if f in names) or tuple(
        f for f in ALL_FIELDS if f in DEFAULT_FIELDS
    )


def decimal(value: float | None) -> str | None:
    """A decimal column as Rails renders it: a string, milliseconds at most (`"0.002"`, `"5.0"`)."""
    if value is None:
        return None
    text = f"{value:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def timestamp(seconds: float | None) -> str | None:
    """`2024-04-03T05:40:51.306Z`: milliseconds and Z, as Rails renders a datetime."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Shown:
    """Everything a serialized submission is made of."""

    token: str
    record: Record
    outcome: Outcome
    language_name: str
    finished_at: float | None = None


def render(shown: Shown, fields: Sequence[str], base64_encoded: bool) -> dict[str, Any]:
    """The submission as JSON: the requested fields in the serializer's order. Texts are Ruby
    base64 in base64 mode (`message` too); NotUtf8 if a text cannot be UTF-8 in plain mode."""
    values = _columns(shown)
    for name in _TEXTS:
        values[name] = _shown_text(values[name], base64_encoded)
    return {name: values[name] for name in ALL_FIELDS if name in fields}


def _shown_text(text: str | None, base64_encoded: bool) -> str | None:
    if text is None:
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotUtf8(UTF8_ERROR) from exc
    return encode64(data) if base64_encoded else text


def _columns(shown: Shown) -> dict[str, Any]:
    sub, out = shown.record.submission, shown.outcome
    values: dict[str, Any] = sub.model_dump()
    for name in _DECIMALS:
        values[name] = decimal(values[name])
    zipped = decode64(sub.additional_files) if sub.additional_files else None
    values.update(
        stdout=out.stdout,
        stderr=out.stderr,
        compile_output=out.compile_output,
        message=out.message,
        status_id=out.status_id,
        created_at=timestamp(shown.record.created_at),
        finished_at=timestamp(shown.finished_at) if out.done else None,
        time=decimal(out.time),
        wall_time=decimal(out.wall_time),
        memory=out.memory,
        exit_code=out.exit_code,
        exit_signal=out.exit_signal,
        token=shown.token,
        additional_files=encode64(zipped) if zipped is not None else None,  # always base64
        status={"id": out.status_id, "description": STATUSES[out.status_id]},
        language={"id": sub.language_id, "name": shown.language_name},
    )
    return values


# -- tokens --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def new_token() -> tuple[str, str]:
    """A submission's token (a UUID4, as `SecureRandom.uuid`) and its job id (the same 128 bits
    as 32 hex digits, our job id form)."""
    value = uuid.uuid4()
    return str(value), value.hex


def job_id_of(token: str) -> str | None:
    """The job id of a token, or None if it is not one of ours."""
    return uuid.UUID(token).hex if _TOKEN.fullmatch(token) else None
