"""Python rules over the standard library's `ast`.

The file is parsed from its bytes, as the interpreter reads it, so a coding cookie (`utf-7`
smuggles a newline into a comment) means to the checker what it means to the interpreter.

Names are followed, not just spelled: `import subprocess as s`, `from os import system as run`,
`o = os; o.system`, `__import__('os').system`, `importlib.import_module('socket')`,
`getattr(os, 'sys' + 'tem')`, `vars(os)['system']`, `os.__dict__['popen']`,
`sys.modules['subprocess']`, `__builtins__.exec`, `shutil.os.system`. The builtins exec, eval,
compile, __import__ and breakpoint count only where the program has not bound that name itself
(`def eval(expr):` in a calculator is the program's own function), with Python's scoping.

Out of reach: names computed at run time beyond constant folding (`getattr(os, name)` is
reported as a computed lookup on os, `getattr(x, name)` on an unknown object is not), objects
reached through other objects' attributes, and code a file writes and then runs.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib.protocol import SourceFile
from lib.validation.limits import CHECK_EVERY, MAX_FINDINGS, Deadline, Limits
from lib.validation.violations import Finding

# A module (or any module under it) -> rule.
MODULES: dict[str, str] = {
    **dict.fromkeys(
        ("subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing", "pty"),
        "py.subprocess",
    ),
    **dict.fromkeys(("ctypes", "_ctypes", "cffi"), "py.ctypes"),
    **dict.fromkeys(
        (
            "socket",
            "_socket",
            "ssl",
            "_ssl",
            "socketserver",
            "http.client",
            "http.server",
            "urllib.request",
            "ftplib",
            "smtplib",
            "poplib",
            "imaplib",
            "nntplib",
            "telnetlib",
            "xmlrpc",
            "asyncore",
            "asynchat",
            "requests",
            "urllib3",
            "httpx",
            "aiohttp",
        ),
        "py.socket",
    ),
    **dict.fromkeys(
        ("importlib", "imp", "runpy", "code", "codeop", "pdb", "zipimport"), "py.dynamic-code"
    ),
}
# Modules also reported when reached as another module's attribute (`asyncio.subprocess`).
ATTRIBUTE_MODULES = frozenset(
    {"subprocess", "_posixsubprocess", "multiprocessing", "pty", "socket", "_socket", "ctypes"}
)
OS_MODULES = frozenset({"os", "posix", "_os"})  # `_os`: how tempfile and others import os
OS_EXEC = frozenset(
    (
        "system",
        "popen",
        "fork",
        "forkpty",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "spawnl",
        "spawnle",
        "spawnlp",
        "spawnlpe",
        "spawnv",
        "spawnve",
        "spawnvp",
        "spawnvpe",
        "posix_spawn",
        "posix_spawnp",
    )
)
DYNAMIC_BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "breakpoint"})
# Builtins followed when the program has not rebound the name.
FOLLOWED_BUILTINS = DYNAMIC_BUILTINS | {"getattr", "vars", "__builtins__"}
ATTRIBUTES: dict[str, str] = {
    "asyncio.create_subprocess_exec": "py.subprocess",
    "asyncio.create_subprocess_shell": "py.subprocess",
    "concurrent.futures.ProcessPoolExecutor": "py.subprocess",
    "asyncio.open_connection": "py.socket",
    "asyncio.start_server": "py.socket",
    "asyncio.open_unix_connection": "py.socket",
    "asyncio.start_unix_server": "py.socket",
    "types.CodeType": "py.dynamic-code",
    "types.FunctionType": "py.dynamic-code",
}
# Introspection that reaches code objects or another module's globals (the classic way out of a
# restricted namespace: ().__class__.__base__.__subclasses__()...__globals__['system']).
INTROSPECTION = frozenset({"__subclasses__", "__globals__", "__code__"})
STAR_EXPORTS = {"os": OS_EXEC, "posix": OS_EXEC, "builtins": DYNAMIC_BUILTINS}
IMPORT_FUNCTIONS = frozenset(
    {"builtins.__import__", "importlib.import_module", "importlib.__import__"}
)

COMPUTED = "*"  # the attribute name of a lookup computed at run time
_MAX_RESOLVE = 32  # nesting followed by resolve/fold; deeper is "unknown"
_MAX_NAMES = 16  # distinct things one variable may be bound to
_ALIAS_ROUNDS = 8  # `b = a; a = os`: rounds of propagation
_FUNCTION_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")

Chain = tuple[int, ...]  # the scopes visible at a node, innermost last


def check(files: Sequence[SourceFile], limits: Limits, deadline: Deadline) -> list[Finding]:
    """Findings in every file Python could load: any file may be the entry point or imported."""
    findings: list[Finding] = []
    # The job directory comes first on sys.path: `import code` with a code.py in the job imports
    # that file (checked like the rest), not the standard library's module.
    local = frozenset(f.name.removesuffix(".py") for f in files if f.name.endswith(".py"))
    for f in files:
        if f.name.endswith((".so", ".pyd", ".pyc", ".pyo")):  # native code or bytecode
            subject = f"{f.name}, a file `import` would load as native code"
            findings.append(Finding("py.ctypes", subject, 1, 1, f.name))
            continue
        data = f.content.encode("utf-8", "surrogatepass")
        tree = _parse(data, f.name, limits)
        deadline.check(f.name)
        if tree is not None:
            findings += _FileChecker(f.name, data, limits, deadline, local).run(tree)
    return findings


def _parse(data: bytes, name: str, limits: Limits) -> ast.Module | None:
    try:
        return ast.parse(data, filename=name)
    except (SyntaxError, ValueError):
        return None  # not a rejection: the interpreter reports the error to the user
    except (RecursionError, MemoryError) as exc:  # CPython's parser gave up on the nesting
        raise limits.too_deep(name) from exc


@dataclass
class _Scopes:
    names: list[set[str]] = field(default_factory=lambda: [set()])  # index 0: the module
    is_class: list[bool] = field(default_factory=lambda: [False])
    globals: list[set[str]] = field(default_factory=lambda: [set()])

    def new(self, outer: Chain, node: ast.AST) -> Chain:
        is_class = isinstance(node, ast.ClassDef)
        self.names.append(set())
        self.is_class.append(is_class)
        self.globals.append(set())
        # A class body's names are not visible in the functions nested in it.
        visible = outer if is_class else tuple(s for s in outer if not self.is_class[s])
        return (*visible, len(self.names) - 1)

    def bind(self, chain: Chain, name: str) -> None:
        scope = chain[-1]
        self.names[0 if name in self.globals[scope] else scope].add(name)

    def bound(self, chain: Chain, name: str) -> bool:
        return any(name in self.names[s] for s in chain)


class _FileChecker:
    def __init__(
        self, name: str, data: bytes, limits: Limits, deadline: Deadline, local: frozenset[str]
    ) -> None:
        self.name = name
        self.local_modules = local
        self.data = data
        self.limits = limits
        self.deadline = deadline
        self.scopes = _Scopes()
        self.bindings: dict[str, set[str]] = {}  # name -> dotted names it may stand for
        self.edges: list[tuple[str, ast.expr, Chain]] = []  # `target = value` to propagate
        self.nodes: list[tuple[ast.AST, Chain]] = []  # to check once bindings are known
        self.findings: list[Finding] = []
        self._lines: list[str] | None = None
        # Once the bindings are final, what a node stands for no longer changes: remember it, so
        # a long attribute chain is resolved once, not once per link.
        self._memo: dict[int, frozenset[str]] | None = None

    def run(self, tree: ast.Module) -> list[Finding]:
        self._walk(tree)
        self._propagate()
        self._memo = {}
        for count, (node, chain) in enumerate(self.nodes, 1):
            if count % CHECK_EVERY == 0:
                self.deadline.check(self.name)
            self._check(node, chain)
        return self.findings

    # -- pass 1: one iterative walk ---------------------------------------------------------

    def _walk(self, tree: ast.Module) -> None:
        stack: list[tuple[ast.AST, int, Chain]] = [(tree, 0, (0,))]
        count = 0
        while stack:
            node, depth, chain = stack.pop()
            count += 1
            if count % CHECK_EVERY == 0:
                self.deadline.check(self.name)
            if depth > self.limits.max_depth:
                raise self.limits.too_deep(self.name, getattr(node, "lineno", None))
            chain = self._enter(node, chain)
            children = [c for c in ast.iter_child_nodes(node) if type(c) not in _CONTEXTS]
            children.reverse()  # the stack pops the first child first: source order
            stack += [(child, depth + 1, chain) for child in children]

    def _enter(self, node: ast.AST, chain: Chain) -> Chain:
        """Record what the node binds and whether to check it; return the scope chain inside."""
        kind = type(node)
        if kind in _SCOPES:
            if kind is not ast.Lambda and kind in _DEFINITIONS:
                self.scopes.bind(chain, node.name)  # type: ignore[attr-defined]
            chain = self.scopes.new(chain, node)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, chain)
        return chain

    def _arguments(self, node: ast.arguments, chain: Chain) -> None:
        for arg in (*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg):
            if arg is not None:
                self.scopes.bind(chain, arg.arg)

    def _name(self, node: ast.Name, chain: Chain) -> None:
        if type(node.ctx) is ast.Load:
            self.nodes.append((node, chain))
        else:
            self.scopes.bind(chain, node.id)

    def _global(self, node: ast.Global | ast.Nonlocal, chain: Chain) -> None:
        self.scopes.globals[chain[-1]].update(node.names)

    def _later(self, node: ast.AST, chain: Chain) -> None:
        self.nodes.append((node, chain))

    def _named(self, node: ast.ExceptHandler | ast.MatchAs | ast.MatchStar, chain: Chain) -> None:
        if node.name:
            self.scopes.bind(chain, node.name)

    def _rest(self, node: ast.MatchMapping, chain: Chain) -> None:
        if node.rest:
            self.scopes.bind(chain, node.rest)

    def _import(self, node: ast.Import | ast.ImportFrom, chain: Chain) -> None:
        self.nodes.append((node, chain))
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self._bind(chain, bound, alias.name if alias.asname else bound)
            return
        if node.level or not node.module:
            return  # a relative import: a file of this job, checked on its own
        for alias in node.names:
            if alias.name == "*":
                for name in STAR_EXPORTS.get(node.module, ()):
                    self._bind(chain, name, f"{node.module}.{name}")
            else:
                self._bind(chain, alias.asname or alias.name, f"{node.module}.{alias.name}")

    def _bind(self, chain: Chain, name: str, dotted: str) -> None:
        self.scopes.bind(chain, name)
        targets = self.bindings.setdefault(name, set())
        if len(targets) < _MAX_NAMES:
            targets.add(dotted)

    def _edges(self, node: ast.AST, chain: Chain) -> None:
        pairs: list[tuple[ast.expr, ast.expr | None]]
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.withitem):
            pairs = [(node.optional_vars, node.context_expr)] if node.optional_vars else []
        else:
            pairs = []
        for target, value in pairs:
            for name, expr in _unpack(target, value):
                self.edges.append((name, expr, chain))

    def _propagate(self) -> None:
        """Follow `x = os` (and `b = a; a = os`) until nothing new is learnt."""
        for _ in range(_ALIAS_ROUNDS):
            self.deadline.check(self.name)
            changed = False
            for count, (name, expr, chain) in enumerate(self.edges, 1):
                if count % CHECK_EVERY == 0:
                    self.deadline.check(self.name)
                targets = self.bindings.setdefault(name, set())
                for dotted in self._resolve(expr, chain) - targets:
                    if len(targets) < _MAX_NAMES:
                        targets.add(dotted)
                        changed = True
            if not changed:
                return

    # -- resolution -------------------------------------------------------------------------

    def _resolve(self, node: ast.AST, chain: Chain, depth: int = 0) -> frozenset[str]:
        """The dotted names (`os.system`, `builtins.eval`) an expression may stand for."""
        if depth > _MAX_RESOLVE:
            return frozenset()
        if self._memo is None:
            return self._resolve_node(node, chain, depth)
        known = self._memo.get(id(node))
        if known is None:
            known = self._memo[id(node)] = self._resolve_node(node, chain, depth)
        return known

    def _resolve_node(self, node: ast.AST, chain: Chain, depth: int) -> frozenset[str]:
        if isinstance(node, ast.Name):
            names = set(self.bindings.get(node.id, ()))
            if node.id in FOLLOWED_BUILTINS and not self.scopes.bound(chain, node.id):
                names.add("builtins" if node.id == "__builtins__" else f"builtins.{node.id}")
            return frozenset(names)
        if isinstance(node, ast.Attribute):
            if node.attr == "__builtins__":
                return frozenset({"builtins"})
            bases = self._resolve(node.value, chain, depth + 1)
            return frozenset(f"{b}.{node.attr}" for b in bases)
        if isinstance(node, ast.NamedExpr):
            return self._resolve(node.value, chain, depth + 1)
        if isinstance(node, ast.Subscript):
            return self._resolve_subscript(node, chain, depth)
        if isinstance(node, ast.Call):
            return self._resolve_call(node, chain, depth)
        return frozenset()

    def _resolve_subscript(self, node: ast.Subscript, chain: Chain, depth: int) -> frozenset[str]:
        key = _fold(node.slice)
        if key == "__builtins__":
            return frozenset({"builtins"})
        out: set[str] = set()
        for base in self._resolve(node.value, chain, depth + 1):
            if base == "sys.modules" and key:
                out.add(key)
            elif base.endswith(".__dict__"):
                out.add(f"{base.removesuffix('.__dict__')}.{key or COMPUTED}")
            elif base == "builtins":  # outside __main__, __builtins__ is the builtins' dict
                out.add(f"builtins.{key or COMPUTED}")
        return frozenset(out)

    def _resolve_call(self, node: ast.Call, chain: Chain, depth: int) -> frozenset[str]:
        args = node.args
        out: set[str] = set()
        for func in self._resolve(node.func, chain, depth + 1):
            if func == "builtins.getattr" and len(args) >= 2:
                attr = _fold(args[1]) or COMPUTED
                out |= {f"{b}.{attr}" for b in self._resolve(args[0], chain, depth + 1)}
            elif func == "builtins.vars" and len(args) == 1:
                out |= {f"{b}.__dict__" for b in self._resolve(args[0], chain, depth + 1)}
            elif func in IMPORT_FUNCTIONS and args and (module := _fold(args[0])):
                # __import__('a.b') returns the package a unless a fromlist is given.
                top = func == "builtins.__import__" and len(args) < 4 and not node.keywords
                out.add(module.split(".")[0] if top else module)
            elif func.endswith(".__getattribute__") and len(args) == 1:
                out.add(f"{func.removesuffix('.__getattribute__')}.{_fold(args[0]) or COMPUTED}")
            elif func == "sys.modules.get" and args and (module := _fold(args[0])):
                out.add(module)
        return frozenset(out)

    # -- pass 2: the rules ------------------------------------------------------------------

    def _check(self, node: ast.AST, chain: Chain) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._module(alias, alias.name, f"import {alias.name}")
            return
        if isinstance(node, ast.ImportFrom):
            self._import_from(node)
            return
        names = self._resolve(node, chain)
        for dotted in sorted(names):
            rule = _attribute_rule(dotted)
            if rule is not None:
                self._report(rule, node, _spell(dotted, node))
        if isinstance(node, ast.Attribute) and node.attr in INTROSPECTION:
            self._report("py.dynamic-code", node, f".{node.attr}")
        if isinstance(node, ast.Call):
            self._check_call(node, chain)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            # A module reached through a chain: report where the chain first becomes one, not
            # again at every later link (`subprocess.run` was reported at its import).
            bases = self._resolve(node.value, chain)
            if not any(_module_rule(b) for b in bases):
                for dotted in sorted(names):
                    self._module(node, dotted, _spell(dotted))

    def _check_call(self, node: ast.Call, chain: Chain) -> None:
        funcs = self._resolve(node.func, chain)
        if funcs & IMPORT_FUNCTIONS and node.args:
            key = _fold(node.args[0])
            if key:
                self._module(node, key, f"import of {key!r} at run time")
        if "builtins.getattr" in funcs and len(node.args) >= 2:
            key = _fold(node.args[1])
            if key in INTROSPECTION:
                self._report("py.dynamic-code", node, f"getattr(..., {key!r})")
            elif key is not None:
                bases = self._resolve(node.args[0], chain)
                if not any(_module_rule(b) for b in bases):
                    for base in sorted(bases):
                        self._module(node, f"{base}.{key}", f"{base}.{key}")

    def _import_from(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        if self._module(node, node.module, f"from {node.module} import ..."):
            return
        for alias in node.names:
            dotted = f"{node.module}.{alias.name}"
            rule = _attribute_rule(dotted)
            if rule is not None:
                self._report(rule, alias, f"from {node.module} import {alias.name}")
            else:
                self._module(alias, dotted, f"from {node.module} import {alias.name}")

    def _module(self, node: ast.AST, dotted: str, subject: str) -> bool:
        if dotted.split(".", 1)[0] in self.local_modules:
            return False
        rule = _module_rule(dotted)
        if rule is not None:
            self._report(rule, node, subject)
        return rule is not None

    def _report(self, rule: str, node: ast.AST, subject: str) -> None:
        if len(self.findings) >= MAX_FINDINGS:
            return
        line = getattr(node, "lineno", 1)
        col = self._column(line, getattr(node, "col_offset", 0))
        self.findings.append(Finding(rule, subject, line, col, self.name))

    def _column(self, line: int, byte_offset: int) -> int:
        """ast columns count UTF-8 bytes of the decoded line; users count characters."""
        if self._lines is None:
            try:
                encoding, _ = tokenize.detect_encoding(io.BytesIO(self.data).readline)
            except SyntaxError:
                encoding = "utf-8"
            self._lines = _NEWLINE_RE.split(self.data.decode(encoding, "replace"))
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


_CONTEXTS = frozenset({ast.Load, ast.Store, ast.Del})  # leaves; walking them is wasted time
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_SCOPES = frozenset({*_FUNCTION_SCOPES, ast.ClassDef})
# What each node type records during the walk (dispatch on the type: the walk is the hot loop).
_HANDLERS: dict[type[ast.AST], Callable[[_FileChecker, Any, Chain], None]] = {
    ast.arguments: _FileChecker._arguments,
    ast.Name: _FileChecker._name,
    ast.Global: _FileChecker._global,
    ast.Nonlocal: _FileChecker._global,
    ast.Import: _FileChecker._import,
    ast.ImportFrom: _FileChecker._import,
    ast.Attribute: _FileChecker._later,
    ast.Subscript: _FileChecker._later,
    ast.Call: _FileChecker._later,
    ast.Assign: _FileChecker._edges,
    ast.AnnAssign: _FileChecker._edges,
    ast.NamedExpr: _FileChecker._edges,
    ast.withitem: _FileChecker._edges,
    ast.ExceptHandler: _FileChecker._named,
    ast.MatchAs: _FileChecker._named,
    ast.MatchStar: _FileChecker._named,
    ast.MatchMapping: _FileChecker._rest,
}


def _unpack(target: ast.expr, value: ast.expr | None) -> Iterable[tuple[str, ast.expr]]:
    """Name targets with their values, pairing `a, b = os, sys` element by element."""
    if value is None:
        return []
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if (
        isinstance(target, ast.Tuple | ast.List)
        and isinstance(value, ast.Tuple | ast.List)
        and len(target.elts) == len(value.elts)
    ):
        pairs = zip(target.elts, value.elts, strict=True)
        return [(t.id, v) for t, v in pairs if isinstance(t, ast.Name)]
    return []


def _fold(node: ast.AST, depth: int = 0) -> str | None:
    """A constant string: a literal, `+` of literals, or an f-string without fields."""
    if depth > _MAX_RESOLVE:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _fold(node.left, depth + 1)
        right = _fold(node.right, depth + 1) if left is not None else None
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [_fold(v, depth + 1) for v in node.values]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    return None


def _module_rule(dotted: str) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        rule = MODULES.get(".".join(parts[:end]))
        if rule is not None:
            return rule
    for part in parts[1:]:
        if part in ATTRIBUTE_MODULES:
            return MODULES[part]
    return None


def _attribute_rule(dotted: str) -> str | None:
    owner, _, last = dotted.rpartition(".")
    owner_last = owner.rpartition(".")[2]
    if owner_last in OS_MODULES and (last in OS_EXEC or last == COMPUTED):
        return "py.os-exec"
    if owner == "builtins" and (last in DYNAMIC_BUILTINS or last == COMPUTED):
        return "py.dynamic-code"
    return ATTRIBUTES.get(dotted)


def _spell(dotted: str, node: ast.AST | None = None) -> str:
    """How a finding names what it saw: `eval`, not `builtins.eval`; `run (os.system)`."""
    text = dotted.removeprefix("builtins.").replace(f".{COMPUTED}", ".<a computed name>")
    if isinstance(node, ast.Name) and node.id != text:
        return f"{node.id} ({text})"
    return text
