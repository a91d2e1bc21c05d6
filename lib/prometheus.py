"""Histogram buckets: the one an observation falls in, as stored, and the cumulative `le` buckets
Prometheus wants, as rendered. Pure: no I/O, no metric of ours. The exposition formats themselves
come from prometheus_client (lib.metrics).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

INF = "+Inf"


def le(bound: float) -> str:
    """A bucket bound as it is written in the `le` label: `0.005`, `1`, `+Inf`."""
    return INF if math.isinf(bound) else format(bound, "g")


def bucket(value: float, bounds: Sequence[float]) -> str:
    """The `le` of the one bucket `value` falls in: the smallest bound ≥ value, else +Inf."""
    i = bisect.bisect_left(bounds, value)
    return le(bounds[i]) if i < len(bounds) else INF


@dataclass
class Histogram:
    """One histogram series as stored: each bucket's own count by bound, the sum and the count."""

    buckets: dict[float, int] = field(default_factory=dict)
    sum: float = 0.0
    count: int = 0

    def cumulative(self, bounds: Sequence[float]) -> list[tuple[str, int]]:
        """(le, observations ≤ le) for each bound, then +Inf, which is the count."""
        rows = [(le(b), sum(n for at, n in self.buckets.items() if at <= b)) for b in bounds]
        return [*rows, (INF, self.count)]
