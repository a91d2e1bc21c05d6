"""Property-based fuzzing of a live gateway: over 10,000 malformed or adversarial WebSocket frames
and HTTP requests against real redis-server, gateway and worker processes (a stack of this module's
own, so that the shared `stack` of the other tests is not disturbed).

What must hold, for every connection and every request:
- no 5xx, ever: HTTP answers, raw HTTP/1.1 on the socket, and the WebSocket handshake;
- no crash: after every batch the gateway process is alive and /health answers 200; at the end
  its log holds no traceback;
- no hang: every WebSocket connection gets its answer and its close within a few seconds
  (REFUSAL_TIMEOUT_S; ACCEPTED_TIMEOUT_S for a job that was accepted and must pass the worker),
  every HTTP request its response (HTTP_TIMEOUT_S);
- every refusal on the WebSocket is one `error` message, the last one, whose `code` is a value of
  lib.protocol.ErrorCode, followed by the close code docs/protocol.md gives that code, one of
  {1003, 1007, 1008, 1009, 1011, 1013}. Two refusals come from the WebSocket layer, without an
  `error`, as documented: a bare 1009 close for a frame over the transport limit, a bare 1007
  close for a text frame that is not UTF-8;
- the refusal is the one the request deserves. The oracle is written from docs/protocol.md (the
  order of checks, the limits, the file-name rules), not from the gateway's code; where lax
  coercion makes the outcome depend on Pydantic, it allows each possible answer. A request that
  may be valid is allowed to be accepted: the client then sends `kill` at once, and the job must
  end with exactly one `complete` and close 1000;
- at the end a normal job (python `print("alive")`) runs end to end.

Strategies: random text, JSON-ish text, random bytes in binary and text frames, random JSON
(`st.recursive`), `execute` messages with a valid fresh token and 1 to 4 mutated fields (wrong
types, huge strings, deep nesting, lone surrogates as JSON escapes, NUL bytes, huge numbers,
negative and non-finite limits, unknown languages, file names with ../ and / and NUL, forged
tokens, BOM and trailing garbage), bursts of frames, frames at and over the size limits, a
compressed frame that inflates over the limit; after an accepted `execute`: many `input` messages
on one connection and then an invalid one (or `kill`, or `eof`); HTTP: random methods, paths,
headers and bodies through httpx, and raw bytes on the socket.

Efficiency: refused connections run 50 at a time (asyncio.gather); a connection can be reused only
until its first error (the gateway then closes), so reuse happens after an accepted `execute`,
where `input` messages are legal. Job tokens are minted here with the stack's JWT secret (the
documented HS256 claims), so no job creation is needed for them; no sandbox runs except for the
few requests that turn out valid (killed at once) and the reuse connections. The test counts the
messages the gateway had to read: one per refused connection (a burst's extra frames are sent
but not counted), every frame of a reuse connection up to its last, every HTTP request; the total
must be at least MIN_MESSAGES.

Reproducible: hypothesis with a fixed seed (CEXEC_FUZZ_SEED, default below; derandomize would
hash the test's location, so a clone elsewhere would test other cases) and database=None. There
is no shrinking phase: a failure names each failing case exactly (what was sent, what was
expected, what came back), and a bug found this way is pinned in its smallest form in PINNED
(test_pinned_cases).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
import pytest
import websockets
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from lib.languages import LANGUAGES
from lib.protocol import ErrorCode, Status
from tests.conftest import API_KEY, JWT_SECRET, RedisServer, Stack, scaled, start_stack

pytestmark = pytest.mark.e2e

# -- the stack and its limits ----------------------------------------------------------------------

# Every setting the oracle depends on, pinned, so that a developer's .env cannot shift it.
KB = 1024
LIMITS = {
    "MAX_MESSAGE_KB": 1024,
    "MAX_FILES": 16,
    "MAX_FILE_KB": 64,
    "MAX_CODE_KB": 256,
    "MAX_ARGS": 64,
    "MAX_INPUT_KB": 8192,
    "EXECUTE_WAIT_S": 5,
    "EXECUTION_TIMEOUT": 10,
    "MAX_MEMORY_MB": 256,
    "MAX_OUTPUT_KB": 1024,
}
FRAME_LIMIT = LIMITS["MAX_MESSAGE_KB"] * KB  # `message_too_large` above this
TRANSPORT_LIMIT = 2 * FRAME_LIMIT  # uvicorn's ws_max_size: a bare 1009 close above this
FILE_LIMIT = LIMITS["MAX_FILE_KB"] * KB
CODE_LIMIT = LIMITS["MAX_CODE_KB"] * KB
INPUT_LIMIT = LIMITS["MAX_INPUT_KB"] * KB
MAX_ARG_BYTES = 4096
MIN_MEMORY_MB = 16
CAPS = {
    "time_s": LIMITS["EXECUTION_TIMEOUT"],
    "memory_mb": LIMITS["MAX_MEMORY_MB"],
    "output_kb": LIMITS["MAX_OUTPUT_KB"],
}

BATCH = 50  # connections at once
FIRST_MESSAGE_EXAMPLES = 170  # x BATCH refused-or-killed connections
REUSE_EXAMPLES = 20
REUSE_BATCH = 10
HTTP_EXAMPLES = 30  # x BATCH requests
RAW_EXAMPLES = 6  # x BATCH raw connections
MIN_MESSAGES = 10_000

REFUSAL_TIMEOUT_S = scaled(10)
ACCEPTED_TIMEOUT_S = scaled(60)
HTTP_TIMEOUT_S = scaled(10)
LOG_TAIL = 3000
# uvicorn logs this at ERROR, with a traceback, for each text frame that is not UTF-8 (and closes
# with 1007, as documented): the library's doing, not the gateway's, so not counted as a crash.
UVICORN_UTF8 = "Invalid UTF-8 sequence received from client"

TALLY: Counter[str] = Counter()  # messages sent, by kind, for the final count
PHASES = ("first_messages", "reuse", "http", "raw_http", "slow_clients")


@pytest.fixture(scope="module")
def fuzz_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    extra = {name: str(value) for name, value in LIMITS.items()}
    s = start_stack(
        redis_server.url,
        tmp_path_factory.mktemp("fuzz"),
        WORKER_CONCURRENCY="1",
        CODE_VALIDATION="deny",
        **extra,
    )
    yield s
    s.gateway.stop()
    s.worker.stop()


SEED = int(os.environ.get("CEXEC_FUZZ_SEED", "20261126"))
FUZZ = settings(
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
    verbosity=Verbosity.quiet,  # each failing case is named in the assertion instead
)

# -- outcomes --------------------------------------------------------------------------------------

E = ErrorCode
ACCEPT = "accepted"  # the job was accepted: `complete` after our `kill` (or a worker's error)
BARE_1007 = "closed:1007"  # the WebSocket layer closed without an `error` message
BARE_1009 = "closed:1009"
KNOWN_CODES = {c.value for c in ErrorCode}
CLOSE_OF = {  # docs/protocol.md, "Error codes"
    E.AUTH: 1008,
    E.INVALID_JSON: 1007,
    E.INVALID_MESSAGE: 1007,
    E.UNEXPECTED_MESSAGE: 1003,
    E.MESSAGE_TOO_LARGE: 1009,
    E.EXECUTE_TIMEOUT: 1008,
    E.INVALID_REQUEST: 1007,
    E.UNSUPPORTED_LANGUAGE: 1007,
    E.INVALID_FILENAME: 1007,
    E.LIMIT_EXCEEDED: 1007,
    E.CODE_TOO_LARGE: 1009,
    E.INPUT_TOO_LARGE: 1009,
    E.CODE_REJECTED: 1008,
    E.LANGUAGE_UNAVAILABLE: 1011,
    E.UNAVAILABLE: 1013,
    E.INTERNAL_ERROR: 1011,
    E.TOO_MANY_RUNNING: 1013,
    E.RESUME_EXPIRED: 1008,
    E.GOING_AWAY: 1001,  # only when the gateway shuts down: never expected here
}
REFUSAL_CLOSES = {1003, 1007, 1008, 1009, 1011, 1013}
SERVER_TYPES = {"output", "warning", "complete", "error", "resume_token"}

RAN = frozenset({ACCEPT})
RAN_OR_REJECTED = frozenset({ACCEPT, E.CODE_REJECTED})


def out(*codes: str) -> frozenset[str]:
    return frozenset(codes)


def names(outcomes: frozenset[str]) -> str:
    return " | ".join(sorted(str(o) for o in outcomes))


# -- values the oracle reasons about ---------------------------------------------------------------


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()  # a mutation that removes the field


@dataclass(frozen=True)
class Tok:
    """A job id or token, made fresh for each connection: `kind` says how (valid or forged)."""

    kind: str


@dataclass(frozen=True)
class Raw:
    """JSON text placed verbatim (what json.dumps cannot write: nesting depth, 5,000 digits)."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({_short(self.text)})"


@dataclass(frozen=True)
class Big:
    """A long string, built when sent: `unit` * `count` + `tail`."""

    unit: str
    count: int
    tail: str = ""

    def value(self) -> str:
        return self.unit * self.count + self.tail

    def __repr__(self) -> str:
        return f"Big({self.unit!r} * {self.count} + {self.tail!r})"


def _short(text: Any, limit: int = 80) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}...({len(shown)} chars)"


def value_of(x: Any) -> Any:
    return x.value() if isinstance(x, Big) else x


