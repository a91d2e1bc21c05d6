"""Order statistics and millisecond formatting shared by the benchmarks (pure)."""

from __future__ import annotations

import statistics


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def quantile(xs: list[float], q: int) -> float | None:
    """The q-th percentile (inclusive method); the only value for a single sample."""
    if len(xs) < 2:
        return xs[0] if xs else None
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
