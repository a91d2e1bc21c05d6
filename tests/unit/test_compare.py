"""lib.compare: parsing compare strings and matching outputs in every mode (pure)."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lib.compare import DEFAULT_COMPARE, Comparison, matches, parse_compare
from lib.errors import InvalidRequest
from lib.protocol import ErrorCode

EXACT = Comparison("exact")
LINES = Comparison("lines")
TOKENS = Comparison("tokens")


def floats(eps: float) -> Comparison:
    return Comparison("float", eps)


# --- parse_compare ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, LINES),
        ("", LINES),
        ("exact", EXACT),
        ("lines", LINES),
        ("tokens", TOKENS),
        ("float:1e-6", floats(1e-6)),
        ("float:0.001", floats(0.001)),
        ("float:0", floats(0.0)),
        ("float:-0", floats(0.0)),
        ("float:+1E-3", floats(0.001)),
        ("float:.5", floats(0.5)),
        ("float:2.", floats(2.0)),
        ("float:1e+16", floats(1e16)),
    ],
)
def test_parse_valid(text: str | None, expected: Comparison) -> None:
    assert parse_compare(text) == expected


def test_default_is_lines() -> None:
    assert DEFAULT_COMPARE == "lines"
    assert parse_compare(DEFAULT_COMPARE) == LINES


@pytest.mark.parametrize(
    "text",
    [
        "float",
        "float:",
        "float:-1",
        "float:-1e-9",
        "float:nan",
        "float:NaN",
        "float:inf",
        "float:-inf",
        "float:infinity",
        "float:1e400",  # overflows to inf
        "float:abc",
        "float:1_000",
        "float: 1e-6",
        "float:1e-6 ",
        "float:0x1p-3",
        "float:\u0661",  # ARABIC-INDIC DIGIT ONE: float() would take it
        "float:1e-6:2",
        "float=1e-6",
        "regex",
        "Exact",
        "LINES",
        " lines",
        "lines\n",
        "token",
        "x" * 41,
        "float:" + "0" * 35,  # 41 characters: a valid number, but too long to consider
    ],
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_compare(text)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    for choice in ("exact", "lines", "tokens", "float:EPS"):
        assert choice in info.value.message


def test_parse_long_string_is_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_compare("y" * 10_000)
    assert "y" * 41 not in info.value.message
    assert len(info.value.message) < 200


def test_parse_short_invalid_string_is_named() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_compare("regex")
    assert "'regex'" in info.value.message


def test_parse_at_length_limit() -> None:
    text = "float:0." + "0" * 31 + "1"  # exactly 40 characters
    assert len(text) == 40
    assert parse_compare(text) == floats(1e-32)


def test_parse_non_string_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        parse_compare(1e-6)  # type: ignore[arg-type]


# --- Comparison -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparison", "spelling"),
    [
        (EXACT, "exact"),
        (LINES, "lines"),
        (TOKENS, "tokens"),
        (floats(1e-6), "float:1e-06"),
        (floats(0.001), "float:0.001"),
        (floats(0.0), "float:0.0"),
        (floats(-0.0), "float:0.0"),
    ],
)
def test_str_is_canonical(comparison: Comparison, spelling: str) -> None:
    assert str(comparison) == spelling
    assert parse_compare(spelling) == comparison


@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_str_round_trips(eps: float) -> None:
    comparison = floats(eps)
    assert parse_compare(str(comparison)) == comparison


@pytest.mark.parametrize(
    ("mode", "eps"),
    [("regex", 0.0), ("float", -1.0), ("float", math.nan), ("float", math.inf), ("lines", 0.1)],
)
def test_comparison_rejects_bad_fields(mode: str, eps: float) -> None:
    with pytest.raises(ValueError):
        Comparison(mode, eps)  # type: ignore[arg-type]


def test_comparison_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        LINES.mode = "exact"  # type: ignore[misc]
    assert {LINES, Comparison("lines")} == {LINES}


# --- exact ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ("a\n", "a\n", True),
        ("", "", True),
        ("a\n", "a", False),
        ("a\n", "a\r\n", False),
        ("a", "a ", False),
        ("", "\n", False),
        ("", " ", False),
        ("a b", "a  b", False),
    ],
)
def test_exact(expected: str, actual: str, result: bool) -> None:
    assert matches(EXACT, expected, actual) is result


# --- lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("a\nb\n", "a\nb\n"),
        ("a\n", "a"),
        ("a\n", "a\n\n\n"),
        ("a", "a\n\n\n"),
        ("a\nb\n", "a\r\nb\r\n"),  # CRLF
        ("a\nb\n", "a\rb\r"),  # lone CR
        ("a\nb\nc", "a\r\nb\rc"),  # mixed endings
        ("a\nb", "a   \nb\t\t\n"),  # trailing spaces and tabs
        ("a\nb", "a \f\v\r\nb"),  # other trailing whitespace
        ("a  \n", "a\n"),  # trailing whitespace in expected too
        ("a\n\n", "a\n \n\t\n"),  # trailing lines of only whitespace are empty
        ("", ""),
        ("", "\n\n"),
        ("", "  \n\t\r\n"),
        ("\n", ""),
        ("a\n\nb\n", "a\n\nb"),  # an inner empty line is kept, and kept in both
    ],
)
def test_lines_match(expected: str, actual: str) -> None:
    assert matches(LINES, expected, actual)
    assert matches(LINES, actual, expected)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("a\n", "b\n"),
        ("a\n", " a\n"),  # leading whitespace is significant
        ("a b\n", "a  b\n"),  # inner whitespace is significant
        ("a b\n", "a\tb\n"),
        ("a\n", "\na\n"),  # a leading empty line is significant
        ("a\nb\n", "a\n\nb\n"),  # an inner empty line is significant
        ("a\nb\n", "a b\n"),
        ("a\nb\n", "ab\n"),
        ("", "x"),
        ("", " \n x"),
        ("a\n", "a\n\nb"),  # extra content after blank lines
        ("a\n", "a\xa0\n"),  # no-break space is not trailing whitespace
        ("a\fb\n", "a\nb\n"),  # \f inside a line does not split it
        ("a\u2028b\n", "a\nb\n"),  # nor does a Unicode line separator
        ("a\x85b\n", "a\nb\n"),
    ],
)
def test_lines_differ(expected: str, actual: str) -> None:
    assert not matches(LINES, expected, actual)
    assert not matches(LINES, actual, expected)


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ("1 2 3\n", "1 2 3", True),
        ("1 2 3\n", "1\n2\t3", True),
        ("1 2 3", "  1 \r\n\t 2\f\v3 \n\n", True),
        ("1 2\n3", "1\n2 3", True),
        ("", "", True),
        ("", "  \n\t\r\n", True),
        ("\n\n", "", True),
        ("1 2 3", "1 2", False),
        ("1 2", "1 2 3", False),
        ("1 2 3", "3 2 1", False),
        ("1", "1.0", False),  # tokens are strings, not numbers
        ("ab", "a b", False),
        ("", "x", False),
    ],
)
def test_tokens(expected: str, actual: str, result: bool) -> None:
    assert matches(TOKENS, expected, actual) is result


# --- float ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eps", "expected", "actual", "result"),
    [
        # absolute: |a-b| <= eps
        (1e-6, "0.0000001", "0.0", True),
        (1e-6, "0", "0.0000009", True),
        (1e-6, "0", "0.000002", False),
        (0.01, "1.00", "1.005", True),
        (0.01, "1.00", "1.02", False),
        # relative: |a-b| <= eps * max(|a|, |b|)
        (1e-6, "1000000", "1000000.5", True),
        (1e-6, "1000000", "1000002", False),
        (1e-6, "-1e9", "-1000000999", True),
        (1e-6, "1e300", "1.0000001e300", True),
        (1e-6, "1e300", "1.00001e300", False),
        (1e-6, "1e-300", "2e-300", True),  # tiny values: absolute eps covers them
        # eps 0: numerically equal spellings only
        (0.0, "1", "1.0", True),
        (0.0, "1", "1e0", True),
        (0.0, "100", "1E2", True),
        (0.0, "0.5", ".5", True),
        (0.0, "2", "2.", True),
        (0.0, "+3", "3", True),
        (0.0, "1", "1.0000001", False),
        # -0 equals 0
        (0.0, "-0", "0", True),
        (0.0, "-0.0", "+0e5", True),
        # nan equals only nan
        (1e-6, "nan", "nan", True),
        (1e-6, "nan", "NaN", True),
        (1e-6, "nan", "-nan", True),
        (1e-6, "nan", "0", False),
        (1e-6, "0", "nan", False),
        (1e-6, "nan", "inf", False),
        (1e6, "nan", "1", False),
        # inf equals only inf of the same sign
        (1e-6, "inf", "inf", True),
        (1e-6, "inf", "Infinity", True),
        (1e-6, "inf", "+INF", True),
        (1e-6, "-inf", "-infinity", True),
        (1e-6, "inf", "-inf", False),
        (1e-6, "-inf", "inf", False),
        (1e6, "inf", "1e308", False),  # a huge eps does not make inf close to a number
        (1e6, "1e308", "inf", False),
        (1e-6, "inf", "nan", False),
        # 1e400 overflows to inf
        (1e-6, "1e400", "inf", True),
        (1e-6, "-1e400", "-inf", True),
        (1e-6, "1e400", "1e308", False),
        # subtraction overflow near the top of the range is decided exactly
        (1e-6, "1.7e308", "-1.7e308", False),
        (1.1, "1.7e308", "-1.7e308", False),  # 3.4e308 > 1.87e308, though both overflow
        (2.5, "1.7e308", "-1.7e308", True),
        (1e-6, "1.7976931348623157e308", "1.7976931348623157e308", True),
        # non-numeric tokens next to numbers compare exactly
        (1e-3, "x 1.0 y", "x 1.0001 y", True),
        (1e-3, "x 1.0 y", "X 1.0 y", False),
        (1e-3, "Case #1: 0.5", "Case #1: 0.5001", True),
        (1e-3, "Case #1: 0.5", "Case #2: 0.5", False),
        (1e-3, "abc", "abc", True),
        (1e-3, "1.0", "abc", False),
        (1e-3, "abc", "1.0", False),
        (1e-3, "1.0", "1.0x", False),
        (1e-3, "1,0", "1.0", False),
        # float() would take these; a judge must not
        (1e-3, "1000", "1_000", False),
        (1e-3, "12", "\u0661\u0662", False),  # Arabic-Indic digits
        (1e-3, "1", "0x1", False),
        (1e-3, "1", "1e", False),
        (1e-3, "1", "e1", False),
        (1e-3, "1", ".", False),
        (1e-3, "nan", "nanx", False),
        (1e-3, "inf", "infinit", False),
        # token count mismatch
        (1e-3, "1 2", "1", False),
        (1e-3, "1", "1 2", False),
        (1e-3, "1 2", "1 2 3", False),
        (1e-3, "", "0", False),
        # whitespace and empty output as in tokens
        (1e-3, "1 2\n", "  1\r\n2.0001\t\n\n", True),
        (1e-3, "", "", True),
        (1e-3, "", " \n\t", True),
    ],
)
def test_float(eps: float, expected: str, actual: str, result: bool) -> None:
    assert matches(floats(eps), expected, actual) is result


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_float_is_symmetric(a: float, b: float, eps: float) -> None:
    comparison = floats(eps)
    assert matches(comparison, repr(a), repr(b)) == matches(comparison, repr(b), repr(a))


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)
def test_float_number_matches_itself(a: float, eps: float) -> None:
    assert matches(floats(eps), repr(a), repr(a))
    assert matches(floats(eps), repr(a), f"{a:.17g}")


# --- properties across modes ------------------------------------------------------------------

# Text built from the characters the modes treat differently, so the interesting cases are hit.
texts = st.text(alphabet=st.sampled_from("ab1 .\t\r\n\f\v"), max_size=30)
# No \r: a lone CR is a line break, so appending one would add a line.
trailing = st.text(alphabet=st.sampled_from(" \t\f\v"), max_size=4)


def pad_line(line: str, pad: str) -> str:
    """`line` with `pad` at its end, before the CR of a CRLF so the line ending stays one."""
    if line.endswith("\r"):
        return line[:-1] + pad + "\r"
    return line + pad


@given(texts, texts, st.lists(trailing, max_size=4), st.integers(0, 3))
@example("a", "a", [" "], 1)
@example("\na", "a", [], 0)
def test_lines_ignores_trailing_whitespace_and_blank_lines(
    expected: str, actual: str, pads: list[str], blank_lines: int
) -> None:
    # Pad each line of actual at its end, then add blank lines: the verdict must not move.
    lines = actual.split("\n")
    pads = (pads + [""] * len(lines))[: len(lines)]
    padded = "\n".join(pad_line(line, pad) for line, pad in zip(lines, pads, strict=True))
    padded += "\n" * blank_lines
    assert matches(LINES, expected, padded) == matches(LINES, expected, actual)


@given(texts, texts)
def test_exact_implies_lines_implies_tokens(expected: str, actual: str) -> None:
    if matches(EXACT, expected, actual):
        assert matches(LINES, expected, actual)
    if matches(LINES, expected, actual):
        assert matches(TOKENS, expected, actual)


@given(texts, texts, st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_tokens_implies_float(expected: str, actual: str, eps: float) -> None:
    if matches(TOKENS, expected, actual):
        assert matches(floats(eps), expected, actual)


@given(texts)
def test_every_mode_is_reflexive(text: str) -> None:
    for comparison in (EXACT, LINES, TOKENS, floats(0.0)):
        assert matches(comparison, text, text)


@given(texts, texts)
def test_lines_and_tokens_are_symmetric(expected: str, actual: str) -> None:
    for comparison in (EXACT, LINES, TOKENS):
        assert matches(comparison, expected, actual) == matches(comparison, actual, expected)
