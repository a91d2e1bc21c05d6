"""How judge mode decides whether a program's output matches a test case's expected output (pure).

A compare string names the rule; `parse_compare` turns it into a `Comparison`, `matches` applies it:

    exact       the two strings are identical
    lines       (default) line by line; CRLF and lone CR count as LF, trailing whitespace of each
                line and trailing empty lines are ignored; leading and inner whitespace count
    tokens      whitespace-separated tokens (str.split()) are equal, in order
    float:EPS   as tokens, but two numbers are equal within EPS, absolute or relative

`str(comparison)` is the canonical spelling, and `parse_compare(str(c)) == c`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from lib.codes import ErrorCode
from lib.errors import InvalidRequest

Mode = Literal["exact", "lines", "tokens", "float"]

DEFAULT_COMPARE = "lines"

# Longer than any valid spelling ("float:" + a float's repr is at most 30 characters); refusing
# early keeps the error message short and stops us parsing arbitrary client text.
MAX_COMPARE_LEN = 40

_CHOICES = "exact, lines, tokens, float:EPS (EPS a finite number >= 0, e.g. float:1e-6)"

# float() alone is too lenient: it takes "1_000", surrounding whitespace and non-ASCII digits
# ("١٢"). A judge should see only what a program would plausibly print as a number.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)

# Trailing whitespace a line may carry without changing its meaning (\r is already gone).
_TRAILING_WS = " \t\r\f\v"


@dataclass(frozen=True)
class Comparison:
    mode: Mode
    eps: float = 0.0

    def __post_init__(self) -> None:
        # A Comparison built in code must hold the same invariants as a parsed one, or
        # `str(c)` would not parse back; these are programming errors, hence ValueError.
        if self.mode not in ("exact", "lines", "tokens", "float"):
            raise ValueError(f"unknown compare mode {self.mode!r}")
        if not (math.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps must be finite and >= 0, not {self.eps!r}")
        if self.mode != "float" and self.eps != 0:
            raise ValueError(f"eps is only meaningful for float, not {self.mode}")
        # -0.0 is a valid eps but would print as "float:-0.0"; keep one spelling.
        object.__setattr__(self, "eps", self.eps + 0.0)

    def __str__(self) -> str:
        if self.mode == "float":
            return f"float:{self.eps!r}"
        return self.mode


# The modes that take no parameter, by their spelling.
_SIMPLE: dict[str, Comparison] = {
    "exact": Comparison("exact"),
    "lines": Comparison("lines"),
    "tokens": Comparison("tokens"),
}


def _invalid(text: str) -> InvalidRequest:
    # Echo short inputs only, repr'd so control characters cannot garble the message.
    shown = f" {text!r}" if len(text) <= MAX_COMPARE_LEN else " (too long)"
    return InvalidRequest(
        f"invalid compare{shown}: expected one of {_CHOICES}", code=ErrorCode.INVALID_REQUEST
    )


def parse_compare(text: str | None) -> Comparison:
    """The Comparison a request's compare string names; None or "" mean the default."""
    if text is None or text == "":
        text = DEFAULT_COMPARE
    if not isinstance(text, str):  # the value may come straight from client JSON
        raise InvalidRequest(
            f"invalid compare: expected a string, one of {_CHOICES}",
            code=ErrorCode.INVALID_REQUEST,
        )
    if len(text) > MAX_COMPARE_LEN:
        raise _invalid(text)
    if text in _SIMPLE:
        return _SIMPLE[text]
    if text.startswith("float:"):
        eps = _parse_number(text.removeprefix("float:"))
        if eps is not None and math.isfinite(eps) and eps >= 0:
            return Comparison("float", eps)
    raise _invalid(text)


def _parse_number(token: str) -> float | None:
    """The token's value if it is a plain decimal, scientific, inf or nan number, else None."""
    if _NUMBER.fullmatch(token) is None:
        return None
    return float(token)


def matches(comparison: Comparison, expected: str, actual: str) -> bool:
    """Whether `actual` is an acceptable output for a test expecting `expected`."""
    mode = comparison.mode
    if mode == "exact":
        return expected == actual
    if mode == "lines":
        return _lines(expected) == _lines(actual)
    if mode == "tokens":
        return expected.split() == actual.split()
    return _floats_match(comparison.eps, expected.split(), actual.split())


def _lines(text: str) -> list[str]:
    """The lines that matter: LF-normalised, right-stripped, without trailing empty lines."""
    # Not str.splitlines(): it also splits on \f, \v, \x1c-\x1e, \x85, \u2028, \u2029, which a
    # program may print inside a line and which must stay significant there.
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip(_TRAILING_WS) for line in normalised.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _floats_match(eps: float, expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    return all(_tokens_match(eps, e, a) for e, a in zip(expected, actual, strict=True))


def _tokens_match(eps: float, expected: str, actual: str) -> bool:
    if expected == actual:  # the common case, and covers "nan" == "nan" cheaply
        return True
    a = _parse_number(expected)
    b = _parse_number(actual)
    if a is None or b is None:
        return False  # not both numbers: compared exactly, and they differ
    return _numbers_close(eps, a, b)


def _numbers_close(eps: float, a: float, b: float) -> bool:
    # Non-finite values first: inf - inf is nan and eps * inf is inf, which would make the
    # arithmetic below call inf close to anything.
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    diff = abs(a - b)
    tolerance = eps * max(abs(a), abs(b))
    if math.isinf(diff) or math.isinf(tolerance):
        # Near the top of the float range the subtraction or product overflowed, and
        # inf <= inf would say yes wrongly; redo it exactly (rare, so the cost does not matter).
        exact_diff = abs(Fraction(a) - Fraction(b))
        return exact_diff <= Fraction(eps) or exact_diff <= Fraction(eps) * max(
            abs(Fraction(a)), abs(Fraction(b))
        )
    return diff <= eps or diff <= tolerance