def dump_str(s: str) -> str:
    """A JSON string literal: raw UTF-8 where possible, \\u escapes where the text has lone
    surrogates (a text frame must be UTF-8; the escapes carry them to the gateway's JSON)."""
    if s.isascii():
        return json.dumps(s)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(s)
    return json.dumps(s, ensure_ascii=False)


def server_str(s: str) -> str:
    """The string the gateway decodes from our literal (a surrogate pair becomes one character)."""
    return str(json.loads(dump_str(s)))


def has_lone_surrogate(s: str) -> bool:
    try:
        server_str(s).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def utf8_size(s: str) -> int:
    return len(server_str(s).encode("utf-8", "surrogatepass"))


# -- job ids and tokens ----------------------------------------------------------------------------

HEX32 = re.compile(r"[0-9a-f]{32}")
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


def _b64(data: dict[str, Any]) -> str:
    import base64

    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Ctx:
    """One connection's job: a fresh id, and its token as the gateway would issue it."""

    def __init__(self) -> None:
        self.job_id = secrets.token_hex(16)
        self.now = int(time.time())

    def claims(self, **change: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": self.job_id,
            "jti": secrets.token_hex(16),
            "iat": self.now,
            "exp": self.now + 900,
        }
        claims.update(change)
        return {k: v for k, v in claims.items() if v is not DELETE}

    def token(self, **change: Any) -> str:
        return jwt.encode(self.claims(**change), JWT_SECRET, algorithm="HS256")

    def resume_token(self, **change: Any) -> str:
        """As the gateway issues them (docs: `typ` `resume`, no `jti`)."""
        claims: dict[str, Any] = {
            "sub": self.job_id,
            "typ": "resume",
            "kid": "",
            "iat": self.now,
            "exp": self.now + 3600,
        }
        claims.update(change)
        claims = {k: v for k, v in claims.items() if v is not DELETE}
        return jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    def resolve(self, tok: Tok) -> str:
        kind, valid = tok.kind, None
        if kind == "id":
            return self.job_id
        if kind == "token":
            return self.token()
        if kind == "id_upper":
            return self.job_id.upper()
        if kind == "id_other":
            return secrets.token_hex(16)
        if kind == "id_short":
            return self.job_id[:31]
        if kind == "id_long":
            return self.job_id + "0"
        if kind == "id_newline":
            return self.job_id + "\n"
        if kind == "id_space":
            return " " + self.job_id
        if kind == "id_unicode":
            return self.job_id[:31] + "\u0661"  # ARABIC-INDIC DIGIT ONE: a digit, not [0-9]
        resume = {
            "resume": self.resume_token,
            "resume_expired": lambda: self.resume_token(iat=self.now - 9000, exp=self.now - 100),
            "resume_other_job": lambda: self.resume_token(sub=secrets.token_hex(16)),
            "resume_typ_job": lambda: self.resume_token(typ="job"),
            "resume_no_typ": lambda: self.resume_token(typ=DELETE),
            "resume_no_exp": lambda: self.resume_token(exp=DELETE),
            "resume_other_secret": lambda: jwt.encode(
                {"sub": self.job_id, "typ": "resume", "exp": self.now + 99}, OTHER_SECRET
            ),
            "resume_is_job_token": self.token,
        }
        if kind in resume:
            return resume[kind]()
        valid = self.token()
        forged = {
            "expired": lambda: self.token(iat=self.now - 2000, exp=self.now - 100),
            "other_job": lambda: self.token(sub=secrets.token_hex(16)),
            "other_secret": lambda: jwt.encode(self.claims(), OTHER_SECRET, algorithm="HS256"),
            "hs512": lambda: jwt.encode(self.claims(), JWT_SECRET, algorithm="HS512"),
            "alg_none": lambda: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(self.claims())}.",
            "no_jti": lambda: self.token(jti=DELETE),
            "empty_jti": lambda: self.token(jti=""),
            "int_jti": lambda: self.token(jti=5),
            "no_exp": lambda: self.token(exp=DELETE),
            "no_sub": lambda: self.token(sub=DELETE),
            "int_sub": lambda: self.token(sub=12345),
            "no_iat": lambda: self.token(iat=DELETE),
            "resume_typ": lambda: self.token(jti=DELETE, typ="resume"),
            "truncated": lambda: valid[:-3],
            "no_signature": lambda: valid.rsplit(".", 1)[0] + ".",
            "extra_segment": lambda: valid + ".e30",
            "padded": lambda: " " + valid,
            "doubled": lambda: valid + valid,
            "payload_swapped": lambda: ".".join(
                [valid.split(".")[0], _b64(self.claims(exp=self.now + 99999)), valid.split(".")[2]]
            ),
            "huge": lambda: valid + "A" * 200_000,
        }
        return forged[kind]()


FORGED_TOKENS = [
    "expired",
    "other_job",
    "other_secret",
    "hs512",
    "alg_none",
    "no_jti",
    "empty_jti",
    "int_jti",
    "no_exp",
    "no_sub",
    "int_sub",
    "no_iat",
    "resume_typ",
    "truncated",
    "no_signature",
    "extra_segment",
    "padded",
    "doubled",
    "payload_swapped",
    "huge",
]
BAD_IDS = ["id_upper", "id_other", "id_short", "id_long", "id_newline", "id_space", "id_unicode"]


# -- rendering a message ---------------------------------------------------------------------------


def render(value: Any, ctx: Ctx) -> str:
    """Our own JSON writer: markers resolved, Raw text verbatim, NaN and Infinity as Python's
    json module writes them (the gateway's parser reads them)."""
    if isinstance(value, Tok):
        return dump_str(ctx.resolve(value))
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Big):
        return dump_str(value.value())
    if isinstance(value, str):
        return dump_str(value)
    if value is None or isinstance(value, bool | float):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(render(v, ctx) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{dump_str(k)}:{render(v, ctx)}" for k, v in value.items() if v is not DELETE)
        return "{" + ",".join(items) + "}"
    raise TypeError(f"cannot render {value!r}")


@dataclass(frozen=True)
class Tmpl:
    """A JSON message rendered for each connection; `before`/`after` wrap the text, `inside` is
    written before the closing brace (a duplicate key)."""

    message: Any
    before: str = ""
    after: str = ""
    inside: str = ""

    def text(self, ctx: Ctx) -> str:
        body = render(self.message, ctx)
        if self.inside:
            body = body[:-1] + ("," if len(body) > 2 else "") + self.inside + "}"
        return self.before + body + self.after

    def __repr__(self) -> str:
        wrap = f" before={self.before!r}" if self.before else ""
        wrap += f" after={self.after!r}" if self.after else ""
        wrap += f" inside={self.inside!r}" if self.inside else ""
        return f"Tmpl({_short(self.message, 600)}{wrap})"


@dataclass(frozen=True)
class TextBytes:
    """Bytes sent in a text frame as they are (maybe not UTF-8)."""

    data: bytes

    def __repr__(self) -> str:
        return f"TextBytes({_short(self.data)})"


@dataclass(frozen=True)
class Inflating:
    """A text frame sent compressed: `size` spaces inside a JSON object (a deflate bomb)."""

    size: int


Frame = str | bytes | Tmpl | TextBytes | Inflating


def frame_repr(frame: Frame) -> str:
    return repr(frame) if isinstance(frame, Tmpl | TextBytes | Inflating) else _short(frame)


# -- the oracle: a frame's outcome -----------------------------------------------------------------

KNOWN_TYPES = {"execute", "resume", "input", "eof", "kill"}
LOOSE = out(E.INVALID_MESSAGE, E.UNEXPECTED_MESSAGE, E.AUTH)  # a random execute/resume
KNOWN_LANGUAGES = {n for lang in LANGUAGES.values() for n in (lang.name, *lang.aliases)}
EXECUTE_FIELDS = {
    "type",
    "job_id",
    "job_token",
    "language",
    "code",
    "filename",
    "files",
    "args",
    "stdin",
    "limits",
    "resumable",
}
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


# Above the transport limit the server sends 1009 and closes while the client may still be
# writing the frame; TCP then resets the connection and the close frame can be lost on the way
# (seen in CI), so a drop without a close frame is the same refusal.
BARE_DROP = "closed:None"


def size_outcome(size: int) -> frozenset[str] | None:
    if size > TRANSPORT_LIMIT:
        return out(BARE_1009, BARE_DROP)
    if size > FRAME_LIMIT:
        return out(E.MESSAGE_TOO_LARGE)
    return None


def shape_outcome(value: Any) -> frozenset[str]:
    """The first message, parsed: what a random JSON value deserves."""
    if not isinstance(value, dict):
        return out(E.INVALID_MESSAGE)
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        return out(E.INVALID_MESSAGE)
    if kind in ("eof", "kill"):
        return out(E.UNEXPECTED_MESSAGE)  # valid, unknown fields ignored, but not `execute`
    if kind == "input":
        ok = isinstance(value.get("data"), str)
        return out(E.UNEXPECTED_MESSAGE if ok else E.INVALID_MESSAGE)
    return LOOSE


def text_outcome(text: str) -> frozenset[str]:
    by_size = size_outcome(len(text.encode("utf-8")))
    if by_size is not None:
        return by_size
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return out(E.INVALID_JSON)
    return shape_outcome(value)


def bytes_outcome(data: bytes) -> frozenset[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return out(BARE_1007)
    return text_outcome(text)


def valid_filename(name: str) -> bool:
    return bool(NAME_RE.fullmatch(name)) and ".." not in name and name != "main"


def known_language(name: str) -> bool:
    return name.strip().lower() in KNOWN_LANGUAGES


# -- mutations of a valid `execute` ----------------------------------------------------------------

T_JSON, T_SCHEMA, T_AUTH, T_LANG, T_CONTENT = 1, 2, 3, 4, 5  # docs: "Order of checks"


@dataclass(frozen=True)
class Mut:
    group: str  # at most one mutation per group in a message
    key: str  # the field it sets ("" for a change of the frame's text)
    value: Any
    outcomes: frozenset[str]
    tier: int

    def __repr__(self) -> str:
        return f"{self.key or self.group}={_short(self.value, 200)}"


def schema(group: str, key: str, value: Any) -> Mut:
    return Mut(group, key, value, out(E.INVALID_MESSAGE), T_SCHEMA)


def content(group: str, key: str, value: Any, outcomes: frozenset[str]) -> Mut:
    return Mut(group, key, value, outcomes, T_CONTENT)


def combine(muts: list[Mut]) -> frozenset[str]:
    """What a message with all these mutations deserves: the first failing check, in the
    documented order, wins; among content checks, any of the mutations' outcomes may."""
    if jsons := [m for m in muts if m.tier == T_JSON]:
        return frozenset().union(*(m.outcomes for m in jsons))
    if types := [m for m in muts if m.group == "type"]:
        return types[0].outcomes  # the discriminator decides; other fields are not looked at
    # A lax coercion that may or may not fail is a schema error before anything else.
    maybe = out(E.INVALID_MESSAGE) if any(E.INVALID_MESSAGE in m.outcomes for m in muts) else out()
    if any(m.tier == T_SCHEMA for m in muts):
        return out(E.INVALID_MESSAGE)
    if any(m.tier == T_AUTH for m in muts):
        return out(E.AUTH) | maybe
    if any(m.tier == T_LANG for m in muts):
        return out(E.UNSUPPORTED_LANGUAGE) | maybe
    outcomes = frozenset().union(*(m.outcomes for m in muts))
    if not all(ACCEPT in m.outcomes for m in muts):
        outcomes -= RAN_OR_REJECTED
    return outcomes


# strategies for values

text = st.text(max_size=40)
SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "\x00\x00\x00",
    "\u202e",
    "\ufeff",
    "\U0001f4a5",
    "\U0010ffff",
    "\ufffe",
    "null",
    "true",
    "0",
    "-1",
    "NaN",
    "../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "'; DROP TABLE jobs; --",
    "\r\n\r\n",
    "%00",
    "\\u0000",
    "<script>alert(1)</script>",
    "A" * 1000,
    "\u0130",  # LATIN CAPITAL LETTER I WITH DOT ABOVE: its lower() is two characters
]
weird_text = st.one_of(text, st.sampled_from(SPECIAL_STRINGS))
LONE = ["\ud800", "\udfff", "\udbff", "\ud800\ud800", "\udc00\ud800"]
with_lone = st.builds(lambda a, s, b: a + s + b, text, st.sampled_from(LONE), text)
any_text = st.one_of(weird_text, weird_text, with_lone)
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), text, st.sampled_from(SPECIAL_STRINGS)
)
json_any = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=12,
)
non_str = json_any.filter(lambda v: not isinstance(v, str))
non_str_non_null = non_str.filter(lambda v: v is not None)
nested_ok = st.integers(2, 400).map(lambda n: Raw("[" * n + "]" * n))  # parses, wrong type
too_deep = st.one_of(  # the parser gives up: RecursionError, refused as invalid JSON
    st.integers(50_000, 120_000).map(lambda n: Raw("[" * n + "]" * n)),
    st.integers(50_000, 80_000).map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
)
huge_digits = st.integers(4_400, 20_000).map(lambda n: Raw("-" * (n % 2) + "9" * n))


