"""Brute-force reference: feature values recomputed from raw events, with no tiles and no state.

Shares nothing with the engine but the window definition from the design contract:
the value at instant t covers events with event time in [floor(t/H)*H - W + H, t].
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from skewless.spec import FeatureSpec


def window_start(spec: FeatureSpec, t: int) -> int | float:
    if spec.window_ms is None or spec.hop_ms is None:
        return float("-inf")  # lifetime
    return (t // spec.hop_ms) * spec.hop_ms - spec.window_ms + spec.hop_ms


def feature_value(spec: FeatureSpec, events: Iterable[tuple[int, dict[str, Any]]], t: int) -> Any:
    lo = window_start(spec, t)
    values = [row.get(spec.column) for ts, row in events if lo <= ts <= t]
    if spec.op == "count":
        return len(values)
    if spec.op == "sum":
        return float(sum(values)) if values else 0.0
    if spec.op == "avg":
        return sum(values) / len(values) if values else None
    if spec.op == "max":
        return max(values) if values else None
    if spec.op == "min":
        return min(values) if values else None
    raise ValueError(spec.op)


def values_at(
    features: Sequence[FeatureSpec], events: Sequence[tuple[int, dict[str, Any]]], t: int
) -> tuple[Any, ...]:
    return tuple(feature_value(f, events, t) for f in features)


def close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
