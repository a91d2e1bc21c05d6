"""C and C++ rules over the tree-sitter tree (the two share rules; ids differ by prefix).

Recognised: `#include` (and `#include_next`, `#import`) of the headers behind sockets, dlopen,
posix_spawn and raw syscalls, and of absolute or `..` paths; calls of, or the address taken of,
the libc functions that start programs, open sockets, load libraries or make raw system calls
(`system`, `::system`, `std::system`; not `obj.system()`, not `Mine::system`, and not a name the
program defines itself, which then links to the program's own function); `asm`/`__asm__` in any
position; symbol tricks (alias/weakref/ifunc/symver/section attributes, redefine_extname); and
those names in the body of a `#define`.

Out of reach: what token pasting (`sys##tem`) or `#if` builds, since tree-sitter does not run the
preprocessor; and machine code reached through a data pointer made executable by other means.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from lib.validation.limits import Deadline
from lib.validation.source import NodeChecker, Source
from lib.validation.violations import Finding

# rule suffix -> libc functions
FUNCTIONS = {
    "exec": (
        "execl",
        "execle",
        "execlp",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execveat",
        "fexecve",
        "system",
        "popen",
        "fork",
        "vfork",
        "_Fork",
        "clone",
        "clone3",
        "posix_spawn",
        "posix_spawnp",
        "daemon",
    ),
    "syscall": (
        "syscall",
        "ptrace",
        "mprotect",
        "pkey_mprotect",
        "process_vm_readv",
        "process_vm_writev",
    ),
    "dlopen": (
        "dlopen",
        "dlmopen",
        "dlsym",
        "dlvsym",
    ),
    "socket": (
        "socket",
        "socketpair",
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname2",
        "gethostbyaddr",
    ),
}
_RULE_OF_FUNCTION = {name: rule for rule, names in FUNCTIONS.items() for name in names}

# header -> rule suffix; then prefixes for header families
HEADERS = {
    "sys/socket.h": "socket",
    "sys/un.h": "socket",
    "netdb.h": "socket",
    "ifaddrs.h": "socket",
    "dlfcn.h": "dlopen",
    "spawn.h": "exec",
    "sys/syscall.h": "syscall",
    "syscall.h": "syscall",
    "sys/ptrace.h": "syscall",
}
HEADER_PREFIXES = (
    ("netinet/", "socket"),
    ("arpa/", "socket"),
    ("net/", "socket"),
    ("linux/if", "socket"),
    ("asm/unistd", "syscall"),
    ("boost/asio", "socket"),
    ("boost/process", "exec"),
    ("boost/dll", "dlopen"),
)
ASM_WORDS = frozenset({"asm", "__asm", "__asm__"})
_LINKER_ATTR_RE = re.compile(r"\b_*(alias|weakref|ifunc|symver|section)_*\b")
_LINKER_PRAGMA_RE = re.compile(r"\bredefine_extname\b")
_WORD_RE = re.compile(r"[A-Za-z_]\w*")
_LITERAL_OR_COMMENT_RE = re.compile(
    r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?\*/', re.S
)
_ATTRIBUTES = frozenset({"attribute_specifier", "attribute_declaration"})
_INCLUDE_DIRECTIVES = frozenset({"#include_next", "#import"})
# What may stand between a free function's definition and the file: extern "C" { }, #ifdef.
_TRANSPARENT_SCOPES = frozenset(
    {"linkage_specification", "declaration_list", "preproc_if", "preproc_ifdef", "preproc_else"}
    | {"preproc_elif", "preproc_elifdef"}
)


class Checker(NodeChecker):
    def __init__(
        self, source: Source, job_files: frozenset[str], deadline: Deadline, *, prefix: str
    ) -> None:
        super().__init__(source, job_files, deadline)
        self.prefix = prefix
        self._defined: set[str] = set()  # free functions the program defines
        self._variables: set[str] = set()  # names the program declares as variables
        self._uses: list[tuple[str, Node, bool]] = []  # (name, node, is a call)

    def visit(self, node: Node, field_name: str | None) -> bool:
        kind = node.type
        if kind == "comment":
            return False
        if kind in ASM_WORDS:  # the keyword leaf of any asm statement, expression or label
            self._report("asm", node, kind)
        elif kind == "identifier":
            self._identifier(node, field_name)
        elif kind == "field_identifier" and field_name == "declarator":
            parent = node.parent
            if parent is not None and parent.type != "function_declarator":
                self._variables.add(self.source.text(node))  # a data member, used unqualified
        elif kind == "qualified_identifier":
            self._qualified(node, field_name)
        elif kind == "preproc_include":
            path = node.child_by_field_name("path")
            if path is not None:
                self._include(path, self.source.text(path))
        elif kind == "preproc_call":
            self._directive(node)
        elif kind in ("preproc_def", "preproc_function_def"):
            self._macro(node)
        elif kind in _ATTRIBUTES:
            match = _LINKER_ATTR_RE.search(self.source.text(node))
            if match:
                self._report("linker", node, f"the {match.group(1)} attribute")
        elif kind == "call_expression":
            self._pragma_operator(node)
        return True

    def finish(self) -> list[Finding]:
        for count, (name, node, is_call) in enumerate(self._uses, 1):
            self.tick(count)
            if name in self._defined or (not is_call and name in self._variables):
                continue  # the program's own function or variable of that name
            self._report(_RULE_OF_FUNCTION[name], node, f"{name}()" if is_call else name)
        return self.findings

    def _report(self, suffix: str, node: Node, subject: str) -> None:
        self.report(f"{self.prefix}.{suffix}", node, subject)

    # -- names ------------------------------------------------------------------------------

    def _identifier(self, node: Node, field_name: str | None) -> None:
        name = self.source.text(node)
        if name in ASM_WORDS:  # `asm` as a plain name: C's strict mode, or an error-recovered tree
            self._report("asm", node, name)
            return
        if name not in _RULE_OF_FUNCTION:
            return
        parent = node.parent
        if parent is None or parent.type.startswith("preproc_"):
            return  # #ifdef fork, defined(fork), a macro's own name
        if parent.type == "qualified_identifier":
            return  # judged as a whole in _qualified
        if field_name == "declarator":
            self._declared(name, parent)
            return
        if parent.type == "enumerator":
            self._variables.add(name)
            return
        is_call = parent.type == "call_expression" and field_name == "function"
        self._uses.append((name, node, is_call))

    def _declared(self, name: str, parent: Node) -> None:
        if parent.type != "function_declarator":
            self._variables.add(name)
            return
        holder = parent.parent
        while holder is not None and holder.type in ("pointer_declarator", "reference_declarator"):
            holder = holder.parent
        if holder is not None and holder.type == "function_definition" and _at_file_scope(holder):
            self._defined.add(name)  # a free function of that name replaces libc's at link time

    def _qualified(self, node: Node, field_name: str | None) -> None:
        """`std::system(...)` and `::system(...)` are libc's; `Mine::system` is not."""
        scope = node.child_by_field_name("scope")
        name = node.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return
        text = self.source.text(name)
        if text not in _RULE_OF_FUNCTION:
            return
        if scope is not None and self.source.text(scope) != "std":
            return
        if field_name == "declarator":
            return  # a definition of std::x or ::x, not a use
        parent = node.parent
        is_call = parent is not None and parent.type == "call_expression"
        self._uses.append((text, node, is_call and field_name == "function"))

    # -- the preprocessor -------------------------------------------------------------------

    def _include(self, node: Node, raw: str) -> None:
        path = raw.strip()
        quoted = path.startswith('"')
        path = path.strip('<>"').strip()
        if path.startswith("/") or ".." in path.split("/"):
            self._report("include-path", node, f"#include {raw.strip()}")
            return
        header = posixpath.normpath(path)
        rule = HEADERS.get(header) or next(
            (rule for prefix, rule in HEADER_PREFIXES if header.startswith(prefix)), None
        )
        if rule is not None:
            self._report(rule, node, f"#include <{header}>")
        if quoted:
            self.includes.add(header)

    def _directive(self, node: Node) -> None:
        directive = node.child_by_field_name("directive")
        argument = node.child_by_field_name("argument")
        if directive is None or argument is None:
            return
        name = self.source.text(directive).replace(" ", "").replace("\t", "")
        if name in _INCLUDE_DIRECTIVES:
            self._include(argument, self.source.text(argument))
        elif name == "#pragma" and _LINKER_PRAGMA_RE.search(self.source.text(argument)):
            self._report("linker", node, "#pragma redefine_extname")

    def _macro(self, node: Node) -> None:
        """A macro's body is not parsed as code, so its words are looked at one by one."""
        body = node.child_by_field_name("value")
        if body is None:
            return
        params = node.child_by_field_name("parameters")
        own = set(_WORD_RE.findall(self.source.text(params))) if params is not None else set()
        text = _LITERAL_OR_COMMENT_RE.sub(" ", self.source.text(body))
        words = set(_WORD_RE.findall(text)) - own
        for word in sorted(words & _RULE_OF_FUNCTION.keys()):
            self._report(_RULE_OF_FUNCTION[word], body, f"{word} in a macro")
        for word in sorted(words & ASM_WORDS):
            self._report("asm", body, f"{word} in a macro")
        if ("__attribute__" in words or "[[" in text) and _LINKER_ATTR_RE.search(text):
            self._report("linker", body, "a symbol attribute in a macro")

    def _pragma_operator(self, node: Node) -> None:
        callee = node.child_by_field_name("function")
        if callee is None or self.source.text(callee) != "_Pragma":
            return
        if _LINKER_PRAGMA_RE.search(self.source.text(node)):
            self._report("linker", node, "_Pragma redefine_extname")


def _at_file_scope(definition: Node) -> bool:
    """A definition not inside a class, struct or (C++) namespace body."""
    parent = definition.parent
    while parent is not None and parent.type in _TRANSPARENT_SCOPES:
        grand = parent.parent
        if parent.type == "declaration_list" and grand and grand.type == "namespace_definition":
            return False
        parent = parent.parent
    return parent is None or parent.type == "translation_unit"