def big_strings(units: list[str], max_count: int) -> st.SearchStrategy[Big]:
    return st.builds(Big, st.sampled_from(units), st.integers(1, max_count))


# type


def type_mut(value: Any, outcomes: frozenset[str]) -> Mut:
    return Mut("type", "type", value, outcomes, T_SCHEMA)


type_muts = st.one_of(
    st.just(type_mut(DELETE, out(E.INVALID_MESSAGE))),
    st.sampled_from(["eof", "kill"]).map(lambda t: type_mut(t, out(E.UNEXPECTED_MESSAGE))),
    st.sampled_from(
        ["input", "resume", "Execute", "EXECUTE", " execute", "execute\x00", "", "execute\u200b"]
    ).map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
    text.filter(lambda s: s not in KNOWN_TYPES).map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
    with_lone.map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
    non_str.map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
    # A duplicate key: the last one wins, and `eof` ignores every other field.
    st.just(Mut("type", "", '"type":"eof"', out(E.UNEXPECTED_MESSAGE), T_SCHEMA)),
)

# job_id and job_token


def auth(group: str, key: str, value: Any) -> Mut:
    return Mut(group, key, value, out(E.AUTH), T_AUTH)


job_id_muts = st.one_of(
    st.just(schema("job_id", "job_id", DELETE)),
    non_str.map(lambda v: schema("job_id", "job_id", v)),
    st.sampled_from(BAD_IDS).map(lambda k: auth("job_id", "job_id", Tok(k))),
    any_text.filter(lambda s: not HEX32.fullmatch(s)).map(lambda v: auth("job_id", "job_id", v)),
    big_strings(["0", "a", "\u00e9"], 300_000).map(lambda v: auth("job_id", "job_id", v)),
)
token_muts = st.one_of(
    st.just(schema("job_token", "job_token", DELETE)),
    non_str.map(lambda v: schema("job_token", "job_token", v)),
    st.sampled_from(FORGED_TOKENS).map(lambda k: auth("job_token", "job_token", Tok(k))),
    any_text.map(lambda v: auth("job_token", "job_token", v)),
)

# the file group: language, code, filename, files (one of them per message)


def language_mut(name: str) -> Mut:
    if known_language(name):
        return content("file", "language", name, RAN_OR_REJECTED)
    return Mut("file", "language", name, out(E.UNSUPPORTED_LANGUAGE), T_LANG)


KNOWN_VARIANTS = sorted(
    {v for n in KNOWN_LANGUAGES for v in (n, n.upper(), f"  {n}\t", n.title(), f"\u00a0{n}\n")}
)
language_muts = st.one_of(
    st.just(schema("file", "language", DELETE)),
    non_str.map(lambda v: schema("file", "language", v)),
    any_text.map(language_mut),
    st.sampled_from(KNOWN_VARIANTS).map(language_mut),
    st.sampled_from(["cobol", "python4", "c#", "java", "bash", "sh", "pyth\x00on"]).map(
        language_mut
    ),
    big_strings(["x", "\U0001f4a5"], 200_000).map(lambda b: language_mut(b.value())),
)


def code_outcome(code: str) -> frozenset[str]:
    if has_lone_surrogate(code):
        return out(E.INVALID_REQUEST)
    if utf8_size(code) > FILE_LIMIT:
        return out(E.CODE_TOO_LARGE)
    return RAN_OR_REJECTED


def code_mut(value: Any) -> Mut:
    return content("file", "code", value, code_outcome(value_of(value)))


DENIED_SNIPPETS = [
    "import os\nos.system('id')\n",
    "import subprocess\nsubprocess.run(['id'])\n",
    "__import__('os').system('id')\n",
    "import socket\nsocket.socket()\n",
    "exec('print(1)')\n",
    "import ctypes\n",
    "(" * 5000 + ")" * 5000,
    "x = " + "[" * 3000 + "]" * 3000,
    "if 1:\n" + "".join(" " * i + "if 1:\n" for i in range(1, 200)) + " " * 200 + "pass\n",
    "# -*- coding: utf-7 -*-\n+AGk-mport os\n",
    "print(1)\x00",
]


