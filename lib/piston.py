"""Piston v2 on our engine, the pure half: no I/O (services/websocket/piston.py is the door).

    runtimes         the workers' detected toolchains as Piston's runtimes (name, aliases, semver)
    find_runtime     `language` + `version` (exact, a node-semver range, or "*"): the highest match
    job              a Piston request, checked with Piston's own 400 messages, as our JobRequest
    execute_response our result (each stage's end) and the job's output, in Piston's response shape
    ws_messages      our events as Piston's WebSocket messages (`stage`, `data`, `exit`)

Upstream behaviour is quoted from engineer-man/piston @ 0a844d0 (`api/src/api/v2.js`,
`api/src/job.js`, `api/src/runtime.js`); every deliberate difference is in docs/compat.md.
"""

from __future__ import annotations

import base64
import json
import math
import re
import signal as signals
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib.codes import CloseCode, ErrorCode, Status
from lib.config import Settings
from lib.errors import InvalidRequest, MalformedMessage, RequestError
from lib.jobs import MIN_MEMORY_MB
from lib.languages import LANGUAGES
from lib.protocol import (
    Event,
    JobRequest,
    Output,
    RequestLimits,
    SourceFile,
    StageEvent,
    Stream,
)
from lib.results import JobResult

VERSION = "3.1.1"  # `api/package.json`; GET /api/v2 answers {"message": "Piston v3.1.1"}
MIB = 1 << 20
HEADERS = (".h", ".hh", ".hpp", ".hxx")  # C and C++ files that are not compiled on their own


class NoWorker(RequestError):
    """The language is one of ours, but no live worker serves it now (Piston has no such state:
    its runtimes are installed on the one machine). 503 and a Retry-After."""

    code = ErrorCode.LANGUAGE_UNAVAILABLE
    close_code = CloseCode.TRY_AGAIN_LATER
    http_status = 503
    retry_after_s: int | None = 5


# --- runtimes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    """One of Piston's languages (`packages/*/metadata.json`) and the one of ours that runs it."""

    language: str
    ours: str
    aliases: tuple[str, ...]
    runtime: str | None  # the package that `provides` it, for multi-language packages
    package: str


FLAVOURS = (
    Flavour("python", "python", ("py", "py3", "python3"), None, "python"),
    Flavour(
        "javascript",
        "javascript",
        ("node-javascript", "node-js", "javascript", "js"),
        "node",
        "node",
    ),
    Flavour("c", "c", ("gcc",), "gcc", "gcc"),
    Flavour("c++", "cpp", ("cpp", "g++"), "gcc", "gcc"),
    Flavour("rust", "rust", ("rs",), None, "rust"),
)


@dataclass(frozen=True)
class Runtime:
    language: str
    version: str
    aliases: tuple[str, ...]
    runtime: str | None
    ours: str
    package: str

    @property
    def compiled(self) -> bool:
        return LANGUAGES[self.ours].compiled

    def named(self, name: str) -> bool:
        """`rt.language == lang || rt.aliases.includes(lang)`: exact and case-sensitive."""
        return name == self.language or name in self.aliases

    def as_json(self) -> dict[str, Any]:
        """GET /runtimes: `runtime` is left out when there is none, as upstream's JSON does."""
        out: dict[str, Any] = {
            "language": self.language,
            "version": self.version,
            "aliases": list(self.aliases),
        }
        if self.runtime is not None:
            out["runtime"] = self.runtime
        return out


_SEMVER_TOKEN = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_LOOSE_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def semver_of(detected: str) -> str | None:
    """The version in a toolchain's version line ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0" →
    "12.2.0", "v20.20.2" → "20.20.2", "rustc 1.96.0 (…)" → "1.96.0"): the first word that is a
    whole x.y.z, else the first x.y[.z] anywhere."""
    for word in detected.split():
        whole = _SEMVER_TOKEN.fullmatch(word)
        if whole:
            return ".".join(str(int(g)) for g in whole.groups())
    loose = _LOOSE_VERSION.search(detected)
    if loose is None:
        return None
    return ".".join(str(int(g or 0)) for g in loose.groups())


