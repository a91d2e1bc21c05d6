"""Code validation: a look at the program's syntax tree before it is queued.

Defence in depth and early, readable errors; NOT the security boundary (the Firejail sandbox is).
A finding here means the program names something this service will not run (starting programs,
raw system calls, networking, loading code at run time, native escapes); its absence proves
nothing, since code can always be built in ways a static look cannot follow.

Pure: no I/O but reading the policy file once (`load_policy`). Use:

    validator = Validator(load_policy(None, settings.code_validation))  # once, at start-up
    warnings = await asyncio.to_thread(validator.enforce, spec.language, spec.files)

`enforce` raises CodeRejected on a deny. A check takes milliseconds for ordinary programs but
may use its whole time budget (2 s) on hostile ones, hence a thread, not the event loop.

A syntax error is not a rejection: the compiler or interpreter reports it; validation reports
whatever it can still see. Input over the size, depth or time limits is refused with
ValidationLimitExceeded (a CodeRejected), never a hang or a crash.
"""

from __future__ import annotations

from collections.abc import Sequence

from lib.languages import resolve
from lib.protocol import SourceFile
from lib.validation import python, treesitter
from lib.validation.limits import Deadline, Limits
from lib.validation.policy import (
    DEFAULT_POLICY,
    RULES,
    Action,
    Policy,
    PolicyError,
    Rule,
    load_policy,
)
from lib.validation.violations import (
    CODE_REJECTED,
    CodeRejected,
    Finding,
    ValidationLimitExceeded,
    Violation,
)

__all__ = [
    "CODE_REJECTED",
    "DEFAULT_POLICY",
    "RULES",
    "Action",
    "CodeRejected",
    "Limits",
    "Policy",
    "PolicyError",
    "Rule",
    "ValidationLimitExceeded",
    "Validator",
    "Violation",
    "load_policy",
]


# Data files (bytes that are not UTF-8 text, lib.files) are never parsed; what could still load
# them as code: any of them, for C's and C++'s preprocessor (`#include "blob"`); for Python, the
# import system's native and bytecode suffixes (importlib.machinery.all_suffixes()); for Node, a
# native addon. Rust's include! needs UTF-8, and include_bytes! is data.
PYTHON_LOADABLE = (".so", ".pyd", ".pyc", ".pyo")


def data_findings(language: str, names: Sequence[str]) -> list[Finding]:
    findings = []
    for name in names:
        if language in ("c", "cpp"):
            subject = f"{name}, a file that is not text, which #include would read unchecked"
            findings.append(Finding(f"{language}.data-file", subject, 1, 1, name))
        elif language == "python" and name.endswith(PYTHON_LOADABLE):
            subject = f"{name}, a file `import` would load as native code or bytecode"
            findings.append(Finding("py.ctypes", subject, 1, 1, name))
        elif language == "javascript" and name.endswith(".node"):
            subject = f"{name}, a native addon `require` would load"
            findings.append(Finding("js.process-binding", subject, 1, 1, name))
    return findings


class Validator:
    """Checks a job's files against a policy. Holds no per-call state; safe to share."""

    def __init__(self, policy: Policy = DEFAULT_POLICY, limits: Limits | None = None) -> None:
        self.policy = policy
        self.limits = limits or Limits()

    def check(self, language: str, files: Sequence[SourceFile]) -> list[Violation]:
        """Every finding whose rule is not off, in file order, then line and column.

        `language` is a name or alias from lib.languages. Raises ValidationLimitExceeded when
        the files are too large, too deeply nested or too slow to check.
        """
        name = resolve(language).name
        if not self.policy.active(name):
            return []  # nothing to look for: do not even parse
        texts = [f for f in files if f.encoding == "utf8"]
        self.limits.check_size(sum(len(f.content.encode("utf-8", "surrogatepass")) for f in texts))
        deadline = Deadline(self.limits.time_budget_s)
        findings = data_findings(name, [f.name for f in files if f.encoding != "utf8"])
        if name == "python":
            findings += python.check(texts, self.limits, deadline)
        else:
            findings += treesitter.check(name, texts, self.limits, deadline)
        return self._judge(findings, [f.name for f in files])

    def enforce(self, language: str, files: Sequence[SourceFile]) -> list[Violation]:
        """Check, raise CodeRejected if any violation is a deny, else return the warnings.

        Code over a limit is refused (ValidationLimitExceeded) only where some rule of the
        language denies: a policy that only warns never blocks a job, so there it is let through
        unchecked, as it would be with validation off.
        """
        try:
            violations = self.check(language, files)
        except ValidationLimitExceeded:
            if self.policy.denies(resolve(language).name):
                raise
            return []
        if any(v.action == Action.DENY for v in violations):
            raise CodeRejected(violations)
        return violations

    def _judge(self, findings: list[Finding], order: list[str]) -> list[Violation]:
        rank = {name: i for i, name in enumerate(order)}
        seen: set[tuple[str, str, int, int]] = set()
        violations = []
        for f in sorted(findings, key=lambda f: (rank.get(f.file, 0), f.line, f.col, f.rule)):
            action = self.policy[f.rule]
            key = (f.rule, f.file, f.line, f.col)
            if action == Action.OFF or key in seen:
                continue
            seen.add(key)
            message = f"{f.subject} ({RULES[f.rule].description})"
            violations.append(Violation(f.rule, message, f.line, f.col, action, f.file))
        return violations