@st.composite
def boundary_code(draw: st.DrawFn) -> Big:
    unit = draw(st.sampled_from(["x", "\u00e9", "\u20ac", "\U0001f4a5", "\x00", "\n"]))
    per = len(unit.encode())
    count = draw(st.sampled_from([FILE_LIMIT // per, FILE_LIMIT // per + 1]))
    tail = draw(st.sampled_from(["", "", "", "\ud800"]))
    return Big(unit, count, tail)


code_muts = st.one_of(
    non_str_non_null.map(lambda v: schema("file", "code", v)),
    st.sampled_from([None, DELETE]).map(
        lambda v: content("file", "code", v, out(E.INVALID_REQUEST))
    ),
    any_text.map(code_mut),
    st.sampled_from(DENIED_SNIPPETS).map(code_mut),
    boundary_code().map(code_mut),
    big_strings(["x", "\u00e9", "\U0001f4a5", "\x00"], 250_000).map(code_mut),
    nested_ok.map(lambda v: schema("file", "code", v)),
    too_deep.map(lambda v: Mut("file", "code", v, out(E.INVALID_JSON), T_JSON)),
    huge_digits.map(lambda v: Mut("file", "code", v, out(E.INVALID_JSON), T_JSON)),
)
BAD_NAMES = [
    "../etc/passwd",
    "a/b.py",
    "/abs.py",
    "x\x00.py",
    "main",
    ".hidden",
    "-rf",
    "a" * 65,
    "a b.py",
    "\u00fcn\u00ef.py",
    "..",
    ".",
    "x..py",
    "..\\x.py",
    "x\n",
    "x.py\n",
    "CON",  # valid: only the documented rules count
    "a" * 64,  # valid: the longest
    "_",
    "Main",
    "main.c",
]
name_alphabet = st.sampled_from([*"aZ09_.-/\\ \x00\u00e9\n", "..", "main"])
name_text = st.one_of(
    st.sampled_from(BAD_NAMES),
    text,
    with_lone,
    st.lists(name_alphabet, max_size=20).map("".join),
)


def filename_mut(name: str) -> Mut:
    ok = name == "" or valid_filename(server_str(name))  # "": the language's default name
    return content("file", "filename", name, RAN if ok else out(E.INVALID_FILENAME))


filename_muts = st.one_of(
    non_str_non_null.map(lambda v: schema("file", "filename", v)),
    st.sampled_from([None, ""]).map(lambda v: content("file", "filename", v, RAN)),
    name_text.map(filename_mut),
)


def files_outcome(files: list[dict[str, Any]]) -> frozenset[str]:
    """The documented order: names, duplicates, count, then each file's encoding and size, then
    the total. The `code` file ("print(1)" as main.py) comes first."""
    names = ["main.py", *(f["name"] for f in files)]
    if not all(valid_filename(server_str(n)) for n in names):
        return out(E.INVALID_FILENAME)
    if len({server_str(n) for n in names}) != len(names):
        return out(E.INVALID_FILENAME)
    if len(names) > LIMITS["MAX_FILES"]:
        return out(E.CODE_TOO_LARGE)
    total = len("print(1)")
    for f in files:
        body = value_of(f["content"])
        if has_lone_surrogate(body):
            return out(E.INVALID_REQUEST)
        size = utf8_size(body)
        if size > FILE_LIMIT:
            return out(E.CODE_TOO_LARGE)
        total += size
    if total > CODE_LIMIT:
        return out(E.CODE_TOO_LARGE)
    return RAN_OR_REJECTED


file_entry = st.fixed_dictionaries(
    {"name": name_text, "content": st.one_of(any_text, st.sampled_from(DENIED_SNIPPETS))},
    optional={"extra": json_any},
)
bad_entry = st.one_of(
    non_str.filter(lambda v: not isinstance(v, dict)),
    st.fixed_dictionaries({"name": text}),
    st.fixed_dictionaries({"content": text}),
    st.fixed_dictionaries({"name": non_str, "content": text}),
    st.fixed_dictionaries({"name": text, "content": non_str}),
)


def many_files(n: int) -> list[dict[str, Any]]:
    return [{"name": f"m{i}.py", "content": "x = 1\n"} for i in range(n)]


def large_files(n: int) -> list[dict[str, Any]]:
    return [{"name": f"l{i}.py", "content": Big("#", 60 * KB)} for i in range(n)]


def files_mut(files: list[dict[str, Any]]) -> Mut:
    return content("file", "files", files, files_outcome(files))


files_muts = st.one_of(
    non_str_non_null.filter(lambda v: not isinstance(v, list)).map(
        lambda v: schema("file", "files", v)
    ),
    st.just(content("file", "files", None, RAN)),
    st.tuples(st.lists(file_entry, max_size=2), bad_entry, st.lists(file_entry, max_size=2)).map(
        lambda t: schema("file", "files", [*t[0], t[1], *t[2]])
    ),
    st.lists(file_entry, max_size=5).map(files_mut),
    st.integers(14, 40).map(lambda n: files_mut(many_files(n))),
    st.integers(3, 6).map(lambda n: files_mut(large_files(n))),
    st.builds(
        lambda name: files_mut([{"name": name, "content": "x"}, {"name": name, "content": "y"}]),
        st.sampled_from(["a.py", "b"]),
    ),
)
file_muts = st.one_of(language_muts, code_muts, filename_muts, files_muts)

# args, stdin


def args_outcome(args: list[Any]) -> frozenset[str]:
    if len(args) > LIMITS["MAX_ARGS"]:
        return out(E.LIMIT_EXCEEDED)
    for arg in map(value_of, args):
        if has_lone_surrogate(arg) or "\x00" in arg or utf8_size(arg) > MAX_ARG_BYTES:
            return out(E.INVALID_REQUEST)
    return RAN


def args_mut(args: list[Any]) -> Mut:
    return content("args", "args", args, args_outcome(args))


arg_text = st.one_of(
    any_text,
    st.sampled_from(["-rf", "--help", "$(id)", "`id`", "; id", "*", "~", "", "-"]),
    st.sampled_from([Big("a", 4096), Big("a", 4097), Big("\u00e9", 2048), Big("\u00e9", 2049)]),
)
args_muts = st.one_of(
    st.just(schema("args", "args", None)),  # documented: null is refused
    non_str_non_null.filter(lambda v: not isinstance(v, list)).map(
        lambda v: schema("args", "args", v)
    ),
    st.tuples(st.lists(text, max_size=2), non_str).map(
        lambda t: schema("args", "args", [*t[0], t[1]])
    ),
    st.lists(arg_text, max_size=6).map(args_mut),
    st.integers(60, 200).map(lambda n: args_mut(["a"] * n)),
)


def stdin_mut(value: Any) -> Mut:
    bad = value is not None and has_lone_surrogate(value_of(value))
    return content("stdin", "stdin", value, out(E.INVALID_REQUEST) if bad else RAN)


stdin_muts = st.one_of(
    non_str_non_null.map(lambda v: schema("stdin", "stdin", v)),
    st.just(stdin_mut(None)),
    any_text.map(stdin_mut),
    big_strings(["y\n", "\u00e9"], 1_200_000).map(stdin_mut),
)

# limits

AMBIGUOUS = out(E.INVALID_MESSAGE, E.LIMIT_EXCEEDED, ACCEPT)  # lax coercion of str and bool


def limit_outcome(name: str, value: Any) -> frozenset[str]:
    cap = CAPS[name]
    if isinstance(value, Raw):
        value = json.loads(value.text)
    if value is None:
        return RAN
    if isinstance(value, bool | str):
        return AMBIGUOUS
    if not isinstance(value, int | float):
        return out(E.INVALID_MESSAGE)
    if isinstance(value, float) and value != value:  # NaN
        return out(E.INVALID_MESSAGE)
    if name == "time_s":
        if isinstance(value, int) and abs(value) > 1e308:
            return out(E.INVALID_MESSAGE)  # no float can hold it
        if value <= 0:
            return out(E.INVALID_MESSAGE)
        return out(E.LIMIT_EXCEEDED) if value > cap else RAN
    if isinstance(value, float):
        if value in (float("inf"), float("-inf")) or not value.is_integer():
            return out(E.INVALID_MESSAGE)
        if abs(value) >= 2**53:
            return out(E.INVALID_MESSAGE, E.LIMIT_EXCEEDED)
    if value <= 0:
        return out(E.INVALID_MESSAGE)
    if value > cap or (name == "memory_mb" and value < MIN_MEMORY_MB):
        return out(E.LIMIT_EXCEEDED)
    return RAN


def limits_mut(limits: dict[str, Any]) -> Mut:
    each = [limit_outcome(k, v) for k, v in limits.items() if k in CAPS]
    if any(o == out(E.INVALID_MESSAGE) for o in each):
        return schema("limits", "limits", limits)  # a schema error comes before the caps
    outcomes = frozenset().union(RAN, *each)
    if any(ACCEPT not in o for o in each):
        outcomes -= RAN
    return content("limits", "limits", limits, outcomes)


limit_value = st.one_of(
    st.none(),
    st.floats(),
    st.integers(-(10**6), 10**6),
    st.integers(),
    st.sampled_from([0, -0.0, 1e-320, 10**400, 15, 16, 256, 257, 1024, 1025, 10, 10.000001]),
    st.sampled_from([2.5, 64.0, 1e30, True, False, "5", "abc", "", "1e3", [], {}, [1]]),
    st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("NaN"), Raw("Infinity"), Raw("-0")]),
)
limits_muts = st.one_of(
    non_str.filter(lambda v: v is not None and not isinstance(v, dict)).map(
        lambda v: schema("limits", "limits", v)
    ),
    st.just(content("limits", "limits", None, RAN)),
    st.fixed_dictionaries(
        {},
        optional={
            "time_s": limit_value,
            "memory_mb": limit_value,
            "output_kb": limit_value,
            "junk": json_any,
        },
    ).map(limits_mut),
)

# unknown fields, and the frame's text


extra_key = st.one_of(
    text.filter(lambda k: k not in EXECUTE_FIELDS),
    st.sampled_from(["__proto__", "constructor", "prototype", "$where", "__class__", "env"]),
)
extra_muts = st.dictionaries(extra_key, st.one_of(json_any, nested_ok), min_size=1, max_size=3).map(
    lambda d: content("extra", "", d, RAN)
)
frame_muts = st.one_of(
    st.sampled_from(["\ufeff", "\u00a0", "\x00", "x", "//"]).map(
        lambda p: Mut("frame", "", ("before", p), out(E.INVALID_JSON), T_JSON)
    ),
    st.sampled_from(["x", "}", "]", ",", "\x00", "{}", "\u00a0", "\ufeff"]).map(
        lambda p: Mut("frame", "", ("after", p), out(E.INVALID_JSON), T_JSON)
    ),
    st.sampled_from([" ", "\n", "\r\n\t ", " " * 1000]).map(
        lambda p: content("frame", "", ("around", p), RAN)
    ),
)

resumable_muts = st.one_of(
    st.sampled_from([True, False]).map(lambda v: content("resumable", "resumable", v, RAN)),
    st.sampled_from(["yes", "true", 1, 0, 1.0, "0"]).map(  # lax coercion to bool
        lambda v: content("resumable", "resumable", v, RAN | out(E.INVALID_MESSAGE))
    ),
    st.sampled_from(["maybe", 2, [], {}, "", 0.5, None]).map(
        lambda v: schema("resumable", "resumable", v)
    ),
)

GROUPS: dict[str, st.SearchStrategy[Mut]] = {
    "type": type_muts,
    "job_id": job_id_muts,
    "job_token": token_muts,
    "file": file_muts,
    "args": args_muts,
    "stdin": stdin_muts,
    "limits": limits_muts,
    "extra": extra_muts,
    "frame": frame_muts,
    "resumable": resumable_muts,
}
GROUP_WEIGHTS = [*GROUPS, *["file"] * 4]


def base_execute() -> dict[str, Any]:
    return {
        "type": "execute",
        "job_id": Tok("id"),
        "job_token": Tok("token"),
        "language": "python",
        "code": "print(1)",
    }


def apply(muts: list[Mut], base: dict[str, Any] | None = None) -> Tmpl:
    message = base_execute() if base is None else base
    before = after = inside = ""
    for m in muts:
        if m.group == "extra":
            message.update(m.value)
        elif m.group == "frame":
            where, pad = m.value
            if where in ("before", "around"):
                before = pad
            if where in ("after", "around"):
                after = pad
        elif m.key == "":
            inside = m.value
        elif m.value is DELETE:
            message.pop(m.key, None)
        else:
            message[m.key] = m.value
    return Tmpl(message, before, after, inside)


# -- cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One connection: the frames we send, what may come back, and what we count."""

    kind: str
    frames: tuple[Frame, ...]
    expect: frozenset[str]
    kill_after: bool = False  # send `kill` after the frames (a request that may be accepted)
    compression: str | None = None
    counted: int = 1  # frames the gateway must read to answer
    note: str = ""

    def __repr__(self) -> str:
        frames = ", ".join(frame_repr(f) for f in self.frames[:4])
        if len(self.frames) > 4:
            frames += f", ... ({len(self.frames)} frames)"
        note = f" [{self.note}]" if self.note else ""
        return f"<{self.kind}{note}: expect {names(self.expect)}; frames {frames}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


@st.composite
def mutated_execute(draw: st.DrawFn) -> Case:
    n = draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))
    groups = draw(st.lists(st.sampled_from(GROUP_WEIGHTS), min_size=n, max_size=n, unique=True))
    muts = [draw(GROUPS[g]) for g in groups]
    compression = draw(st.sampled_from([None, None, None, "deflate"]))
    return Case(
        "execute",
        (apply(muts),),
        combine(muts),
        kill_after=True,
        compression=compression,
        note="; ".join(map(repr, muts)),
    )