def runtimes(served: Mapping[str, Sequence[str]]) -> list[Runtime]:
    """Piston's runtimes from `lib.registry.languages(...)`: one per language and version."""
    found: list[Runtime] = []
    for flavour in FLAVOURS:
        versions = {v for v in map(semver_of, served.get(flavour.ours, ())) if v}
        for version in sorted(versions, key=_version_key):
            found.append(_runtime(flavour, version))
    return found


def _runtime(flavour: Flavour, version: str) -> Runtime:
    aliases = flavour.aliases
    if flavour.language == "python":  # upstream's python packages add "python3.11", "python3.12"
        aliases = (*aliases, "python" + ".".join(version.split(".")[:2]))
    return Runtime(
        flavour.language, version, aliases, flavour.runtime, flavour.ours, flavour.package
    )


def packages(found: Sequence[Runtime]) -> list[dict[str, Any]]:
    """GET /packages: each package (python, node, gcc, rust) and version, installed."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for rt in found:
        entry = {"language": rt.package, "language_version": rt.version, "installed": True}
        seen.setdefault((rt.package, rt.version), entry)
    return list(seen.values())


def known_language(name: str) -> bool:
    """Whether a Piston language or alias names one of our languages (live or not)."""
    return any(name == f.language or name in f.aliases for f in FLAVOURS) or bool(
        re.fullmatch(r"python3\.\d+", name)
    )


def find_runtime(found: Sequence[Runtime], language: str, version: str) -> Runtime | None:
    """`get_latest_runtime_matching_language_version`: the highest version satisfying the range."""
    matching = [rt for rt in found if rt.named(language) and satisfies(rt.version, version)]
    return max(matching, key=lambda rt: _version_key(rt.version), default=None)


# --- node-semver, the part `semver.satisfies(version, range)` uses ------------------------------
# A version is (major, minor, patch, prerelease); ranges desugar to sets of comparators as
# node-semver's `classes/range.js` does (replaceTildes, replaceCarets, replaceXRanges,
# hyphenReplace). An invalid range satisfies nothing (upstream: an exception, then no match).

Version = tuple[int, int, int, tuple[int | str, ...]]
Comparator = tuple[str, Version]

_PART = r"(?:0|[1-9]\d*|[xX*])"
_IDENT = r"[0-9A-Za-z-]+"
_PRE = rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
_BUILD = rf"(?:\+{_IDENT}(?:\.{_IDENT})*)?"
_PARTIAL = rf"v?({_PART})(?:\.({_PART})(?:\.({_PART}){_PRE}{_BUILD})?)?"
_COMPARATOR = re.compile(rf"(<=|>=|<|>|=|~>|~|\^)?=?{_PARTIAL}")
_HYPHEN = re.compile(rf"\s*=?{_PARTIAL}\s+-\s+=?{_PARTIAL}\s*")
_FULL = re.compile(rf"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*){_PRE}{_BUILD}")
_ANY: list[Comparator] = []
Partial = tuple[int | None, int | None, int | None, tuple[int | str, ...]]


class BadRange(ValueError):
    """Not a range node-semver would parse."""


def parse_version(text: str) -> Version | None:
    m = _FULL.fullmatch(text.strip())
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3]), _prerelease(m[4])


def _prerelease(text: str | None) -> tuple[int | str, ...]:
    if not text:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


def _version_key(text: str) -> tuple[int, int, int]:
    v = parse_version(text)
    return (v[0], v[1], v[2]) if v else (-1, -1, -1)


def compare(a: Version, b: Version) -> int:
    """semver precedence (semver.org section 11): a prerelease is lower than its release."""
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    if a[3] == b[3]:
        return 0
    if not a[3] or not b[3]:
        return 1 if not a[3] else -1
    for x, y in zip(a[3], b[3], strict=False):
        if x != y:
            return _compare_ident(x, y)
    return -1 if len(a[3]) < len(b[3]) else 1


def _compare_ident(x: int | str, y: int | str) -> int:
    if isinstance(x, int) and isinstance(y, int):
        return -1 if x < y else 1
    if isinstance(x, int) or isinstance(y, int):
        return -1 if isinstance(x, int) else 1  # numeric identifiers are lower
    return -1 if x < y else 1


def satisfies(version: str, range_: str) -> bool:
    """`semver.satisfies(version, range)`; False for an invalid version or range."""
    v = parse_version(version)
    if v is None:
        return False
    try:
        sets = parse_range(range_)
    except BadRange:
        return False
    return any(_test_set(s, v) for s in sets)


def parse_range(range_: str) -> list[list[Comparator]]:
    """Each `||` alternative as the comparators it desugars to; BadRange if it does not parse."""
    return [_parse_set(part) for part in range_.split("||")]


def _parse_set(text: str) -> list[Comparator]:
    hyphen = _HYPHEN.fullmatch(text)
    if hyphen:
        return _hyphen(_partial(hyphen.groups()[:4]), _partial(hyphen.groups()[4:]))
    # node-semver trims the space between an operator and its version (">= 3.10").
    text = re.sub(r"(<=|>=|<|>|=|~>|~|\^)\s+", r"\1", text.strip())
    comparators: list[Comparator] = []
    for word in text.split():
        m = _COMPARATOR.fullmatch(word)
        if m is None:
            raise BadRange(word)
        comparators += _desugar(m[1] or "", _partial(m.groups()[1:5]))
    return comparators


def _partial(groups: Sequence[str | None]) -> Partial:
    def number(part: str | None) -> int | None:
        return None if part is None or part in "xX*" else int(part)

    major, minor, patch = (number(g) for g in groups[:3])
    if major is None:  # "*.1" is "*" and "1.x.3" is "1.x" to node-semver 7.3.5 (upstream's lock)
        minor = None
    if minor is None:
        patch = None
    return major, minor, patch, _prerelease(groups[3])


def _desugar(op: str, p: Partial) -> list[Comparator]:
    if op in ("~", "~>"):
        return _tilde(p)
    if op == "^":
        return _caret(p)
    return _xrange(op, p)


def _v(major: int, minor: int = 0, patch: int = 0, pre: tuple[int | str, ...] = ()) -> Version:
    return major, minor, patch, pre


_FLOOR = (0,)  # "-0": below every prerelease of that version, as node-semver's upper bounds


def _xrange(op: str, p: Partial) -> list[Comparator]:
    major, minor, patch, pre = p
    if major is None:
        return [("<", _v(0, 0, 0, _FLOOR))] if op in ("<", ">") else _ANY
    if minor is not None and patch is not None:
        return [(op or "=", _v(major, minor, patch, pre))]
    if op in ("", "="):
        if minor is None:
            return [(">=", _v(major)), ("<", _v(major + 1, 0, 0, _FLOOR))]
        return [(">=", _v(major, minor)), ("<", _v(major, minor + 1, 0, _FLOOR))]
    low = _v(major, minor or 0)
    high = _v(major + 1) if minor is None else _v(major, minor + 1)
    if op == ">":  # above every 1.x of ">1": from 2.0.0
        return [(">=", high)]
    if op == ">=":
        return [(">=", low)]
    if op == "<":
        return [("<", (*low[:3], _FLOOR))]
    return [("<", (*high[:3], _FLOOR))]  # "<=1.2": below 1.3.0-0


def _tilde(p: Partial) -> list[Comparator]:
    major, minor, patch, pre = p
    if major is None:
        return _ANY
    if minor is None:
        return [(">=", _v(major)), ("<", _v(major + 1, 0, 0, _FLOOR))]
    low = _v(major, minor, patch or 0, pre if patch is not None else ())
    return [(">=", low), ("<", _v(major, minor + 1, 0, _FLOOR))]


def _caret(p: Partial) -> list[Comparator]:
    major, minor, patch, pre = p
    if major is None:
        return _ANY
    if minor is None:
        return [(">=", _v(major)), ("<", _v(major + 1, 0, 0, _FLOOR))]
    low = _v(major, minor, patch or 0, pre if patch is not None else ())
    if major > 0:
        high = _v(major + 1, 0, 0, _FLOOR)
    elif minor > 0 or patch is None:
        high = _v(0, minor + 1, 0, _FLOOR)
    else:
        high = _v(0, 0, patch + 1, _FLOOR)
    return [(">=", low), ("<", high)]


def _hyphen(low: Partial, high: Partial) -> list[Comparator]:
    out: list[Comparator] = []
    if low[0] is not None:
        out.append(
            (">=", _v(low[0], low[1] or 0, low[2] or 0, low[3] if low[2] is not None else ()))
        )
    major, minor, patch, pre = high
    if major is None:
        return out
    if minor is None:
        out.append(("<", _v(major + 1, 0, 0, _FLOOR)))
    elif patch is None:
        out.append(("<", _v(major, minor + 1, 0, _FLOOR)))
    else:
        out.append(("<=", _v(major, minor, patch, pre)))
    return out


def _test_set(comparators: list[Comparator], v: Version) -> bool:
    tests = {
        "=": lambda c: c == 0,
        "<": lambda c: c < 0,
        "<=": lambda c: c <= 0,
        ">": lambda c: c > 0,
        ">=": lambda c: c >= 0,
    }
    if not all(tests[op](compare(v, bound)) for op, bound in comparators):
        return False
    if not v[3]:
        return True
    # A prerelease matches only a set that names a prerelease of the same x.y.z ("Prereleases
    # do not match `*`"); node-semver's `testSet`.
    return any(bound[3] and bound[:3] == v[:3] for _, bound in comparators)


# --- the request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caps:
    """The server's limits in Piston's units (ms, bytes), the `configured_limit` of each field."""

    compile_timeout: float
    run_timeout: float
    compile_cpu_time: float
    run_cpu_time: float
    compile_memory_limit: int
    run_memory_limit: int

    @classmethod
    def of(cls, settings: Settings) -> Caps:
        compile_ms, run_ms = _ms(settings.compilation_timeout), _ms(settings.execution_timeout)
        return cls(
            compile_timeout=compile_ms,
            run_timeout=run_ms,
            compile_cpu_time=compile_ms,
            run_cpu_time=run_ms,
            compile_memory_limit=settings.compile_memory_mb * MIB,
            run_memory_limit=settings.max_memory_mb * MIB,
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def js_number(value: float) -> str:
    """A number as JavaScript's template strings print it (10000, not 10000.0)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class PistonJob:
    runtime: Runtime
    request: JobRequest


