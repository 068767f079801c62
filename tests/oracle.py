"""Brute-force reference: feature values recomputed from raw events, with no tiles and no state.

Shares nothing with the engine but the window definition from the design contract (the
value at instant t covers events with event time in [floor(t/H)*H - W + H, t]) and the
documented semantics of each operation (docs/operations.md):

- events are ordered by (event time, value): first/last/last_n break time ties by value;
- variance and stddev are population statistics (divide by n);
- last_n lists the n latest values newest first;
- a percentile is the value of rank floor(q*(n-1)) in ascending order (numpy's "lower").

For the sketches (approx_count_distinct, approx_percentile, and count_distinct past its
cap) the oracle gives the exact answer, and `agrees` checks the documented error bound.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

from skewless.operations import OPERATIONS
from skewless.spec import FeatureSpec

Pair = tuple[int, float]  # (event time ms, value)

# Defaults documented by the operations; the bounds below depend on them.
DEFAULTS: dict[str, dict[str, float | int]] = {
    "count_distinct": {"max_size": 10_000},
    "approx_count_distinct": {"precision": 12},
    "approx_percentile": {"relative_accuracy": 0.01, "max_buckets": 2048},
}
SIGMAS = 4.0  # sketch results must lie within this many standard errors


def window_start(spec: FeatureSpec, t: int) -> int | float:
    if spec.window_ms is None or spec.hop_ms is None:
        return float("-inf")  # lifetime
    return (t // spec.hop_ms) * spec.hop_ms - spec.window_ms + spec.hop_ms


def window_pairs(spec: FeatureSpec, events: Iterable[tuple[int, dict[str, Any]]], t: int) -> list[Pair]:
    lo = window_start(spec, t)
    return [(ts, None if spec.column is None else row.get(spec.column)) for ts, row in events if lo <= ts <= t]


def params_of(op: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {**DEFAULTS.get(op, {}), **(params or {})}


def exact(op: str, pairs: Sequence[Pair], params: Mapping[str, Any] | None = None) -> Any:
    """The exact value of `op` over the events (event time, value), in any order."""
    p = params_of(op, params)
    values = [v for _, v in pairs]
    n = len(values)
    if op == "count":
        return n
    if op == "sum":
        return math.fsum(values)
    if op == "avg":
        return math.fsum(values) / n if n else None
    if op == "max":
        return max(values) if values else None
    if op == "min":
        return min(values) if values else None
    if op in ("variance", "stddev"):
        if not n:
            return None
        mean = math.fsum(values) / n
        dev = [v - mean for v in values]
        # Corrected two-pass: exact sums, minus the rounding left in the mean.
        var = max(0.0, (math.fsum(d * d for d in dev) - math.fsum(dev) ** 2 / n) / n)
        return var if op == "variance" else math.sqrt(var)
    ordered = sorted(pairs)
    if op == "first":
        return ordered[0][1] if ordered else None
    if op == "last":
        return ordered[-1][1] if ordered else None
    if op == "last_n":
        return [v for _, v in reversed(ordered[max(0, len(ordered) - int(p["n"])) :])]
    if op in ("count_distinct", "approx_count_distinct"):
        return len(set(values))
    if op == "approx_percentile":
        return sorted(values)[math.floor(p["q"] * (n - 1))] if n else None
    raise ValueError(op)


def within_bound(op: str, got: Any, pairs: Sequence[Pair], params: Mapping[str, Any] | None = None) -> bool:
    """Whether `got` is the exact value (exact ops, to 1e-9 relative) or within the
    documented error bound (sketches), and of the right result type."""
    if not type_ok(op, got):
        return False
    p = params_of(op, params)
    want = exact(op, pairs, p)
    if op == "count_distinct":
        if want <= p["max_size"]:
            return got == want
        # The K-minimum-values estimate is (k-1)/U, U the k-th smallest of n uniform hashes:
        # U ~ Beta(k, n-k+1). Bound U, not the estimate: 1/U's upper tail is long for small k.
        k, n = p["max_size"], want
        mean, sd = k / (n + 1), math.sqrt(k * (n - k + 1) / ((n + 1) ** 2 * (n + 2)))
        return got > k and abs((k - 1) / got - mean) <= SIGMAS * sd + 1 / n
    if op == "approx_count_distinct":
        sigma = 1.04 / math.sqrt(2 ** p["precision"])
        # +1: at tiny counts one register collision is one unit off, below any sigma.
        return abs(got - want) <= SIGMAS * sigma * want + 1
    if op == "approx_percentile":
        if want is None or got is None:
            return got is want
        values = [v for _, v in pairs]
        a, m = p["relative_accuracy"], int(p["max_buckets"])
        slack = 1e-9 * abs(want) + 1e-300
        bound = a * abs(want) + slack
        # DDSketch (sketches-java): each sign's store keeps at most m bins (a factor gamma each):
        # the positive store those up from its highest value, the negative one those out from its
        # value of least magnitude. Values beyond fold into the last bin kept: they move up, never
        # down, so only a low quantile can be off, and only upwards (to about that bin). In logs:
        # gamma ** m overflows a float at the larger max_buckets.
        span = (m - 2) * math.log((1 + a) / (1 - a))
        step = math.log((1 + a) / (1 - a))
        upper = want + bound
        if want > 0:
            top = math.log(max(v for v in values if v > 0))
            if top - math.log(want) > span:
                upper = max(upper, math.exp(top - span + 3 * step))
        elif want < 0:
            least = math.log(min(-v for v in values if v < 0))
            if math.log(-want) - least > span:
                upper = max(upper, -math.exp(least + span - 2 * step))
        return want - bound <= got <= upper
    if op in ("first", "last", "last_n", "count", "min", "max"):
        return got == want
    return close(got, want)


def type_ok(op: str, got: Any) -> bool:
    kind = OPERATIONS[op].value_type
    if kind == "long":
        return type(got) is int
    if kind == "double":
        return got is None or type(got) is float
    return type(got) is list and all(type(v) is float for v in got)


def feature_value(spec: FeatureSpec, events: Iterable[tuple[int, dict[str, Any]]], t: int) -> Any:
    """The exact value of a feature at instant t (for sketches: the exact answer they estimate)."""
    return exact(spec.op, window_pairs(spec, events, t), spec.param)


def values_at(
    features: Sequence[FeatureSpec], events: Sequence[tuple[int, dict[str, Any]]], t: int
) -> tuple[Any, ...]:
    return tuple(feature_value(f, events, t) for f in features)


def agrees(spec: FeatureSpec, got: Any, events: Sequence[tuple[int, dict[str, Any]]], t: int) -> bool:
    """Whether a feature's value at t is the oracle's (sketches: within their bound)."""
    return within_bound(spec.op, got, window_pairs(spec, events, t), spec.param)


def values_agree(
    features: Sequence[FeatureSpec], got: Sequence[Any], events: Sequence[tuple[int, dict[str, Any]]], t: int
) -> bool:
    return len(got) == len(features) and all(agrees(f, g, events, t) for f, g in zip(features, got))


def close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
