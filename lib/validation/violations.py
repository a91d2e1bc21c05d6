"""What validation reports: findings (what a checker saw), violations (a finding the policy acts
on) and the one error it raises, CodeRejected, with its data on it.

CodeRejected is a RequestError, so the gateway's existing `except RequestError` sends it to the
client as an `error` message with `code` "code_rejected" and closes with 1008.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from lib.codes import CloseCode, ErrorCode
from lib.errors import RequestError
from lib.validation.policy import Action

CODE_REJECTED = "code_rejected"
MAX_LISTED = 5  # findings spelled out in the error message; all of them stay on `violations`

Limit = Literal["size", "depth", "time"]


@dataclass(frozen=True)
class Finding:
    """A construct a checker recognised, before the policy gives it an action."""

    rule: str
    subject: str  # what was seen, e.g. "import subprocess"
    line: int  # 1-based, in the file as the user sent it
    col: int  # 1-based, in characters
    file: str


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    line: int  # 1-based
    col: int  # 1-based, in characters
    action: Action
    file: str = ""

    def describe(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict, for the `violations` of an error message."""
        data = asdict(self)
        data["action"] = str(self.action)
        return data


class CodeRejected(RequestError):
    """The code uses something the policy denies; `violations` lists every finding (warns too)."""

    code = ErrorCode.CODE_REJECTED
    close_code = CloseCode.POLICY_VIOLATION  # RFC 6455 section 7.4.1: "violates its policy"
    http_status = 422  # RFC 9110 section 15.5.21: understood, but cannot be processed

    def __init__(self, violations: Sequence[Violation], message: str | None = None) -> None:
        self.violations = tuple(violations)
        super().__init__(message or _summary(self.violations))


class ValidationLimitExceeded(CodeRejected):
    """The code is too large, too deeply nested or too slow to check; it is refused unchecked."""

    def __init__(self, limit: Limit, message: str, *, file: str | None = None) -> None:
        super().__init__((), message)
        self.limit: Limit = limit
        self.file = file


def _summary(violations: tuple[Violation, ...]) -> str:
    denied = [v for v in violations if v.action == Action.DENY] or list(violations)
    listed = "; ".join(v.describe() for v in denied[:MAX_LISTED])
    more = f"; and {len(denied) - MAX_LISTED} more" if len(denied) > MAX_LISTED else ""
    return f"the code uses something this service does not run: {listed}{more}"
