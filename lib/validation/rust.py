"""Rust rules over the tree-sitter tree.

Jobs are built with plain `rustc` (no Cargo, no crates but the standard library), so the ways out
are few: std::process::Command, std::net, foreign code (extern blocks, #[link], #[no_mangle]),
inline assembly, and `unsafe` (a warning by default: fast input readers use it).

Paths are read from the token stream, not only from the parsed structure, because macro arguments
(`println!("{:?}", std::process::Command::new("sh"))`) and macro_rules bodies are kept by
tree-sitter as flat token trees. `use` declarations are expanded (lists, `self`, `as`, globs),
and a path is resolved through them at the end of the file: `use std::process as p;
p::Command::new(..)` and `use std::process::*; Command::new(..)` are both seen.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from lib.validation.limits import Deadline
from lib.validation.source import NodeChecker, Source
from lib.validation.violations import Finding

Path = tuple[str, ...]

PATH_RULES: tuple[tuple[Path, str], ...] = (
    (("std", "process", "Command"), "rust.process-command"),
    (("std", "os", "unix", "process"), "rust.process-command"),  # CommandExt::exec, pre_exec
    (("std", "os", "linux", "process"), "rust.process-command"),
    (("std", "net"), "rust.net"),
    (("std", "os", "unix", "net"), "rust.net"),
    (("std", "os", "linux", "net"), "rust.net"),
)
ASM_MACROS = frozenset({"asm", "global_asm", "naked_asm", "llvm_asm"})
INCLUDE_MACROS = frozenset({"include", "include_str", "include_bytes"})
EXTERN_ATTRIBUTES = frozenset(
    {"link", "link_name", "link_ordinal", "link_section", "no_mangle", "export_name"}
)
STD_CRATES = frozenset({"std", "core", "alloc"})
_IDENTIFIERS = frozenset(
    {"identifier", "type_identifier", "crate", "self", "super", "metavariable"}
)
_COMMENTS = frozenset({"line_comment", "block_comment"})
_ROOTS = frozenset({"", "crate", "self", "super"})  # `::std`, `crate::x`: the head that follows
_MAX_ALIAS_STEPS = 4
_MAX_BINDINGS = 16  # paths one name may stand for; globs in one file (bounds the resolution)
_MAX_CANDIDATES = 64  # paths followed per resolution round
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]+\}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unescape(match: re.Match[str]) -> str:
    esc = match.group(1)
    if esc[0] == "x" and len(esc) == 3:
        return chr(int(esc[1:], 16))
    if esc[0] == "u" and len(esc) > 1:
        digits = esc[2:-1].replace("_", "")
        code = int(digits, 16) if digits else 0x110000
        return chr(code) if code <= 0x10FFFF else ""
    return _SIMPLE_ESCAPES.get(esc, esc)


class Checker(NodeChecker):
    def __init__(self, source: Source, job_files: frozenset[str], deadline: Deadline) -> None:
        super().__init__(source, job_files, deadline)
        self._aliases: dict[str, set[Path]] = {}  # a name bound by `use` -> the paths it names
        self._globs: set[Path] = set()  # `use a::b::*`
        self._paths: list[tuple[Path, Node]] = []  # every path, resolved in finish()
        self._building: list[str] = []  # the path the token stream is in the middle of
        self._expect_segment = False  # the last token was `::`
        self._start: Node | None = None

    def visit(self, node: Node, field_name: str | None) -> bool:
        kind = node.type
        if kind in _COMMENTS:
            return False  # also: a comment between `std::` and `process` does not break a path
        if kind == "use_declaration":
            self._flush()
            self._use(node)
            return False
        if kind == "extern_crate_declaration":
            self._flush()
            self._extern_crate(node)
            return False
        if kind == "foreign_mod_item":
            self.report("rust.extern", node, "an extern block")
        elif kind == "attribute":
            self._attribute(node)
        elif kind == "macro_invocation":
            self._include(node)
        elif node.child_count == 0:
            self._token(node, kind)
        return True

    def finish(self) -> list[Finding]:
        self._flush()
        for count, (path, node) in enumerate(self._paths, 1):
            self.tick(count)
            for full, known in self._resolve(path):
                rule = _classify(full, known)
                if rule is not None:
                    self.report(rule, node, "::".join(p for p in path if p))
                    break
        return self.findings

    # -- the token stream -------------------------------------------------------------------

    def _token(self, node: Node, kind: str) -> None:
        if kind == "::":
            if self._building and not self._expect_segment:
                self._expect_segment = True
                return
            self._flush()
            self._building, self._expect_segment, self._start = [""], True, node
        elif kind in _IDENTIFIERS:
            text = self.source.text(node).removeprefix("r#")
            if text in ("unsafe", "extern"):  # keywords, but plain tokens in a token tree
                self._flush()
                self._keyword(node, text)
            elif self._building and self._expect_segment:
                self._building.append(text)
                self._expect_segment = False
            else:
                self._flush()
                self._building, self._expect_segment, self._start = [text], False, node
        else:
            if kind == "!" and self._building and self._building[-1] in ASM_MACROS:
                self.report("rust.asm", self._start or node, f"{self._building[-1]}!")
            self._flush()
            if kind in ("unsafe", "extern"):
                self._keyword(node, kind)

    def _keyword(self, node: Node, word: str) -> None:
        if word == "unsafe":
            self.report("rust.unsafe", node, "unsafe")
        elif node.parent is not None and node.parent.type == "token_tree":
            # Outside macros an extern block is reported whole; `extern "C" fn` is only an ABI.
            self.report("rust.extern", node, "extern in a macro")

    def _flush(self) -> None:
        if self._start is not None and any(self._building):
            self._paths.append((tuple(self._building), self._start))
        self._building, self._expect_segment, self._start = [], False, None

    # -- use, extern crate, attributes, include! --------------------------------------------

    def _use(self, node: Node) -> None:
        """Expand a use tree (iteratively) into (path, bound name) pairs."""
        argument = node.child_by_field_name("argument")
        stack: list[tuple[Node, Path]] = [(argument, ())] if argument is not None else []
        while stack:
            item, prefix = stack.pop()
            kind = item.type
            if kind == "use_as_clause":
                path = item.child_by_field_name("path")
                alias = item.child_by_field_name("alias")
                full = prefix + (self._segments(path) if path is not None else ())
                self._bind(self.source.text(alias) if alias is not None else full[-1], full, item)
            elif kind == "use_wildcard":
                inner = next(iter(item.named_children), None)
                full = prefix + (self._segments(inner) if inner is not None else ())
                if len(self._globs) < _MAX_BINDINGS:
                    self._globs.add(full)
                self._paths.append(((*full, "*"), item))
            elif kind == "scoped_use_list":
                path = item.child_by_field_name("path")
                listed = item.child_by_field_name("list")
                inner_prefix = prefix + (self._segments(path) if path is not None else ())
                if listed is not None:
                    stack += [(child, inner_prefix) for child in listed.named_children]
            elif kind == "use_list":
                stack += [(child, prefix) for child in item.named_children]
            elif kind in _IDENTIFIERS or kind == "scoped_identifier":
                full = prefix + self._segments(item)
                if full and full[-1] == "self":  # `use std::process::{self}`
                    full = full[:-1]
                if full:
                    self._bind(full[-1], full, item)

    def _bind(self, name: str, path: Path, node: Node) -> None:
        targets = self._aliases.setdefault(name.removeprefix("r#"), set())
        if len(targets) < _MAX_BINDINGS:
            targets.add(path)
        self._paths.append((path, node))

    def _segments(self, node: Node) -> Path:
        """`a::b::c` as ("a", "b", "c"); a leading `::` as an empty first segment."""
        parts: list[str] = []
        current: Node | None = node
        while current is not None and current.type == "scoped_identifier":
            name = current.child_by_field_name("name")
            parts.append(self.source.text(name) if name is not None else "")
            current = current.child_by_field_name("path")
        parts.append(self.source.text(current) if current is not None else "")
        return tuple(p.removeprefix("r#") for p in reversed(parts))

    def _extern_crate(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        alias = node.child_by_field_name("alias")
        crate = self.source.text(name) if name is not None else ""
        if crate not in STD_CRATES:
            self.report("rust.extern", node, f"extern crate {crate}")
        if alias is not None:
            self._aliases.setdefault(self.source.text(alias), set()).add((crate,))

    def _attribute(self, node: Node) -> None:
        names = [self.source.text(c) for c in node.named_children if c.type == "identifier"]
        if names == ["unsafe"]:  # #[unsafe(no_mangle)]: the name is inside the parentheses
            trees = [c for c in node.named_children if c.type == "token_tree"]
            names = [self.source.text(c) for t in trees for c in t.named_children]
        for name in names:
            if name in EXTERN_ATTRIBUTES:
                self.report("rust.extern", node, f"#[{name}]")
            elif name == "naked":
                self.report("rust.asm", node, "#[naked]")
            elif name == "path":
                value = node.child_by_field_name("value")
                self._included_file(node, "#[path]", value, code=True)

    def _include(self, node: Node) -> None:
        macro = node.child_by_field_name("macro")
        if macro is None:
            return
        name = self._segments(macro)[-1] if macro.type == "scoped_identifier" else None
        name = name or self.source.text(macro)
        if name not in INCLUDE_MACROS:
            return
        trees = [c for c in node.named_children if c.type == "token_tree"]
        args = [c for t in trees for c in t.named_children]
        literal = args[0] if len(args) == 1 else None
        self._included_file(node, f"{name}!", literal, code=name == "include")

    def _included_file(self, node: Node, what: str, literal: Node | None, *, code: bool) -> None:
        path = self._string(literal) if literal is not None else None
        if path is None:
            self.report("rust.include-path", node, f"{what} of a computed path")
        elif path.startswith("/") or ".." in path.split("/"):
            self.report("rust.include-path", node, f"{what} {path!r}")
        elif code:
            self.includes.add(posixpath.normpath(path))

    def _string(self, node: Node) -> str | None:
        if node.type == "raw_string_literal":
            return "".join(self.source.text(c) for c in node.named_children)
        if node.type != "string_literal":
            return None
        parts = [self.source.text(c) for c in node.named_children]
        return _ESCAPE_RE.sub(_unescape, "".join(parts))

    # -- resolution -------------------------------------------------------------------------

    def _resolve(self, path: Path) -> list[tuple[Path, int]]:
        """The full paths a written path may stand for, through `use` aliases and globs.

        Each comes with how many of its leading segments a glob supplied: a glob brings in
        whatever its module holds, so only a rule naming an item past the glob (`Command`
        after `use std::process::*`) may match, not the glob's module itself.
        """
        results: list[tuple[Path, int]] = []
        pending = [path]
        for _ in range(_MAX_ALIAS_STEPS):
            next_round: list[Path] = []
            for candidate in pending:
                stripped = _strip_roots(candidate)
                if not stripped:
                    continue
                head, rest = stripped[0], stripped[1:]
                results.append((stripped, 0))
                for target in sorted(self._aliases.get(head, ())):
                    if target != (head,):
                        next_round.append(target + rest)
                if head not in self._aliases and head != "std":
                    for glob in sorted(self._globs):
                        prefix = _strip_roots(glob)
                        results.append((prefix + stripped, len(prefix)))
            pending = next_round[:_MAX_CANDIDATES]
        return results


def _strip_roots(path: Path) -> Path:
    start = 0
    while start < len(path) and path[start] in _ROOTS:
        start += 1
    return path[start:]


def _classify(path: Path, known: int = 0) -> str | None:
    for prefix, rule in PATH_RULES:
        if len(prefix) > known and path[: len(prefix)] == prefix:
            return rule
    return None
