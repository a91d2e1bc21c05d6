"""One file as a tree-sitter checker sees it, and the way back to the user's line and column.

For C and C++ the bytes handed to the parser are first put through the translation phases that
tree-sitter does not model but the compiler does (C11 5.1.1.2): trigraphs (C only: gcc's strict
-std=c11 honours them, -std=c++17 does not), backslash-newline splices (`sys\\<newline>tem(...)`
is a call of `system`), and the `%:` digraph for `#` in directives. Each phase records where it
removed bytes, so a finding in the translated text maps back to the original position.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from tree_sitter import Node

from lib.validation.limits import CHECK_EVERY, MAX_FINDINGS, Deadline
from lib.validation.violations import Finding

_TRIGRAPHS = {b"=": b"#", b"/": b"\\", b"'": b"^", b"(": b"[", b")": b"]", b"!": b"|"}
_TRIGRAPHS |= {b"<": b"{", b">": b"}", b"-": b"~"}
_TRIGRAPH_RE = re.compile(rb"\?\?([=/'()!<>\-])")
_SPLICE_RE = re.compile(rb"\\[ \t\f\v]*\r?\n")  # gcc accepts (and warns about) blanks after \
_DIGRAPH_DIRECTIVE_RE = re.compile(rb"(?m)^([ \t]*)%:")


@dataclass
class _Removals:
    """Where one phase removed bytes: output offsets, and the bytes removed up to each."""

    at: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)

    def to_input(self, offset: int) -> int:
        i = bisect.bisect_right(self.at, offset)
        return offset + (self.total[i - 1] if i else 0)


def _remove(
    data: bytes, pattern: re.Pattern[bytes], replace: dict[bytes, bytes] | None
) -> tuple[bytes, _Removals]:
    """Replace each match (by `replace[group 1]`, or nothing) and record the bytes removed."""
    removals = _Removals()
    out: list[bytes] = []
    last = removed = 0
    for m in pattern.finditer(data):
        new = replace[m.group(1)] if replace is not None else b""
        out += (data[last : m.start()], new)
        removed += len(m.group(0)) - len(new)
        removals.at.append(m.end() - removed)
        removals.total.append(removed)
        last = m.end()
    out.append(data[last:])
    return b"".join(out), removals


class Source:
    """A file's bytes for the parser (`data`), and positions in the bytes the user sent."""

    def __init__(
        self, name: str, original: bytes, *, c_family: bool = False, trigraphs: bool = False
    ):
        self.name = name
        self._original = original
        self._phases: list[_Removals] = []  # applied in order; undone in reverse
        data = original
        if trigraphs and b"??" in data:
            data, removals = _remove(data, _TRIGRAPH_RE, _TRIGRAPHS)
            self._phases.append(removals)
        if c_family and b"\\" in data:
            data, removals = _remove(data, _SPLICE_RE, None)
            self._phases.append(removals)
        if c_family and b"%:" in data:
            data = _DIGRAPH_DIRECTIVE_RE.sub(rb"\1# ", data)  # same length: no shift to record
        self.data = data
        self._line_starts: list[int] | None = None

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and character column of a byte offset in `data`."""
        for removals in reversed(self._phases):
            offset = removals.to_input(offset)
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer(rb"\n", self._original)]
        line = bisect.bisect_right(self._line_starts, offset)
        start = self._line_starts[line - 1]
        col = len(self._original[start:offset].decode("utf-8", "replace")) + 1
        return line, col


class NodeChecker:
    """Base of the per-language checkers: `visit` sees every node once, in source order.

    `visit` returns whether to descend into the node's children. `finish` returns the findings
    once the walk is over (some rules need the whole file, e.g. names the program defines).
    `includes` names other job files this one pulls in (`#include "x.h"`, `include!("x.rs")`),
    which are then checked too.
    """

    def __init__(self, source: Source, job_files: frozenset[str], deadline: Deadline) -> None:
        self.source = source
        self.job_files = job_files
        self.deadline = deadline
        self.findings: list[Finding] = []
        self.includes: set[str] = set()

    def visit(self, node: Node, field_name: str | None) -> bool:
        raise NotImplementedError

    def finish(self) -> list[Finding]:
        return self.findings

    def tick(self, count: int) -> None:
        """For loops in `finish`: look at the clock every CHECK_EVERY steps."""
        if count % CHECK_EVERY == 0:
            self.deadline.check(self.source.name)

    def report(self, rule: str, node: Node, subject: str) -> None:
        if len(self.findings) >= MAX_FINDINGS:
            return
        line, col = self.source.position(node.start_byte)
        self.findings.append(Finding(rule, subject, line, col, self.source.name))