LIMIT_FIELDS = tuple(
    f"{stage}_{what}"
    for what in ("memory_limit", "timeout", "cpu_time")  # upstream's loop order
    for stage in ("compile", "run")
)


class UnsupportedMediaType(RequestError):
    """A body that is not JSON, sent as some other type (a form, a file)."""

    http_status = 415


JSON_MESSAGE = "requests must be of type application/json"  # upstream's 415, word for word


def parse_json(raw: bytes | str) -> Any:
    """A request body or frame; MalformedMessage if it is not JSON (upstream: 400 `{stack}`)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(
            "the request is not valid JSON", code=ErrorCode.INVALID_JSON
        ) from exc


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """POST /execute's body: JSON whatever the Content-Type says (piston-client sends none, so
    node-fetch labels it text/plain; upstream answers that with 415). A body that does not parse
    is a 415 only when it was sent as some other type; else a 400."""
    try:
        return parse_json(raw)
    except MalformedMessage:
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind and not kind.endswith(("/json", "+json")) and kind != "text/plain":
            raise UnsupportedMediaType(JSON_MESSAGE) from None
        raise


def job(body: Any, found: Sequence[Runtime], caps: Caps, *, interactive: bool = False) -> PistonJob:
    """`v2.js:get_job` and the `Job` constructor: Piston's checks in Piston's order and words
    (InvalidRequest), then ours, as a JobRequest with stage events on. `interactive` (the
    WebSocket's `init`): stdin is not taken from the request, it comes live."""
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    language, version = _required_strings(fields)
    files = _required_files(fields)
    rt = find_runtime(found, language, version)
    if rt is None:
        if known_language(language) and not any(r.named(language) for r in found):
            raise NoWorker(f"no worker serves {language} right now; try again shortly")
        raise InvalidRequest(
            f"{language}-{version} runtime is unknown", code=ErrorCode.UNSUPPORTED_LANGUAGE
        )
    if not any(not _truthy(_get(f, "encoding")) or _get(f, "encoding") == "utf8" for f in files):
        raise InvalidRequest("files must include at least one utf8 encoded file")
    limits = check_limits(fields, caps, rt.compiled)
    main, sources = source_files(files, rt)
    request = JobRequest(
        language=rt.ours,
        files=sources,
        filename=main,
        args=_args(fields.get("args")),
        stdin=None if interactive else _stdin(fields.get("stdin")),
        limits=_stage_limits(limits, "run"),
        compile_limits=_stage_limits(limits, "compile"),
        stage_events=True,
    )
    return PistonJob(rt, request)


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness for JSON values: false, 0, "" and null are falsy; [] and {} not."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float | str):
        return bool(value)
    return True


def _get(file: Any, key: str) -> Any:
    return file.get(key) if isinstance(file, dict) else None


def _required_strings(fields: dict[str, Any]) -> tuple[str, str]:
    for name in ("language", "version"):
        if not _truthy(fields.get(name)) or not isinstance(fields.get(name), str):
            raise InvalidRequest(f"{name} is required as a string")
    return fields["language"], fields["version"]


def _required_files(fields: dict[str, Any]) -> list[Any]:
    files = fields.get("files")
    if not isinstance(files, list):
        raise InvalidRequest("files is required as an array")
    for i, file in enumerate(files):
        if not isinstance(_get(file, "content"), str):
            raise InvalidRequest(f"files[{i}].content is required as a string")
    return files


def check_limits(fields: dict[str, Any], caps: Caps, compiled: bool = True) -> dict[str, float]:
    """Upstream's loop over memory_limit, timeout, cpu_time x compile, run: a falsy value is the
    server's default; a negative memory limit too (upstream: none; ours always holds one). The
    given values, in Piston's units."""
    given: dict[str, float] = {}
    for name in LIMIT_FIELDS:
        value = fields.get(name)
        if not _truthy(value):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequest(f"If specified, {name} must be a number")
        cap = getattr(caps, name)
        if value > cap:
            raise InvalidRequest(
                f"{name} cannot exceed the configured limit of {js_number(cap)}",
                code=ErrorCode.LIMIT_EXCEEDED,
            )
        if value < 0 and name.endswith("memory_limit"):
            continue
        if value < 0:
            raise InvalidRequest(f"{name} must be non-negative")
        if name.endswith("memory_limit") and value < MIN_MEMORY_MB * MIB:
            if compiled or name.startswith("run"):
                raise InvalidRequest(
                    f"{name} must be at least {MIN_MEMORY_MB * MIB}", code=ErrorCode.LIMIT_EXCEEDED
                )
            continue
        given[name] = value
    return given


def _stage_limits(given: dict[str, float], stage: str) -> RequestLimits | None:
    """ms → s, bytes → MB rounded up; None where the server's default applies."""
    wall, cpu = given.get(f"{stage}_timeout"), given.get(f"{stage}_cpu_time")
    memory = given.get(f"{stage}_memory_limit")
    if wall is None and cpu is None and memory is None:
        return None
    return RequestLimits(
        time_s=None if wall is None else wall / 1000,
        cpu_s=None if cpu is None else cpu / 1000,
        memory_mb=None if memory is None else math.ceil(memory / MIB),
    )


def _args(value: Any) -> list[str]:
    """`args ?? []`, spread: a string becomes its characters, as upstream; numbers as text."""
    if value is None:
        return []
    if isinstance(value, str):
        return list(value)
    if isinstance(value, list) and all(_arg_like(a) for a in value):
        return [a if isinstance(a, str) else js_number(a) for a in value]
    raise InvalidRequest("args must be an array of strings")


def _arg_like(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def _stdin(value: Any) -> str:
    """`stdin ?? ''`, then a newline appended if the last character is not one (`job.js`)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest("stdin must be a string")
    return value if value.endswith("\n") else value + "\n"


# --- files --------------------------------------------------------------------------------------


def source_files(files: Sequence[Any], rt: Runtime) -> tuple[str, list[SourceFile]]:
    """Our files and entry file for Piston's: names default to `file{i}.code`; hex and base64
    become our base64; a compiled language's text file gets its source suffix if it has none
    (upstream's compile script appends one to every file); the entry file is the first text file.
    Our own filename rules (lib.files) apply after this."""
    named = [_source_file(i, f, rt) for i, f in enumerate(files)]
    main = next(f.name for f in named if f.encoding == "utf8")
    return main, named


def _source_file(i: int, file: dict[str, Any], rt: Runtime) -> SourceFile:
    name = file.get("name")
    if not _truthy(name):
        name = f"file{i}.code"
    if not isinstance(name, str):
        raise InvalidRequest(f"files[{i}].name must be a string")
    name = name.removeprefix("./")
    if "/" in name:
        raise InvalidRequest(
            f"files[{i}].name {name[:70]!r}: sub-directories are not supported here",
            code=ErrorCode.INVALID_FILENAME,
        )
    encoding = file.get("encoding")
    content: str = file["content"]
    if encoding == "hex":
        return SourceFile(name=name, content=_b64(_hex_bytes(content)), encoding="base64")
    if encoding == "base64":
        return SourceFile(name=name, content=_b64(_base64_bytes(content)), encoding="base64")
    return SourceFile(name=_with_suffix(name, rt), content=content)


def _with_suffix(name: str, rt: Runtime) -> str:
    """C and C++: the suffix appended ("file0.code.c"), as upstream's compile script renames
    every file. Rust: a trailing ".code" replaced ("file0.rs"), since rustc names the crate after
    the file's stem, which may not hold a dot (upstream passes "file0.code" itself)."""
    lang = LANGUAGES[rt.ours]
    if not lang.compiled or name.endswith(lang.source_suffixes + HEADERS):
        return name
    if rt.ours == "rust":
        name = name.removesuffix(".code")
    return name + lang.source_suffixes[0]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hex_bytes(text: str) -> bytes:
    """Node's `Buffer.from(text, "hex")`: whole pairs up to the first that is not hex."""
    pairs = re.match(r"(?:[0-9a-fA-F]{2})*", text)
    return bytes.fromhex(pairs.group() if pairs else "")


def _base64_bytes(text: str) -> bytes:
    """Node's `Buffer.from(text, "base64")`, lenient as it is: whitespace and other stray
    characters are skipped, the URL-safe alphabet is accepted, decoding stops at `=`, and the
    padding may be missing."""
    text = text.split("=", 1)[0].translate(str.maketrans("-_", "+/"))
    text = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(text) % 4 == 1:
        text = text[:-1]
    return base64.b64decode(text + "=" * (-len(text) % 4))


# --- the result ---------------------------------------------------------------------------------


@dataclass
class StageText:
    """What one stage printed: each stream, and both in the order they came (`output`)."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    last: str = ""  # the stream written last: the one an output limit cut


class Transcript:
    """A job's output by stage, from its events (the job runs with `stage_events`). Our compile
    stage has one merged stream: Piston's compilers write their errors to stderr, so it is
    `stderr` here (and `output`)."""

    def __init__(self) -> None:
        self.stages: dict[str, StageText] = {}
        self.current = "run"

    def add(self, event: Event) -> None:
        if isinstance(event, StageEvent) and event.event == "start":
            self.current = event.stage
            self.stages[event.stage] = StageText()
        elif isinstance(event, Output):
            stream, text = _piston_stream(event.stream), self.stage(self.current)
            text.output.append(event.data)
            (text.stdout if stream == "stdout" else text.stderr).append(event.data)
            text.last = stream

    def stage(self, name: str) -> StageText:
        return self.stages.setdefault(name, StageText())


def _piston_stream(stream: Stream) -> str:
    return "stdout" if stream is Stream.STDOUT else "stderr"


@dataclass(frozen=True)
class Outcome:
    """A stage's end as Piston (master, with Isolate) reports it."""

    code: int | None
    signal: str | None
    status: str | None
    message: str | None


# Our compile stage's reasons (services/worker/verdict.compile_failure) that are limits.
COMPILE_TIMEOUT = "compilation took longer than"
COMPILE_OUTPUT = "the compiler wrote more than the output limit"
COMPILE_MEMORY = "the compiler ran out of memory"
MEMORY_MESSAGE = "Memory limit exceeded"


def outcome(
    status: Status, exit_code: int | None, signal: str | None, message: str | None, last: str = ""
) -> Outcome:
    """Our verdict → Piston's `status` (RE, SG, TO, OL, EL, XX or null), `code`, `signal`, and
    Isolate's wording of `message`. `signal` is SIGKILL for TO, OL and EL, as upstream forces."""
    if status is Status.COMPILE_ERROR:
        status = _compile_status(message or "")
    if status in (Status.OK, Status.ACCEPTED):
        return Outcome(exit_code if exit_code is not None else 0, None, None, None)
    if status in (Status.RUNTIME_ERROR, Status.COMPILE_ERROR, Status.WRONG_ANSWER):
        return _crashed(exit_code, signal, message)
    if status is Status.TIMEOUT:
        wall = not message or "CPU" not in message
        return Outcome(None, "SIGKILL", "TO", "Time limit exceeded" + (" (wall clock)" * wall))
    if status is Status.OUTPUT_LIMIT:
        stream = "stderr" if last == "stderr" else "stdout"
        return Outcome(
            None, "SIGKILL", "EL" if stream == "stderr" else "OL", f"{stream} length exceeded"
        )
    if status is Status.MEMORY_LIMIT:
        return Outcome(None, "SIGKILL", "SG", MEMORY_MESSAGE)
    if status is Status.KILLED:
        return Outcome(None, "SIGKILL", "SG", message)
    return Outcome(None, signal, "XX", message or "internal error")


def _compile_status(message: str) -> Status:
    if message.startswith(COMPILE_TIMEOUT):
        return Status.TIMEOUT
    if message.startswith(COMPILE_OUTPUT):
        return Status.OUTPUT_LIMIT
    if message.startswith(COMPILE_MEMORY):
        return Status.MEMORY_LIMIT
    return Status.COMPILE_ERROR


def _crashed(exit_code: int | None, signal: str | None, message: str | None) -> Outcome:
    if signal:
        number = _signal_number(signal)
        said = f"Caught fatal signal {number}" if number else message
        return Outcome(None, signal, "SG", said)
    if exit_code:
        return Outcome(exit_code, None, "RE", f"Exited with error status {exit_code}")
    return Outcome(exit_code, None, "RE", message)


def _signal_number(name: str) -> int | None:
    try:
        return int(signals.Signals[name].value)
    except KeyError:
        return None


def stage_json(end: StageEvent | None, text: StageText, result: JobResult) -> dict[str, Any]:
    """One stage object; without its `end` (the job ended before it did), from the result."""
    if end is not None and end.status is not None:
        said = outcome(end.status, end.exit_code, end.signal, end.message, text.last)
        cpu, wall, memory_kb = end.cpu_time, end.execution_time, end.memory_kb
    else:
        known = result.status in {s.value for s in Status}
        status = Status(result.status) if known else Status.INTERNAL_ERROR
        said = outcome(status, result.exit_code, result.signal, result.message, text.last)
        cpu, wall, memory_kb = result.cpu_time, result.execution_time, result.memory_kb
    return {
        "stdout": "".join(text.stdout),
        "stderr": "".join(text.stderr),
        "output": "".join(text.output),
        "code": said.code,
        "signal": said.signal,
        "message": said.message,
        "status": said.status,
        "cpu_time": round(cpu * 1000),
        "wall_time": round(wall * 1000),
        "memory": memory_kb * 1024,  # bytes (upstream: Isolate's KB x 1000)
    }


def execute_response(
    rt: Runtime, result: JobResult, transcript: Transcript | None = None
) -> dict[str, Any]:
    """POST /execute's 200 body: compile (compiled languages only), run, language, version; a
    failed compile is also the `run` (upstream: "Backward compatibility when the run stage is
    not started"). Without a transcript, the result's own outputs are used (not interleaved)."""
    texts = transcript.stages if transcript is not None else _texts_of(result)
    ends = {s.stage: s for s in result.stages if s.event == "end"}
    body: dict[str, Any] = {}
    if rt.compiled:
        body["compile"] = stage_json(ends.get("compile"), texts.get("compile", StageText()), result)
        compiled = ends.get("compile")
        if compiled is None or compiled.status is not Status.OK:
            body["run"] = body["compile"]
    if "run" not in body:
        body["run"] = stage_json(ends.get("run"), texts.get("run", StageText()), result)
    body["language"], body["version"] = rt.language, rt.version
    return body


def _texts_of(result: JobResult) -> dict[str, StageText]:
    run = StageText([result.stdout], [result.stderr], [result.stdout, result.stderr])
    run.last = "stderr" if result.stderr_truncated else "stdout"
    compile_ = StageText([], [result.compile_output], [result.compile_output], "stderr")
    return {"run": run, "compile": compile_}


# --- the WebSocket ------------------------------------------------------------------------------

# What `signal` may name upstream (master: `Object.values(globals.SIGNALS)`, `api/src/globals.js`).
PISTON_SIGNALS = frozenset(
    [
        *("SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE"),
        *("SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"),
        *("SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"),
        *("SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO"),
        *("SIGPWR", "SIGSYS", "SIGRTMIN"),
        *(f"SIGRTMIN+{i}" for i in range(1, 16)),
        *(f"SIGRTMAX-{i}" for i in range(14, 0, -1)),
        "SIGRTMAX",
    ]
)


def ws_messages(event: Event) -> list[dict[str, Any]]:
    """Our event as Piston's WebSocket messages; none for events Piston has no word for (a
    validator warning). The terminal event is the door's: close 4999, or `error` and 4002."""
    if isinstance(event, StageEvent) and event.event == "start":
        return [{"type": "stage", "stage": event.stage}]
    if isinstance(event, StageEvent) and event.status is not None:
        said = outcome(event.status, event.exit_code, event.signal, event.message)
        return [{"type": "exit", "stage": event.stage, "code": said.code, "signal": said.signal}]
    if isinstance(event, Output):
        return [{"type": "data", "stream": _piston_stream(event.stream), "data": event.data}]
    return []


def presented_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """The API key of a Piston request: `X-API-Key`, `Authorization: Bearer <key>`, or the raw
    `Authorization: <key>` the public Piston's clients send."""
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    scheme, _, rest = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return (authorization or "").strip() or None