JSONISH = [*'{}[]":,.-+eE0123456789 \\/u', "true", "false", "null", '"type"', '"execute"']
random_text_case = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(JSONISH), max_size=60).map("".join),
).map(lambda t: Case("text", (t,), text_outcome(t)))
random_json_case = json_any.map(
    lambda v: Case("json", (Tmpl(v),), shape_outcome(json.loads(render(v, Ctx()))))
)
FIELD_NAMES = (EXECUTE_FIELDS - {"type"}) | {"data", "resume_token", "received"}
typed_json_case = st.builds(
    lambda kind, fields: Case("typed-json", (Tmpl({"type": kind, **fields}),), LOOSE),
    st.sampled_from(sorted(KNOWN_TYPES)),
    st.dictionaries(st.sampled_from(sorted(FIELD_NAMES)), json_any),
)
binary_case = st.binary(max_size=2000).map(
    lambda b: Case("binary", (b,), out(E.UNEXPECTED_MESSAGE))
)
text_bytes_case = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b'{"type":"execute\xff"}', b"\xf4\x90"]
    ),
).map(lambda b: Case("text-bytes", (TextBytes(b),), bytes_outcome(b)))


@st.composite
def burst_case(draw: st.DrawFn) -> Case:
    """Several frames at once before any answer: the first decides, the rest are ignored."""
    first = draw(st.one_of(random_text_case, binary_case, random_json_case))
    rest = draw(st.lists(st.one_of(st.text(max_size=30), st.binary(max_size=30)), max_size=20))
    return Case("burst", (*first.frames, *rest), first.expect, note=f"{1 + len(rest)} frames")


big_frame_case = st.builds(
    lambda size, unit: Case(
        "big-frame", (unit * size,), text_outcome(unit * size), note=f"{size} x {unit!r}"
    ),
    st.sampled_from(
        [FRAME_LIMIT, FRAME_LIMIT + 1, TRANSPORT_LIMIT, TRANSPORT_LIMIT + 1, 3 * FRAME_LIMIT]
    ),
    st.sampled_from(["x", " "]),
)
inflating_case = st.sampled_from([FRAME_LIMIT - 100, FRAME_LIMIT + 1, 3 * FRAME_LIMIT]).map(
    lambda size: Case(
        "deflate",
        (Inflating(size),),
        size_outcome(size) or out(E.INVALID_MESSAGE),
        compression="deflate",
        note=f"{size} bytes inflated",
    )
)


# `resume` instead of `execute`: for a job that does not exist, so a valid one is resume_expired.


def base_resume() -> dict[str, Any]:
    return {"type": "resume", "job_id": Tok("id"), "resume_token": Tok("resume"), "received": 0}


RESUME_TOKENS = [
    "resume_expired",
    "resume_other_job",
    "resume_typ_job",
    "resume_no_typ",
    "resume_no_exp",
    "resume_other_secret",
    "resume_is_job_token",
    # A forged *job* token with typ "resume" and no jti is, to `resume`, a valid resume token
    # (signed by us, for this job id): its answer is resume_expired, not auth.
    *[t for t in FORGED_TOKENS if t != "resume_typ"],
]
resume_type_muts = st.one_of(
    st.just(type_mut(DELETE, out(E.INVALID_MESSAGE))),
    st.sampled_from(["eof", "kill"]).map(lambda t: type_mut(t, out(E.UNEXPECTED_MESSAGE))),
    st.sampled_from(["execute", "input", "Resume", "resume ", "RESUME"]).map(
        lambda t: type_mut(t, out(E.INVALID_MESSAGE))
    ),
    text.filter(lambda s: s not in KNOWN_TYPES).map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
    non_str.map(lambda t: type_mut(t, out(E.INVALID_MESSAGE))),
)
resume_token_muts = st.one_of(
    st.just(schema("resume_token", "resume_token", DELETE)),
    non_str.map(lambda v: schema("resume_token", "resume_token", v)),
    st.sampled_from(RESUME_TOKENS).map(lambda k: auth("resume_token", "resume_token", Tok(k))),
    any_text.map(lambda v: auth("resume_token", "resume_token", v)),
)
received_muts = st.one_of(
    st.sampled_from([0, 7, 10**30, 10**400]).map(lambda v: content("received", "received", v, RAN)),
    st.sampled_from([-1, -(10**30), 1.5, "x", None, [], {}, float("nan"), float("inf")]).map(
        lambda v: schema("received", "received", v)
    ),
    st.sampled_from([True, "5", 2.0, 1e300]).map(  # lax coercion to int
        lambda v: content("received", "received", v, RAN | out(E.INVALID_MESSAGE))
    ),
    st.just(content("received", "received", DELETE, RAN)),  # documented default 0
)
RESUME_GROUPS: dict[str, st.SearchStrategy[Mut]] = {
    "type": resume_type_muts,
    "job_id": job_id_muts,
    "resume_token": resume_token_muts,
    "received": received_muts,
    "extra": extra_muts,
    "frame": frame_muts,
}


def combine_resume(muts: list[Mut]) -> frozenset[str]:
    """Schema, then `job_id` and the token (`auth`), then the job: none exists here."""
    if jsons := [m for m in muts if m.tier == T_JSON]:
        return frozenset().union(*(m.outcomes for m in jsons))
    if types := [m for m in muts if m.group == "type"]:
        return types[0].outcomes
    maybe = out(E.INVALID_MESSAGE) if any(E.INVALID_MESSAGE in m.outcomes for m in muts) else out()
    if any(m.tier == T_SCHEMA for m in muts):
        return out(E.INVALID_MESSAGE)
    if any(m.tier == T_AUTH for m in muts):
        return out(E.AUTH) | maybe
    return out(E.RESUME_EXPIRED) | maybe


@st.composite
def mutated_resume(draw: st.DrawFn) -> Case:
    n = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
    names = st.sampled_from(list(RESUME_GROUPS))
    groups = draw(st.lists(names, min_size=n, max_size=n, unique=True))
    muts = [draw(RESUME_GROUPS[g]) for g in groups]
    return Case(
        "resume",
        (apply(muts, base_resume()),),
        combine_resume(muts),
        note="; ".join(map(repr, muts)) or "valid, for a job that does not exist",
    )


