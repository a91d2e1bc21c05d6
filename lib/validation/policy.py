"""The validation policy: what each rule does, `off`, `warn` or `deny`.

Pure except `load_policy`, which reads one TOML file once, at start-up. Every rule is declared in
RULES below with its default action; `policy.toml` beside this module ships the same defaults so
an operator can copy and edit it (a test keeps the two in step). CODE_VALIDATION then overrides
the file as a whole: `off` turns every rule off, `warn` turns every deny into a warn.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from lib.config import ValidationMode
from lib.errors import ConfigError

# A rule's action has the same three values as the CODE_VALIDATION mode, so it is the same type.
Action = ValidationMode

POLICY_FILE = Path(__file__).with_name("policy.toml")

_LANGUAGE_OF_PREFIX = {"py": "python", "js": "javascript", "c": "c", "cpp": "cpp", "rust": "rust"}


@dataclass(frozen=True)
class Rule:
    id: str
    action: Action  # the default
    description: str  # one line, for the policy file and for the user's error message

    @property
    def language(self) -> str:
        return _LANGUAGE_OF_PREFIX[self.id.split(".", 1)[0]]


def _native_rules(prefix: str) -> tuple[Rule, ...]:
    """C and C++ share their rules; each has its own ids, so a policy can tell them apart."""
    deny = Action.DENY
    return (
        Rule(f"{prefix}.asm", deny, "inline assembly (asm, __asm__), including asm symbol labels"),
        Rule(f"{prefix}.syscall", deny, "raw system calls: syscall(), ptrace, mprotect"),
        Rule(f"{prefix}.dlopen", deny, "loading native libraries at run time: dlopen, dlsym"),
        Rule(f"{prefix}.exec", deny, "starting programs: system, popen, exec*, fork, posix_spawn"),
        Rule(f"{prefix}.socket", deny, "networking: sockets, name resolution, <sys/socket.h>"),
        Rule(
            f"{prefix}.linker",
            deny,
            "symbol tricks: alias, weakref, ifunc, symver, section attributes, redefine_extname",
        ),
        Rule(f"{prefix}.include-path", deny, "#include of an absolute path or one with '..'"),
        Rule(
            f"{prefix}.data-file", deny, "a file that is not UTF-8 text, which #include would read"
        ),
    )


RULES: Mapping[str, Rule] = MappingProxyType(
    {
        rule.id: rule
        for rule in (
            Rule(
                "py.subprocess",
                Action.DENY,
                "starting programs: subprocess, multiprocessing, pty, asyncio subprocesses",
            ),
            Rule(
                "py.os-exec",
                Action.DENY,
                "starting programs through os: system, popen, exec*, spawn*, fork, posix_spawn",
            ),
            Rule(
                "py.ctypes",
                Action.DENY,
                "native code: ctypes, cffi, or a .so or .pyc file Python could import",
            ),
            Rule("py.socket", Action.DENY, "networking: socket, ssl, http.client, urllib.request"),
            Rule(
                "py.dynamic-code",
                Action.DENY,
                "code built at run time: exec, eval, compile, __import__, importlib, pdb",
            ),
            Rule("js.child-process", Action.DENY, "starting programs: child_process, execve"),
            Rule("js.net", Action.DENY, "networking: net, dgram, http, https, http2, tls, dns"),
            Rule("js.vm", Action.DENY, "engine internals: vm, v8, inspector, repl"),
            Rule(
                "js.worker-threads",
                Action.DENY,
                "more threads or processes: worker_threads, cluster",
            ),
            Rule(
                "js.process-binding",
                Action.DENY,
                "Node internals and native addons: process.binding, process.dlopen, .node files",
            ),
            Rule(
                "js.dynamic-code",
                Action.DENY,
                "code built at run time: eval, Function, computed require(), the module module",
            ),
            *_native_rules("c"),
            *_native_rules("cpp"),
            Rule("rust.process-command", Action.DENY, "starting programs: std::process::Command"),
            Rule("rust.net", Action.DENY, "networking: std::net, std::os::unix::net"),
            Rule(
                "rust.extern",
                Action.DENY,
                "foreign code: extern blocks, extern crate, #[link], #[no_mangle]",
            ),
            Rule("rust.asm", Action.DENY, "inline assembly: asm!, global_asm!, naked functions"),
            Rule(
                "rust.unsafe",
                Action.WARN,
                "unsafe blocks, functions and impls (fast I/O uses them; a warning only)",
            ),
            Rule(
                "rust.include-path",
                Action.DENY,
                "include!/include_str!/#[path] of an absolute path or one with '..'",
            ),
        )
    }
)


class PolicyError(ConfigError, ValueError):
    """The policy file is missing, malformed, or names a rule or action that does not exist."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class Policy(Mapping[str, Action]):
    """An immutable mapping rule id -> action that covers every rule in RULES."""

    def __init__(self, actions: Mapping[str, Action]) -> None:
        unknown = set(actions) - set(RULES)
        if unknown:
            raise ValueError(f"unknown rule ids: {', '.join(sorted(unknown))}")
        merged = {rule_id: actions.get(rule_id, rule.action) for rule_id, rule in RULES.items()}
        self._actions: Mapping[str, Action] = MappingProxyType(merged)

    def __getitem__(self, rule_id: str) -> Action:
        return self._actions[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)

    def __len__(self) -> int:
        return len(self._actions)

    def __repr__(self) -> str:
        changed = {k: str(v) for k, v in self._actions.items() if v != RULES[k].action}
        return f"Policy(defaults, changed={changed})"

    def active(self, language: str) -> bool:
        """Whether any rule of this language is on; if none is, the code need not be parsed."""
        return bool(self._of(language) - {Action.OFF})

    def denies(self, language: str) -> bool:
        """Whether any rule of this language is a deny (in warn mode, none is)."""
        return Action.DENY in self._of(language)

    def _of(self, language: str) -> set[Action]:
        return {a for r, a in self._actions.items() if RULES[r].language == language}

    def with_mode(self, mode: ValidationMode) -> Policy:
        """CODE_VALIDATION over this policy: off silences all, warn softens deny, deny keeps all."""
        if mode == ValidationMode.OFF:
            return Policy(dict.fromkeys(self._actions, Action.OFF))
        if mode == ValidationMode.WARN:
            return Policy(
                {k: Action.OFF if v == Action.OFF else Action.WARN for k, v in self.items()}
            )
        return self


