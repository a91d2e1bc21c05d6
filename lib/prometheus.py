"""The Prometheus text exposition format, version 0.0.4. Pure: no I/O, no metric of ours.

https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4"
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


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return INF if value > 0 else "-Inf"
    return repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def sample(name: str, labels: Mapping[str, str], value: float) -> str:
    """One sample line: `name{a="x",b="y"} value`."""
    if not labels:
        return f"{name} {_number(value)}"
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {_number(value)}"


def family(name: str, kind: str, help_text: str, samples: Sequence[str]) -> list[str]:
    # HELP text escapes only backslash and newline (exposition format 0.0.4).
    escaped = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    return [f"# HELP {name} {escaped}", f"# TYPE {name} {kind}", *samples]


def histogram_samples(
    name: str, labels: Mapping[str, str], hist: Histogram, bounds: Sequence[float]
) -> list[str]:
    lines = [sample(f"{name}_bucket", {**labels, "le": at}, n) for at, n in hist.cumulative(bounds)]
    return [
        *lines,
        sample(f"{name}_sum", labels, hist.sum),
        sample(f"{name}_count", labels, hist.count),
    ]


def gauge(name: str, help_text: str, value: float) -> list[str]:
    return family(name, "gauge", help_text, [sample(name, {}, value)])