@st.composite
def first_message_case(draw: st.DrawFn) -> Case:
    kind = draw(st.integers(0, 99))
    if kind < 45:
        return draw(mutated_execute())
    if kind < 50:
        return draw(mutated_resume())
    if kind < 60:
        return draw(random_text_case)
    if kind < 70:
        return draw(random_json_case)
    if kind < 78:
        return draw(typed_json_case)
    if kind < 84:
        return draw(binary_case)
    if kind < 90:
        return draw(text_bytes_case)
    if kind < 98:
        return draw(burst_case())
    if kind < 99:
        return draw(big_frame_case)
    return draw(inflating_case)


# -- running a connection --------------------------------------------------------------------------


@dataclass
class Result:
    events: list[dict[str, Any]] = field(default_factory=list)
    close: int | None = None  # the close code received; None: no close frame (1006)
    problem: str = ""  # a hang, a refused handshake, a server frame that is not JSON
    sent: int = 0  # frames that left this side
    seconds: float = 0.0

    def summary(self) -> str:
        shown = [
            {
                k: (v if not isinstance(v, str) or len(v) < 100 else v[:100] + "...")
                for k, v in e.items()
            }
            for e in self.events[:6]
        ]
        more = f" (+{len(self.events) - 6} more)" if len(self.events) > 6 else ""
        problem = f" problem={self.problem!r}" if self.problem else ""
        return f"close={self.close} events={shown}{more}{problem}"


def encode_frame(frame: Frame, ctx: Ctx) -> tuple[str | bytes, bool]:
    """What to send, and whether it goes in a text frame."""
    if isinstance(frame, Tmpl):
        return frame.text(ctx), True
    if isinstance(frame, TextBytes):
        return frame.data, True
    if isinstance(frame, Inflating):
        return '{"pad":"' + " " * (frame.size - 10) + '"}', True
    return frame, isinstance(frame, str)


def frame_size(data: str | bytes) -> int:
    return len(data.encode("utf-8") if isinstance(data, str) else data)


async def connect(url: str, compression: str | None = None) -> Any:
    return await websockets.connect(
        url,
        compression=compression,
        max_size=2**24,
        open_timeout=scaled(10),
        close_timeout=scaled(5),
        ping_interval=None,
        proxy=None,
    )


async def exchange(
    url: str, frames: list[tuple[str | bytes, bool]], after: list[str], timeout: float, **kw: Any
) -> Result:
    """Send `frames` (then `after`, uncounted), read until the server closes."""
    result = Result()
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            ws = await connect(url, **kw)
            try:
                for data, is_text in frames:
                    try:
                        await ws.send(data, text=is_text)
                    except ConnectionClosed:
                        break
                    result.sent += 1
                for data in after:
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(data)
                while True:
                    try:
                        raw = await ws.recv()
                    except ConnectionClosed as closed:
                        result.close = closed.rcvd.code if closed.rcvd else None
                        break
                    try:
                        event = json.loads(raw)
                        assert isinstance(event, dict)
                    except (ValueError, AssertionError):
                        result.problem = f"server frame is not a JSON object: {_short(raw)}"
                        break
                    result.events.append(event)
            finally:
                await ws.close()
    except TimeoutError:
        result.problem = f"no answer and close within {timeout:.0f} s (a hang)"
    except InvalidStatus as exc:
        result.problem = f"handshake refused with HTTP {exc.response.status_code}"
    except (OSError, InvalidHandshake) as exc:
        result.problem = f"cannot connect: {type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result


def judge(expect: frozenset[str], result: Result, terminal_status: str | None = None) -> str:
    """'' when the result is one the case allows, else what is wrong."""
    if result.problem:
        return result.problem
    events = result.events
    unknown = [e for e in events if e.get("type") not in SERVER_TYPES]
    if unknown:
        return f"unknown server message {unknown[0]}"
    errors = [e for e in events if e["type"] == "error"]
    completes = [e for e in events if e["type"] == "complete"]
    if errors:
        error = errors[0]
        code = error.get("code")
        if len(errors) + len(completes) != 1 or events[-1] is not error:
            return "the error is not the one and last terminal message"
        if code not in KNOWN_CODES:
            return f"unknown error code {code!r}"
        if not isinstance(error.get("message"), str) or not error["message"]:
            return "the error has no message"
        if result.close not in REFUSAL_CLOSES:
            return f"error {code} closed with {result.close}, not one of {sorted(REFUSAL_CLOSES)}"
        if code in CLOSE_OF and CLOSE_OF[code] != result.close:
            return f"error {code} must close with {CLOSE_OF[code]}, closed with {result.close}"
        if code in expect:
            return ""
        if code == E.LANGUAGE_UNAVAILABLE and ACCEPT in expect:
            return ""  # accepted, and the worker has no toolchain for it
        return f"expected {names(expect)}, got error {code}"
    if completes:
        final = completes[0]
        if ACCEPT not in expect:
            return f"expected {names(expect)}, but the job was accepted and ran"
        if len(completes) != 1 or events[-1] is not final:
            return "`complete` is not the one and last terminal message"
        if final.get("status") not in {s.value for s in Status}:
            return f"unknown status {final.get('status')!r}"
        if terminal_status and final["status"] != terminal_status:
            return f"status {final['status']}, expected {terminal_status}"
        if result.close != 1000:
            return f"`complete` closed with {result.close}, not 1000"
        return ""
    if events:
        return "the server closed after output without a terminal message"
    bare = f"closed:{result.close}"
    if bare in expect:
        return ""
    return f"expected {names(expect)}, got a close {result.close} without an `error`"


async def run_case(url: str, case: Case) -> tuple[Case, Result, frozenset[str]]:
    ctx = Ctx()
    frames = [encode_frame(f, ctx) for f in case.frames]
    expect = case.expect
    if isinstance(case.frames[0], Tmpl):  # the frame's size decides first
        expect = size_outcome(frame_size(frames[0][0])) or expect
    after = ['{"type":"kill"}'] if case.kill_after else []
    timeout = ACCEPTED_TIMEOUT_S if ACCEPT in expect else REFUSAL_TIMEOUT_S
    result = await exchange(url, frames, after, timeout, compression=case.compression)
    return case, result, expect


# -- checks shared by the tests --------------------------------------------------------------------


def gateway_tail(stack: Stack) -> str:
    return stack.gateway.output()[-LOG_TAIL:]