DEFAULT_POLICY = Policy({})


def load_policy(path: str | None = None, mode: ValidationMode = ValidationMode.DENY) -> Policy:
    """Read a policy file (default: the shipped one), then apply CODE_VALIDATION.

    Fails fast with PolicyError on a missing or malformed file, an unknown rule id or action.
    Rules the file does not name keep their built-in default, so an older custom file still
    gets a newly added rule at its safe default.
    """
    where = str(path or POLICY_FILE)
    try:
        with open(where, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file: {exc.strerror}", path=where) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", path=where) from exc
    return Policy(_parse(data, where)).with_mode(mode)


def _parse(data: dict[str, object], where: str) -> dict[str, Action]:
    extra = set(data) - {"rules"}
    if extra:
        raise PolicyError(f"unknown top-level keys {sorted(extra)}; expected [rules]", path=where)
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise PolicyError("`rules` must be a table", path=where)
    return {rule_id: _action(rule_id, entry, where) for rule_id, entry in rules.items()}


def _action(rule_id: str, entry: object, where: str) -> Action:
    """One entry: `"id" = "warn"` or a table `{ action = "warn", description = "..." }`."""
    if rule_id not in RULES:
        close = difflib.get_close_matches(rule_id, list(RULES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PolicyError(f"unknown rule {rule_id!r}{hint}", path=where)
    value = entry.get("action") if isinstance(entry, dict) else entry
    if not isinstance(value, str):
        raise PolicyError(f"rule {rule_id!r}: action must be a string", path=where)
    if isinstance(entry, dict) and set(entry) - {"action", "description"}:
        raise PolicyError(f"rule {rule_id!r}: only `action` and `description` allowed", path=where)
    try:
        return Action(value)
    except ValueError:
        raise PolicyError(
            f"rule {rule_id!r}: action must be one of off, warn, deny, not {value!r}", path=where
        ) from None
