"""The bounds on one validation: total size, nesting depth and a wall-clock budget.

Checking hostile input must never hang or crash the gateway: size is refused before parsing,
depth is measured by the (iterative) walks, and the walks and the tree-sitter parser look at the
deadline as they go. Each overrun raises ValidationLimitExceeded with a sentence for the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lib.validation.violations import ValidationLimitExceeded

CHECK_EVERY = 1024  # walks look at the clock once per this many nodes (a power of two)
# Findings kept per file: enough to explain a rejection, and a bound on the work of reporting.
MAX_FINDINGS = 100


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 256 * 1024  # all files of a job together, as UTF-8 (= MAX_CODE_KB)
    # Deeper than any hand-written program (a 300-term `a + b + ...` chain is about 300 levels);
    # CPython's own parser gives up at a few thousand.
    max_depth: int = 1000
    time_budget_s: float = 2.0

    def check_size(self, total_bytes: int) -> None:
        if total_bytes > self.max_bytes:
            raise ValidationLimitExceeded(
                "size",
                f"the code is {total_bytes} bytes; at most {self.max_bytes} can be checked",
            )

    def too_deep(self, file: str, line: int | None = None) -> ValidationLimitExceeded:
        where = f"{file} line {line}" if line else file
        return ValidationLimitExceeded(
            "depth",
            f"{where} nests deeper than {self.max_depth} levels, too deep to be checked",
            file=file,
        )


class Deadline:
    """A wall-clock budget for one check, measured with a monotonic clock."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_s = budget_s
        self._clock = clock
        self._end = clock() + budget_s

    def expired(self) -> bool:
        return self._clock() >= self._end

    def check(self, file: str) -> None:
        if self.expired():
            raise self.exceeded(file)

    def exceeded(self, file: str) -> ValidationLimitExceeded:
        return ValidationLimitExceeded(
            "time", f"{file} could not be checked within {self.budget_s:g} s", file=file
        )