def check_alive(stack: Stack) -> None:
    code = stack.gateway.proc.poll()
    assert code is None, f"the gateway exited with {code}:\n{gateway_tail(stack)}"
    try:
        health = httpx.get(stack.base_url + "/health", timeout=HTTP_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError as exc:
        raise AssertionError(f"/health failed: {exc!r}\n{gateway_tail(stack)}") from exc
    assert health.status_code == 200, f"/health answered {health.status_code}"


def report(failures: list[str]) -> None:
    if failures:
        shown = "\n\n".join(failures[:6])
        more = f"\n\n... and {len(failures) - 6} more" if len(failures) > 6 else ""
        raise AssertionError(f"{len(failures)} failing case(s):\n\n{shown}{more}")


def failure(case: Any, expect: frozenset[str], result: Result, why: str) -> str:
    return (
        f"input:    {case!r}\nexpected: {names(expect)}\nactual:   {result.summary()}\n"
        f"problem:  {why}"
    )


# -- 1. first messages -----------------------------------------------------------------------------

LATENCY: list[float] = []


@settings(FUZZ, max_examples=FIRST_MESSAGE_EXAMPLES)
@seed(SEED)
@given(batch=st.lists(first_message_case(), min_size=BATCH, max_size=BATCH))
async def test_first_messages(fuzz_stack: Stack, batch: list[Case]) -> None:
    """Every refusal of a first message is an `error` with the code it deserves and its close
    code; a request that may be valid is accepted and killed."""
    results = await asyncio.gather(*(run_case(fuzz_stack.ws_url, c) for c in batch))
    failures = []
    for case, result, expect in results:
        TALLY["first_messages"] += min(case.counted, result.sent)
        TALLY["first_message_frames_sent"] += result.sent
        TALLY["connections"] += 1
        TALLY["accepted"] += any(e["type"] == "complete" for e in result.events)
        TALLY["one_answer_allowed"] += len(expect) == 1
        LATENCY.append(result.seconds)
        why = judge(expect, result)
        if why:
            failures.append(failure(case, expect, result, why))
    check_alive(fuzz_stack)
    report(failures)


# Found by the property above, pinned in their smallest form.
PINNED = [
    # A lone surrogate in a token: PyJWT encodes the token to UTF-8 and raises
    # UnicodeEncodeError, which no handler maps to `auth`.
    pytest.param(base_execute, {"job_token": "\ud800"}, E.AUTH, id="lone-surrogate-job_token"),
    pytest.param(base_resume, {"resume_token": "\ud800"}, E.AUTH, id="lone-surrogate-resume_token"),
]


@pytest.mark.parametrize(("base", "fields", "code"), PINNED)
async def test_pinned_cases(
    fuzz_stack: Stack, base: Any, fields: dict[str, Any], code: ErrorCode
) -> None:
    case = Case("pinned", (Tmpl({**base(), **fields}),), out(code), kill_after=True)
    _, result, expect = await run_case(fuzz_stack.ws_url, case)
    why = judge(expect, result)
    assert not why, failure(case, expect, result, why)


# -- 2. many messages on one connection, after an accepted `execute` -------------------------------

READER = "import sys\nsys.stdin.buffer.read()\n"  # waits for `eof`, prints nothing


@dataclass(frozen=True)
class Ending:
    name: str
    frames: tuple[Frame, ...]
    expect: frozenset[str]
    status: str | None = None  # for `complete`


def _input(data: Any) -> Tmpl:
    return Tmpl({"type": "input", "data": data})


ENDINGS = [
    Ending("kill", ('{"type":"kill"}',), RAN, "killed"),
    Ending("eof", ('{"type":"eof"}',), RAN, "ok"),
    Ending("input-int", ('{"type":"input","data":5}',), out(E.INVALID_MESSAGE)),
    Ending("input-null", ('{"type":"input","data":null}',), out(E.INVALID_MESSAGE)),
    Ending("input-nodata", ('{"type":"input"}',), out(E.INVALID_MESSAGE)),
    Ending("input-list", ('{"type":"input","data":["a"]}',), out(E.INVALID_MESSAGE)),
    Ending("input-lone", ('{"type":"input","data":"a\\ud800"}',), out(E.INVALID_REQUEST)),
    Ending("execute-again", (Tmpl(base_execute()),), out(E.UNEXPECTED_MESSAGE)),
    Ending("binary", (b'{"type":"input","data":"x"}',), out(E.UNEXPECTED_MESSAGE)),
    Ending("not-json", ("input please",), out(E.INVALID_JSON)),
    Ending("array", ('[{"type":"input","data":"x"}]',), out(E.INVALID_MESSAGE)),
    Ending("unknown-type", ('{"type":"stdin","data":"x"}',), out(E.INVALID_MESSAGE)),
    Ending("kill-typo", ('{"type":"KILL"}',), out(E.INVALID_MESSAGE)),
    Ending("too-big", (_input(Big("z", FRAME_LIMIT)),), out(E.MESSAGE_TOO_LARGE)),
    Ending(
        "input-over-total",
        tuple(_input(Big("z", 1000 * KB)) for _ in range(INPUT_LIMIT // (1000 * KB) + 1)),
        out(E.INPUT_TOO_LARGE),
    ),
    Ending("transport-limit", (_input(Big("z", TRANSPORT_LIMIT)),), out(BARE_1009)),
    Ending("not-utf8", (TextBytes(b'{"type":"input","data":"\xff"}'),), out(BARE_1007)),
]
ENDING_WEIGHTS = [
    e for e in ENDINGS for _ in range(1 if e.name.startswith(("input-o", "t")) else 3)
]


@dataclass(frozen=True)
class ReuseCase:
    pool: tuple[Any, ...]  # input data, used in turn
    count: int
    shapes: tuple[int, ...]  # how each input message is written, in turn
    ending: Ending

    def frames(self) -> list[Frame]:
        frames: list[Frame] = []
        for i in range(self.count):
            data = self.pool[i % len(self.pool)]
            shape = self.shapes[i % len(self.shapes)]
            if shape == 0:
                frames.append(_input(data))
            elif shape == 1:
                frames.append(Tmpl({"data": data, "type": "input"}))
            else:
                frames.append(Tmpl({"type": "input", "data": data, "x": [None, {"y": 1.5}]}))
        return [*frames, *self.ending.frames]

    def __repr__(self) -> str:
        pool = ", ".join(_short(value_of(p), 40) for p in self.pool)
        return f"<reuse: {self.count} inputs from [{pool}], then {self.ending.name}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


input_data = st.one_of(
    text,
    st.sampled_from(["", "\n", "\x00", "\r\n", "\U0001f4a5\n", "\ufeff", "\\u0000", "a" * 5000]),
)
reuse_case = st.builds(
    ReuseCase,
    st.lists(input_data, min_size=1, max_size=6).map(tuple),
    st.integers(20, 120),
    st.lists(st.integers(0, 2), min_size=1, max_size=3).map(tuple),
    st.sampled_from(ENDING_WEIGHTS),
)


async def run_reuse(url: str, case: ReuseCase) -> tuple[ReuseCase, Result]:
    ctx = Ctx()
    execute = Tmpl({**base_execute(), "code": READER})
    frames = [encode_frame(f, ctx) for f in (execute, *case.frames())]
    result = await exchange(url, frames, [], ACCEPTED_TIMEOUT_S)
    return case, result


@settings(FUZZ, max_examples=REUSE_EXAMPLES)
@seed(SEED)
@given(batch=st.lists(reuse_case, min_size=REUSE_BATCH, max_size=REUSE_BATCH))
async def test_many_messages_after_execute(fuzz_stack: Stack, batch: list[ReuseCase]) -> None:
    """After an accepted `execute`, `input` messages of any text are taken one after another on
    the same connection; the first invalid message ends it with its `error` (and no `complete`),
    `kill` and `eof` with one `complete`."""
    results = await asyncio.gather(*(run_reuse(fuzz_stack.ws_url, c) for c in batch))
    failures = []
    for case, result in results:
        TALLY["reuse"] += result.sent
        TALLY["reuse_connections"] += 1
        why = judge(case.ending.expect, result, case.ending.status)
        # Only a frame the WebSocket layer refuses may stop the sending early.
        early = not case.ending.expect.isdisjoint({BARE_1007, BARE_1009, E.INPUT_TOO_LARGE})
        if not why and not early and result.sent != case.count + 1 + len(case.ending.frames):
            why = f"only {result.sent} frames could be sent"
        if why:
            failures.append(failure(case, case.ending.expect, result, why))
    check_alive(fuzz_stack)
    report(failures)


# -- 3. HTTP ---------------------------------------------------------------------------------------

HTTP_ROUTES = {
    "/api/jobs/create": {"POST"},
    "/health": {"GET", "HEAD"},
    "/ready": {"GET", "HEAD"},
    "/metrics": {"GET", "HEAD"},
    "/api/execute": {"POST"},
    "/api/runtimes": {"GET"},
    "/openapi.json": {"GET", "HEAD"},
    "/docs": {"GET"},
}
OPEN_ROUTES = {"/health", "/ready", "/metrics", "/openapi.json", "/docs"}  # no API key needed
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]
SEGMENTS = [
    "api",
    "jobs",
    "create",
    "health",
    "ws",
    "execute",
    "..",
    ".",
    "",
    "%2e%2e",
    "%2F",
    "%00",
    "%ff",
    "%",
    "API",
    "Health",
    "create%0a",
    "health%0A",
    "create%20",
    "~",
    "a" * 300,
    ";x=1",
]


def route_of(path: str) -> str | None:
    """Starlette's match: `^route$` with re.match, so a trailing newline still matches."""
    for route in HTTP_ROUTES:
        if re.match("^" + re.escape(route) + "$", path):
            return route
    return None


def key_ok(value: str | None) -> bool:
    return value is not None and value.strip(" \t") == API_KEY


def expected_status(method: str, raw_path: str, key: str | None) -> set[int]:
    path = unquote(raw_path.split("?", 1)[0])
    route = route_of(path)
    if route is None:
        if path != "/":
            toggled = path[:-1] if path.endswith("/") else path + "/"
            if route_of(toggled):
                return {307}  # Starlette's redirect_slashes
        # Encoded slashes (%2F) can also make Starlette redirect: a 307 is no failure either.
        return {404, 307} if "%2f" in raw_path.lower() else {404}
    if method not in HTTP_ROUTES[route]:
        return {405}
    if route in OPEN_ROUTES:
        return {200}
    if not key_ok(key):
        return {401}
    if route == "/api/execute":  # a random body: refused in one of the request's own ways
        return {200, 400, 413, 422, 429}
    return {200, 429}


@dataclass(frozen=True)
class HttpCase:
    method: str
    path: str
    key: str | None
    headers: tuple[tuple[str, bytes], ...]
    body: bytes | None

    def __repr__(self) -> str:
        key = None if self.key is None else _short(self.key, 60)
        body = None if self.body is None else _short(self.body, 60)
        headers = _short(self.headers, 200)
        return f"<{self.method} {_short(self.path, 120)} key={key} headers={headers} body={body}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


path_strategy = st.one_of(
    st.sampled_from(["/api/jobs/create", "/health", "/ws/execute", "/", "/api/jobs/create/"]),
    st.sampled_from(["/health/", "/HEALTH", "/api/jobs/create?x=1", "/health?" + "q" * 5000]),
    st.sampled_from(["/api/jobs/../jobs/create", "/api%2Fjobs%2Fcreate", "/health%0a"]),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6).map(lambda s: "/" + "/".join(s)),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
        lambda t: "/" + t.replace("#", "%23")
    ),
)
key_strategy = st.one_of(
    st.none(),
    st.just(API_KEY),
    st.just(API_KEY),
    st.sampled_from(["", "wrong", API_KEY[:-1], API_KEY + "x", API_KEY.upper(), API_KEY + " x"]),
    # h11 refuses surrounding whitespace and DEL in a value; the raw test sends such headers.
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=60,
    ).map(lambda k: k.strip(" \t")),
    st.just("k" * 20_000),
)
header_name = st.one_of(
    st.sampled_from(
        ["Content-Type", "Accept", "X-Forwarded-For", "Origin", "Cookie", "X-Api-Key2", "Range"]
    ),
    st.text(st.sampled_from("abcXYZ-_!#$%&'*+.^`|~019"), min_size=1, max_size=20),
).filter(lambda n: n.lower() not in {"x-api-key", "content-length", "transfer-encoding", "host"})
header_value = st.binary(max_size=200).map(
    lambda b: bytes(c for c in b if (c >= 0x20 and c != 0x7F) or c == 0x09).strip(b" \t")
)
http_case = st.builds(
    HttpCase,
    st.sampled_from(METHODS),
    path_strategy,
    key_strategy,
    st.lists(st.tuples(header_name, header_value), max_size=5).map(tuple),
    st.one_of(
        st.none(),
        st.binary(max_size=500),
        json_any.map(lambda v: render(v, Ctx()).encode("utf-8", "surrogatepass")),
        st.just(b"{" * 100_000),
        st.just(b"x" * 1_000_000),
    ),
)


