"""Summaries of timing samples: min, percentiles, max."""

from __future__ import annotations

import math
from collections.abc import Sequence

STATS = ("min", "p50", "p90", "p99", "max", "mean")


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between the two nearest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


Summary = dict[str, float | int | None]


def summary(samples: Sequence[float], *, missed: int = 0) -> Summary:
    """n, missed, min, p50, p90, p99, max and mean of the samples (None when there are none)."""
    if not samples:
        return {"n": 0, "missed": missed, **dict.fromkeys(STATS)}
    return {
        "n": len(samples),
        "missed": missed,
        "min": min(samples),
        "p50": percentile(samples, 50),
        "p90": percentile(samples, 90),
        "p99": percentile(samples, 99),
        "max": max(samples),
        "mean": sum(samples) / len(samples),
    }
