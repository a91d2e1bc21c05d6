"""Compiler options a request may add to its compile stage: an allow-list per language, never a
string passed through (Judge0's `compiler_options` goes into a shell command upstream). Pure.

Each option is matched whole against the patterns of its language; they cover optimization,
warnings, debug information, the language standard and preprocessor defines, nothing that names
a file, a plugin, a spec or a linker script (`-o`, `-B`, `-specs=`, `-fplugin=`, `-Wl,`, `@file`).
"""

from __future__ import annotations

import re

from lib.codes import ErrorCode
from lib.errors import InvalidRequest
from lib.languages import Language

MAX_OPTIONS = 16
_GCC = (
    r"-O[0123sgz]?",
    r"-g[0-3]?",
    r"-W(all|extra|pedantic|error|shadow|conversion|no-unused-result|no-sign-compare)",
    r"-w",
    r"-pedantic(-errors)?",
    r"-D[A-Za-z_][A-Za-z0-9_]{0,63}(=[A-Za-z0-9_.]{0,64})?",
    r"-U[A-Za-z_][A-Za-z0-9_]{0,63}",
    r"-l(m|pthread)",
    r"-pthread",
    r"-march=native",
    r"-f(no-)?(wrapv|strict-aliasing|exceptions|rtti|omit-frame-pointer)",
)
ALLOWED: dict[str, tuple[str, ...]] = {
    "c": (*_GCC, r"-std=(c|gnu)(89|90|99|11|17|18|2x|23)"),
    "cpp": (*_GCC, r"-std=(c|gnu)\+\+(98|03|11|14|17|20|2a|23|2b)"),
    # rustc already has -O (opt-level=3): a second optimisation option is an error there.
    "rust": (r"-g", r"-C(debuginfo=[0-2]|overflow-checks=(on|off))"),
}


def check_compiler_options(lang: Language, options: list[str]) -> list[str]:
    """The options, if every one is allowed for this language; else InvalidRequest."""
    if not options:
        return []
    patterns = ALLOWED.get(lang.name)
    if patterns is None or not lang.compiled:
        raise InvalidRequest(
            f"compiler options are only for compiled languages, not {lang.name}",
            code=ErrorCode.INVALID_REQUEST,
        )
    if len(options) > MAX_OPTIONS:
        raise InvalidRequest(f"at most {MAX_OPTIONS} compiler options")
    for option in options:
        if not any(re.fullmatch(p, option) for p in patterns):
            raise InvalidRequest(
                f"compiler option {option[:40]!r} is not allowed (see docs/protocol.md)",
                code=ErrorCode.INVALID_REQUEST,
            )
    return list(options)