async def run_http(http: httpx.AsyncClient, base: str, case: HttpCase) -> str:
    headers = list(case.headers)
    if case.key is not None:
        headers.append(("X-API-Key", case.key.encode("latin-1")))
    url = httpx.URL(base).copy_with(raw_path=case.path.encode("ascii"))
    try:
        reply = await http.request(case.method, url, headers=headers, content=case.body)
    except httpx.HTTPError as exc:
        return f"{case!r}: no response: {type(exc).__name__}: {exc}"
    sent_path = reply.request.url.raw_path.decode("ascii")
    expect = expected_status(case.method, sent_path, case.key)
    status = reply.status_code
    if status >= 500 or status not in expect:
        return f"{case!r} (sent as {_short(sent_path)}): expected {sorted(expect)}, got {status}"
    if status == 401 and (reply.json()["error"]["code"] != "auth" or API_KEY in reply.text):
        return f"{case!r}: a 401 must say `auth` and never echo the key: {reply.text[:200]}"
    if status == 429 and reply.json()["error"]["code"] not in {"rate_limited", "too_many_running"}:
        return f"{case!r}: a 429 with {reply.text[:200]}"
    return ""


@settings(FUZZ, max_examples=HTTP_EXAMPLES)
@seed(SEED)
@given(batch=st.lists(http_case, min_size=BATCH, max_size=BATCH))
async def test_http(fuzz_stack: Stack, batch: list[HttpCase]) -> None:
    """Random methods, paths, headers and bodies: 200, 307, 401, 404, 405 (429 once the rate
    limit of the API key is reached, where there is one), never 5xx."""
    limits = httpx.Limits(max_connections=BATCH)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False, limits=limits) as http:
        failures = await asyncio.gather(*(run_http(http, fuzz_stack.base_url, c) for c in batch))
    TALLY["http"] += len(batch)
    check_alive(fuzz_stack)
    report([f for f in failures if f])


# -- 4. raw bytes on the HTTP socket ---------------------------------------------------------------

STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})")


@st.composite
def raw_request(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=3000))
    method = draw(st.sampled_from([b"GET", b"POST", b"FOO", b"G\x00T", b"", b"CONNECT", b"PRI"]))
    target = draw(
        st.sampled_from(
            [b"/health", b"/api/jobs/create", b"/ws/execute", b"*", b"http://x/", b"/\xff", b""]
        )
    )
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9", b"", b"X"]))
    headers = draw(
        st.lists(
            st.sampled_from(
                [
                    b"Host: 127.0.0.1",
                    b"Content-Length: 5",
                    b"Content-Length: -1",
                    b"Content-Length: abc",
                    b"Content-Length: 99999999999999999999",
                    b"Transfer-Encoding: chunked",
                    b"Transfer-Encoding: gzip, chunked",
                    b"Connection: Upgrade",
                    b"Upgrade: websocket",
                    b"Sec-WebSocket-Version: 13",
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    b"Sec-WebSocket-Key: !!!",
                    b"Sec-WebSocket-Version: 99",
                    b"X-API-Key: " + API_KEY.encode(),
                    b"X-API-Key: \x00",
                    b"no colon",
                    b": empty name",
                    b"X-Long: " + b"a" * 70_000,
                    b"X-Fold: a\r\n folded",
                    b"Expect: 100-continue",
                ]
            ),
            max_size=8,
        )
    )
    body = draw(st.sampled_from([b"", b"hello", b"0\r\n\r\n", b"zz\r\n", b"5\r\nab"]))
    request = method + b" " + target + b" " + version + b"\r\n" + b"\r\n".join(headers)
    request += b"\r\n\r\n" + body
    return request * draw(st.sampled_from([1, 1, 1, 2, 5]))  # pipelined requests too


async def run_raw(port: int, data: bytes) -> str:
    try:
        async with asyncio.timeout(HTTP_TIMEOUT_S):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(data)
                await writer.drain()
                writer.write_eof()
                answer = await reader.read(-1)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except TimeoutError:
        return f"{_short(data, 200)}: no end of the answer within {HTTP_TIMEOUT_S:.0f} s"
    except OSError:
        return ""  # the server reset the connection: refused, not an error of ours
    statuses = [int(m.group(1)) for m in STATUS_LINE.finditer(answer)]
    if any(s >= 500 for s in statuses):
        return f"{_short(data, 200)}: answered {statuses}: {_short(answer, 300)}"
    return ""


@settings(FUZZ, max_examples=RAW_EXAMPLES)
@seed(SEED)
@given(batch=st.lists(raw_request(), min_size=BATCH, max_size=BATCH))
async def test_raw_http(fuzz_stack: Stack, batch: list[bytes]) -> None:
    """Malformed HTTP/1.1 and WebSocket handshakes on the socket: a 4xx or a close, never 5xx,
    never a hang."""
    port = int(fuzz_stack.base_url.rsplit(":", 1)[1])
    failures = await asyncio.gather(*(run_raw(port, data) for data in batch))
    TALLY["raw_http"] += len(batch)
    check_alive(fuzz_stack)
    report([f for f in failures if f])


# -- 5. slow and silent clients --------------------------------------------------------------------


async def stalled_fragment(url: str) -> Result:
    """The first fragment of a message, then nothing: the execute deadline still holds."""
    result = Result()
    async with asyncio.timeout(REFUSAL_TIMEOUT_S):
        ws = await connect(url)
        never = asyncio.Event()

        async def fragments() -> Any:
            yield '{"type":"exec'
            await never.wait()

        sender = asyncio.create_task(ws.send(fragments()))
        result.sent = 1
        try:
            while True:
                result.events.append(json.loads(await ws.recv()))
        except ConnectionClosed as closed:
            result.close = closed.rcvd.code if closed.rcvd else None
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            await ws.close()
    return result


async def test_slow_and_silent_clients(fuzz_stack: Stack) -> None:
    """Silent connections, and one that stops in the middle of a fragmented message, get
    `execute_timeout` and 1008 after EXECUTE_WAIT_S, all at once."""
    url = fuzz_stack.ws_url
    started = time.monotonic()
    silent = [exchange(url, [], [], REFUSAL_TIMEOUT_S) for _ in range(40)]
    stalled = [stalled_fragment(url) for _ in range(10)]
    results = await asyncio.gather(*silent, *stalled)
    elapsed = time.monotonic() - started
    failures = [
        failure("silent or stalled client", out(E.EXECUTE_TIMEOUT), r, why)
        for r in results
        if (why := judge(out(E.EXECUTE_TIMEOUT), r))
    ]
    TALLY["slow_clients"] += len(stalled)
    check_alive(fuzz_stack)
    report(failures)
    assert elapsed < LIMITS["EXECUTE_WAIT_S"] + scaled(4), f"took {elapsed:.1f} s"


# -- 6. afterwards ---------------------------------------------------------------------------------


async def test_gateway_still_serves(fuzz_stack: Stack) -> None:
    """At the end: the count, no traceback in the gateway's log, and a normal job end to end."""
    check_alive(fuzz_stack)
    async with httpx.AsyncClient(base_url=fuzz_stack.base_url, trust_env=False) as http:
        reply = await http.post("/api/jobs/create", headers={"X-API-Key": API_KEY})
    assert reply.status_code == 200, reply.text
    job = reply.json()
    message = {**job, "type": "execute", "language": "python", "code": 'print("alive")'}
    message.pop("expires_at")
    result = await exchange(fuzz_stack.ws_url, [(json.dumps(message), True)], [], 60)
    stdout = "".join(e["data"] for e in result.events if e["type"] == "output")
    assert not judge(RAN, result, "ok"), result.summary()
    assert stdout == "alive\n", result.summary()

    log = fuzz_stack.gateway.output()
    unexplained = [
        i
        for i in (m.start() for m in re.finditer("Traceback", log))
        if UVICORN_UTF8 not in log[max(0, i - 300) : i]
    ]
    line_start = log.rfind("\n", 0, unexplained[0]) + 1 if unexplained else 0
    assert not unexplained, f"a traceback in the gateway's log:\n{log[line_start:][:LOG_TAIL]}"

    missing = [p for p in PHASES if p not in TALLY]
    assert not missing, f"run the whole module: {missing} did not run, so the count is partial"
    counted = sum(TALLY[p] for p in PHASES)
    times = sorted(LATENCY)
    print(
        f"\nfuzz: {counted} messages counted ({', '.join(f'{p} {TALLY[p]}' for p in PHASES)}); "
        f"{TALLY['connections']} first-message connections ({TALLY['first_message_frames_sent']} "
        f"frames sent, {TALLY['accepted']} accepted and killed, "
        f"{TALLY['one_answer_allowed']} with exactly one allowed answer), answer time p50 "
        f"{times[len(times) // 2]:.3f} s, max {times[-1]:.3f} s; "
        f"{TALLY['reuse_connections']} reuse connections"
    )
    assert counted >= MIN_MESSAGES, f"only {counted} messages were counted"
