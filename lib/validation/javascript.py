"""JavaScript rules over the tree-sitter tree.

Recognised: `require(...)`, `module.require`, `Module._load`, `import ... from`, `export ... from`
and `import()` naming a built-in module (with or without `node:`, string escapes and `+` of
literals folded); `process.binding` and friends by member, subscript or destructuring; `eval`,
`Function`, `.constructor(...)`, `require` passed around as a value, a module name computed at
run time, and a relative require of a file that is not part of the job.

`fs` stays allowed: `fs.readFileSync(0, 'utf8')` is how competitive programs read stdin.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from lib.validation.source import NodeChecker
from lib.validation.violations import Finding

# Built-in module (first path segment, `node:` stripped) -> rule.
MODULES = {
    "child_process": "js.child-process",
    **dict.fromkeys(("net", "dgram", "http", "https", "http2", "tls", "dns"), "js.net"),
    **dict.fromkeys(("vm", "v8", "inspector", "repl"), "js.vm"),
    **dict.fromkeys(("worker_threads", "cluster"), "js.worker-threads"),
    "module": "js.dynamic-code",  # createRequire, Module._load: require by another name
}
_INTERNAL_NET = ("_http_", "_tls_")  # requireable internals: _http_client, _tls_wrap, ...

# Properties of `process` -> rule.
PROCESS_PROPERTIES = {
    "binding": "js.process-binding",
    "_linkedBinding": "js.process-binding",
    "dlopen": "js.process-binding",
    "execve": "js.child-process",
}
GLOBAL_OBJECTS = frozenset({"globalThis", "global", "window", "self"})
_REQUIRE_PROPERTIES = frozenset({"require", "_load"})  # module.require, Module._load
_INDIRECT_CALLS = frozenset({"call", "apply", "bind"})  # require.call(null, name)
_RESOLVE_SUFFIXES = ("", ".js", ".mjs", ".cjs", ".json", ".node", "/index.js")

_ESCAPE_RE = re.compile(
    r"\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|[0-7]{1,3}|\r\n|.)", re.S
)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}
_MAX_FOLD = 32  # string concatenations folded; deeper is treated as computed


def _unescape(match: re.Match[str]) -> str:
    esc = match.group(1)
    if esc[0] == "x" and len(esc) == 3:
        return chr(int(esc[1:], 16))
    if esc[0] == "u" and len(esc) > 1:
        code = int(esc[1:].strip("{}"), 16)
        return chr(code) if code <= 0x10FFFF else ""
    if esc[0] in "01234567":
        return chr(int(esc, 8))
    if esc in ("\n", "\r\n", "\r", "\u2028", "\u2029"):
        return ""  # line continuation
    return _SIMPLE_ESCAPES.get(esc, esc)


class Checker(NodeChecker):
    def visit(self, node: Node, field_name: str | None) -> bool:
        kind = node.type
        if kind == "comment":
            return False
        if kind == "call_expression":
            self._call(node)
        elif kind == "new_expression":
            if self._global_name(node.child_by_field_name("constructor")) == "Function":
                self.report("js.dynamic-code", node, "new Function(...)")
        elif kind in ("import_statement", "export_statement"):
            source = node.child_by_field_name("source")
            if source is not None:
                self._module(source, self._fold(source))
        elif kind in ("member_expression", "subscript_expression"):
            self._member(node)
        elif kind in ("identifier", "shorthand_property_identifier"):
            self._identifier(node, field_name)
        elif kind in ("variable_declarator", "assignment_expression"):
            self._destructuring(node)
        return True

    def finish(self) -> list[Finding]:
        for name in sorted(self.job_files):
            if name.endswith(".node"):
                self.findings.append(
                    Finding("js.process-binding", f"{name}: a native addon", 1, 1, name)
                )
        return self.findings

    # -- the constructs ---------------------------------------------------------------------

    def _call(self, node: Node) -> None:
        callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is None:
            return
        if callee.type == "import" or self._is_require(callee):
            first = args.named_children[0] if args is not None and args.named_children else None
            if first is None:
                return
            spec = self._fold(first)
            if spec is None:
                what = "import()" if callee.type == "import" else "require()"
                self.report("js.dynamic-code", node, f"{what} of a name computed at run time")
            else:
                self._module(first, spec)
        elif self._global_name(callee) == "Function":
            self.report("js.dynamic-code", node, "Function(...)")
        elif callee.type == "member_expression" and self._property(callee) == "constructor":
            self.report("js.dynamic-code", node, ".constructor(...), the Function constructor")

    def _module(self, node: Node, spec: str | None) -> None:
        if spec is None:
            return
        name = spec.removeprefix("node:")
        if name.startswith((".", "/")):
            self._local_module(node, name)
            return
        base = name.split("/", 1)[0]
        rule = MODULES.get(base) or ("js.net" if base.startswith(_INTERNAL_NET) else None)
        if rule is not None:
            self.report(rule, node, f"the {base!r} module")

    def _local_module(self, node: Node, path: str) -> None:
        """A path: a .node addon is native code; a file that is not in the job was made at run
        time (or lies outside the job directory), which is code the validator cannot see."""
        norm = posixpath.normpath(path)
        candidates = [norm + suffix for suffix in _RESOLVE_SUFFIXES]
        found = next((c for c in candidates if c in self.job_files), None)
        if norm.endswith(".node") or (found or "").endswith(".node"):
            self.report("js.process-binding", node, f"require of the native addon {path!r}")
        elif found is None:
            self.report("js.dynamic-code", node, f"{path!r} is not a file of this job")

    def _member(self, node: Node) -> None:
        obj = node.child_by_field_name("object")
        if obj is None:
            return
        if obj.type == "identifier" and self.source.text(obj) == "require":
            if self._property(node) in _INDIRECT_CALLS:
                self.report("js.dynamic-code", node, "require called indirectly")
            return
        if not self._is_process(obj):
            name = self._global_member(node)
            if name in ("eval", "Function", "require"):
                self.report("js.dynamic-code", node, f"{name} reached through the global object")
            return
        prop = self._property(node)
        if prop is None:
            self.report("js.process-binding", node, "a property of process computed at run time")
        elif prop in PROCESS_PROPERTIES:
            self.report(PROCESS_PROPERTIES[prop], node, f"process.{prop}")

    def _identifier(self, node: Node, field_name: str | None) -> None:
        name = self.source.text(node)
        if name == "eval":
            self.report("js.dynamic-code", node, "eval")
        elif name == "require" and not self._callee_or_object(node, field_name):
            self.report("js.dynamic-code", node, "require used as a value")

    def _destructuring(self, node: Node) -> None:
        """`const {binding} = process` takes the property without writing `process.binding`."""
        pattern = node.child_by_field_name("name") or node.child_by_field_name("left")
        value = node.child_by_field_name("value") or node.child_by_field_name("right")
        if pattern is None or value is None or pattern.type != "object_pattern":
            return
        if not self._is_process(value):
            return
        for item in pattern.named_children:
            key = item.child_by_field_name("key") if item.type == "pair_pattern" else item
            prop = self.source.text(key) if key is not None else ""
            if prop in PROCESS_PROPERTIES:
                self.report(PROCESS_PROPERTIES[prop], item, f"process.{prop} (destructured)")

    # -- helpers ----------------------------------------------------------------------------

    def _is_require(self, callee: Node) -> bool:
        if callee.type == "identifier":
            return self.source.text(callee) == "require"
        if callee.type == "member_expression":
            return self._property(callee) in _REQUIRE_PROPERTIES
        return self._global_member(callee) == "require"

    def _is_process(self, node: Node) -> bool:
        node = _unparenthesize(node)
        if node.type == "identifier":
            return self.source.text(node) == "process"
        return self._global_member(node) == "process"

    def _global_member(self, node: Node | None) -> str | None:
        """`globalThis.x`, `global['x']`: the name x, else None."""
        if node is None or node.type not in ("member_expression", "subscript_expression"):
            return None
        obj = node.child_by_field_name("object")
        if obj is None or obj.type != "identifier" or self.source.text(obj) not in GLOBAL_OBJECTS:
            return None
        return self._property(node)

    def _global_name(self, node: Node | None) -> str | None:
        if node is None:
            return None
        node = _unparenthesize(node)
        if node.type == "identifier":
            return self.source.text(node)
        return self._global_member(node)

    def _property(self, node: Node) -> str | None:
        """The property name of `a.b` or of `a['b']` (folded); None if computed at run time."""
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            return self.source.text(prop) if prop is not None else None
        index = node.child_by_field_name("index")
        return self._fold(index) if index is not None else None

    def _callee_or_object(self, node: Node, field_name: str | None) -> bool:
        parent = node.parent
        if parent is None:
            return False
        if parent.type == "call_expression" and field_name == "function":
            return True
        return parent.type == "member_expression" and field_name == "object"

    def _fold(self, node: Node, depth: int = 0) -> str | None:
        """The value of a string literal, a template without substitutions, or `+` of those."""
        node = _unparenthesize(node)
        if depth > _MAX_FOLD:
            return None
        if node.type in ("string", "template_string"):
            parts = []
            for child in node.named_children:
                if child.type == "string_fragment":
                    parts.append(self.source.text(child))
                elif child.type == "escape_sequence":
                    parts.append(_ESCAPE_RE.sub(_unescape, self.source.text(child)))
                else:
                    return None  # a ${substitution}
            return "".join(parts)
        if node.type == "binary_expression":
            op = node.child_by_field_name("operator")
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if op is None or self.source.text(op) != "+" or left is None or right is None:
                return None
            a = self._fold(left, depth + 1)
            b = self._fold(right, depth + 1) if a is not None else None
            return a + b if a is not None and b is not None else None
        return None


def _unparenthesize(node: Node) -> Node:
    """`(x)` is x, and `(0, x)` is x too: a sequence's value is its last part."""
    for _ in range(_MAX_FOLD):
        if node.type not in ("parenthesized_expression", "sequence_expression"):
            break
        parts = [c for c in node.named_children if c.type != "comment"]
        if not parts:
            break
        node = parts[-1]
    return node
