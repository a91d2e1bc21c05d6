"""JavaScript, C, C++ and Rust: parse with tree-sitter, walk once, let the language's checker look.

Languages are built once per process, on first use, and kept. A parser is not thread-safe, so
each thread builds its own on first use and reuses it for every file after (in the gateway's
event-loop thread, or one worker thread, that is once per process); no thread ever waits for
another's parse, so one slow job cannot use up the budget of the others. The rules
themselves live in javascript.py, native.py and rust.py; this module picks the files to check,
parses them under the deadline, and walks each tree iteratively, so a deeply nested program
costs a counter, not the Python stack.

tree-sitter does not run the preprocessor or expand macros: what a macro builds by token pasting
(`sys##tem`) or what `#if` hides is out of reach, and so is anything computed at run time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_javascript
import tree_sitter_rust
from tree_sitter import Language, Parser, Point, Tree

from lib.protocol import SourceFile
from lib.validation import javascript, native, rust
from lib.validation.limits import CHECK_EVERY, Deadline, Limits
from lib.validation.source import NodeChecker, Source
from lib.validation.violations import Finding

_GRAMMARS: dict[str, Callable[[], object]] = {
    "javascript": tree_sitter_javascript.language,
    "c": tree_sitter_c.language,
    "cpp": tree_sitter_cpp.language,
    "rust": tree_sitter_rust.language,
}

_CHECKERS: dict[str, Callable[[Source, frozenset[str], Deadline], NodeChecker]] = {
    "javascript": javascript.Checker,
    "c": functools.partial(native.Checker, prefix="c"),
    "cpp": functools.partial(native.Checker, prefix="cpp"),
    "rust": rust.Checker,
}

# Which files of a job are checked up front. Node runs a required file whatever its suffix, so
# every JavaScript file is; for the compiled languages, the sources and headers, plus whatever
# a checked file includes by name (see NodeChecker.includes).
_SUFFIXES: dict[str, tuple[str, ...] | None] = {
    "javascript": None,
    "c": (".c", ".h"),
    "cpp": (".cpp", ".cc", ".cxx", ".c++", ".h", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tpp"),
    "rust": (".rs",),
}

_CHUNK = 64 * 1024  # bytes handed to the parser per read callback


class _ThreadParsers(threading.local):
    def __init__(self) -> None:  # runs once in each thread that touches _PARSERS
        self.by_language: dict[str, Parser] = {}


_PARSERS = _ThreadParsers()


@functools.cache
def _language(name: str) -> Language:
    return Language(_GRAMMARS[name]())


def _parser(language: str) -> Parser:
    parsers = _PARSERS.by_language
    if language not in parsers:
        parsers[language] = Parser(_language(language))
    return parsers[language]


def languages() -> Sequence[str]:
    return tuple(_GRAMMARS)


def check(
    language: str, files: Sequence[SourceFile], limits: Limits, deadline: Deadline
) -> list[Finding]:
    """Findings in every file of a job that the language would compile or load."""
    by_name = {f.name: f for f in files}
    suffixes = _SUFFIXES[language]
    queue = [f.name for f in files if suffixes is None or f.name.endswith(suffixes)]
    checked: set[str] = set()
    findings: list[Finding] = []
    while queue:
        name = queue.pop(0)
        if name in checked:
            continue
        checked.add(name)
        source = Source(
            name,
            by_name[name].content.encode("utf-8", "surrogatepass"),
            c_family=language in ("c", "cpp"),
            trigraphs=language == "c",
        )
        checker = _CHECKERS[language](source, frozenset(by_name), deadline)
        _walk(_parse(language, source, deadline), checker, limits, deadline)
        findings += checker.finish()
        queue += sorted(checker.includes & by_name.keys())
    return findings


def _parse(language: str, source: Source, deadline: Deadline) -> Tree:
    """Parse under the deadline: the progress callback cancels the parse once it has passed."""
    parser = _parser(language)
    data = source.data

    def read(offset: int, _point: Point) -> bytes:
        return data[offset : offset + _CHUNK]

    def cancel(_offset: int, _has_error: bool) -> bool:
        return deadline.expired()

    try:
        return parser.parse(read, progress_callback=cancel)
    except ValueError as exc:  # py-tree-sitter's "Parsing failed": a cancelled parse
        raise deadline.exceeded(source.name) from exc
    finally:
        parser.reset()  # a cancelled parse would otherwise resume on the next call


def _walk(tree: Tree, checker: NodeChecker, limits: Limits, deadline: Deadline) -> None:
    """Depth-first, in source order, with a cursor: no recursion, depth counted as we go."""
    cursor = tree.walk()
    depth = count = 0
    while True:
        node = cursor.node
        assert node is not None  # a cursor over a tree always stands on a node
        count += 1
        if count % CHECK_EVERY == 0:
            deadline.check(checker.source.name)
        if checker.visit(node, cursor.field_name) and cursor.goto_first_child():
            depth += 1
            if depth > limits.max_depth:
                line, _ = checker.source.position(cursor.node.start_byte if cursor.node else 0)
                raise limits.too_deep(checker.source.name, line)
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return
            depth -= 1
