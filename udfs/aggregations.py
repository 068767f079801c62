"""Aggregations as small pure objects: init / add / merge / result.

An accumulator is a plain, picklable value (None, numbers, tuples, frozensets, dicts,
bytes), because tiles live in Flink keyed state, pickled per entity. Tiles hold one
accumulator per feature; `merge` combines tiles into a window value. No Flink imports.

The contract every operation here keeps (and `tests/unit/udfs/test_aggregations.py`
proves against the brute-force oracle in `tests/oracle.py`):

- `merge` is associative and commutative, with `init()` as its identity, so tiles may be
  merged in any order and any grouping. Exact operations give the same result for any
  grouping (to float rounding for sums, averages and variances); the sketches give the
  *identical* accumulator for any grouping, so their error never depends on tiling.
- `add(acc, value, ts)` equals `merge(acc, <one-event accumulator>)`.
- Neither `add` nor `merge` mutates its arguments.
- Inputs are floats (the decoder casts numeric columns) and not NaN. `-0.0` counts as
  `0.0` everywhere.

Event order (first, last, last_n): events are ordered by the pair (event time ms, value),
so events with the same event time are ordered by value, ascending. The order never
depends on arrival or on tiling.

Results: "long" -> int; "double" -> float, or None over an empty window (sum gives 0.0);
"list<double>" -> list of floats, newest first, [] over an empty window.
"""

from __future__ import annotations

import bisect
import math
import struct
from typing import Any, ClassVar, Mapping, Protocol

from skewless.errors import SpecError
from skewless.operation_params import REQUIRED, check_params, params_of
from skewless.spec import OPERATIONS as VALUE_TYPES
from skewless.spec import FeatureSpec


class Aggregation(Protocol):
    name: str
    value_type: str  # as in skewless.spec.OPERATIONS

    def init(self) -> Any: ...

    def add(self, acc: Any, value: float, ts: int) -> Any: ...

    def merge(self, a: Any, b: Any) -> Any: ...

    def result(self, acc: Any) -> float | int | list[float] | None: ...


class _Operation:
    """Base of every operation: its parameters are PARAMS (name -> (default, check)), checked by
    skewless.operation_params, which the feature DSL checks definitions against too."""

    name: ClassVar[str]
    PARAMS: ClassVar[dict[str, tuple[Any, Any]]] = {}  # from skewless.operation_params.PARAMS

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Any:
        return cls(**check_params(cls.name, params))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.PARAMS)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, k) == getattr(other, k) for k in self.PARAMS)

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(getattr(self, k) for k in self.PARAMS)))


# --- exact, scalar ----------------------------------------------------------------


class Count(_Operation):
    """Number of events. acc: int."""

    name = "count"
    value_type = "long"

    def init(self) -> int:
        return 0

    def add(self, acc: int, value: float, ts: int) -> int:
        return acc + 1

    def merge(self, a: int, b: int) -> int:
        return a + b

    def result(self, acc: int) -> int:
        return acc


def _neumaier(acc: tuple[float, float], value: float) -> tuple[float, float]:
    total, comp = acc
    new = total + value
    if math.fabs(total) >= math.fabs(value):
        comp += (total - new) + value
    else:
        comp += (value - new) + total
    return (new, comp)


class Sum(_Operation):
    """Sum with Neumaier compensation, so tile order does not change the result's digits.

    acc: (total, compensation). 0.0 over an empty window.
    """

    name = "sum"
    value_type = "double"

    def init(self) -> tuple[float, float]:
        return (0.0, 0.0)

    def add(self, acc: tuple[float, float], value: float, ts: int) -> tuple[float, float]:
        return _neumaier(acc, value)

    def merge(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        total, comp = _neumaier(a, b[0])
        return (total, comp + b[1])

    def result(self, acc: tuple[float, float]) -> float:
        return float(acc[0] + acc[1])


class Avg(_Operation):
    """Mean. acc: (total, compensation, count)."""

    name = "avg"
    value_type = "double"

    def init(self) -> tuple[float, float, int]:
        return (0.0, 0.0, 0)

    def add(self, acc: tuple[float, float, int], value: float, ts: int) -> tuple[float, float, int]:
        total, comp = _neumaier((acc[0], acc[1]), value)
        return (total, comp, acc[2] + 1)

    def merge(self, a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float, int]:
        total, comp = _neumaier((a[0], a[1]), b[0])
        return (total, comp + b[1], a[2] + b[2])

    def result(self, acc: tuple[float, float, int]) -> float | None:
        return float((acc[0] + acc[1]) / acc[2]) if acc[2] else None


class Max(_Operation):
    """Largest value. acc: float or None."""

    name = "max"
    value_type = "double"

    def init(self) -> float | None:
        return None

    def add(self, acc: float | None, value: float, ts: int) -> float:
        value = float(value) + 0.0
        return value if acc is None or value > acc else acc

    def merge(self, a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else max(a, b)

    def result(self, acc: float | None) -> float | None:
        return acc


class Min(_Operation):
    """Smallest value. acc: float or None."""

    name = "min"
    value_type = "double"

    def init(self) -> float | None:
        return None

    def add(self, acc: float | None, value: float, ts: int) -> float:
        value = float(value) + 0.0
        return value if acc is None or value < acc else acc

    def merge(self, a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else min(a, b)

    def result(self, acc: float | None) -> float | None:
        return acc


Moments = tuple[int, float, float]  # (count, mean, sum of squared deviations from the mean)


class Variance(_Operation):
    """Population variance (divides by n, numpy's default ddof=0): 0.0 for one event,
    None for none.

    acc: (n, mean, M2), combined with the parallel algorithm of Chan, Golub and LeVeque
    (1979), which never subtracts two large sums, so it keeps its precision when the
    mean is large next to the spread. `add` is the same update with a one-event side.
    """

    name = "variance"
    value_type = "double"

    def init(self) -> Moments:
        return (0, 0.0, 0.0)

    def add(self, acc: Moments, value: float, ts: int) -> Moments:
        return self.merge(acc, (1, float(value), 0.0))

    def merge(self, a: Moments, b: Moments) -> Moments:
        na, ma, sa = a
        nb, mb, sb = b
        if nb == 0:
            return a
        if na == 0:
            return b
        n = na + nb
        delta = mb - ma
        mean = ma + delta * (nb / n)
        return (n, mean, sa + sb + delta * delta * (na * nb / n))

    def result(self, acc: Moments) -> float | None:
        n, _, m2 = acc
        return float(max(m2, 0.0) / n) if n else None


class StdDev(Variance):
    """Population standard deviation: the square root of `variance`, same accumulator."""

    name = "stddev"

    def result(self, acc: Moments) -> float | None:
        var = super().result(acc)
        return None if var is None else math.sqrt(var)


# --- exact, ordered by (event time, value) ----------------------------------------

Stamped = tuple[int, float]  # (event time ms, value)


class First(_Operation):
    """The value of the earliest event; ties on event time go to the smallest value.

    acc: (ts, value) or None. merge keeps the smaller pair.
    """

    name = "first"
    value_type = "double"

    def init(self) -> Stamped | None:
        return None

    def add(self, acc: Stamped | None, value: float, ts: int) -> Stamped:
        return self.merge(acc, (int(ts), float(value) + 0.0))

    def merge(self, a: Stamped | None, b: Stamped | None) -> Stamped | None:
        return b if a is None else a if b is None else min(a, b)

    def result(self, acc: Stamped | None) -> float | None:
        return None if acc is None else acc[1]


class Last(_Operation):
    """The value of the latest event; ties on event time go to the largest value.

    acc: (ts, value) or None. merge keeps the larger pair.
    """

    name = "last"
    value_type = "double"

    def init(self) -> Stamped | None:
        return None

    def add(self, acc: Stamped | None, value: float, ts: int) -> Stamped:
        return self.merge(acc, (int(ts), float(value) + 0.0))

    def merge(self, a: Stamped | None, b: Stamped | None) -> Stamped | None:
        return b if a is None else a if b is None else max(a, b)

    def result(self, acc: Stamped | None) -> float | None:
        return None if acc is None else acc[1]


class LastN(_Operation):
    """The values of the `n` latest events, newest first (so index i is always the i-th
    most recent); fewer when the window holds fewer, [] when it is empty. Events are
    ordered by (event time, value), so the last of several same-time events is the
    largest. Equal events all count (a multiset).

    acc: tuple of at most n (ts, value) pairs, ascending. Param n in [1, 1000].
    """

    name = "last_n"
    value_type = "list<double>"
    PARAMS = params_of("last_n")

    def __init__(self, n: int) -> None:
        self.n = n

    def init(self) -> tuple[Stamped, ...]:
        return ()

    def add(self, acc: tuple[Stamped, ...], value: float, ts: int) -> tuple[Stamped, ...]:
        item = (int(ts), float(value) + 0.0)
        if len(acc) >= self.n and item <= acc[0]:
            return acc
        i = bisect.bisect_right(acc, item)
        out = acc[:i] + (item,) + acc[i:]
        return out[-self.n :]

    def merge(self, a: tuple[Stamped, ...], b: tuple[Stamped, ...]) -> tuple[Stamped, ...]:
        if not b:
            return a
        if not a:
            return b
        return tuple(sorted(a + b)[-self.n :])

    def result(self, acc: tuple[Stamped, ...]) -> list[float]:
        return [v for _, v in reversed(acc)]


# --- distinct counts --------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")
_UINT64 = struct.Struct("<Q")


def hash64(value: float) -> int:
    """A stable 64-bit hash of a float, the same in every process and on every run.

    The IEEE-754 bits of the value (-0.0 as 0.0, every NaN as one NaN) pass through the
    SplitMix64 finalizer, a bijection on 64-bit integers: distinct floats never collide.
    """
    value = float(value) + 0.0
    bits = 0x7FF8000000000000 if value != value else _UINT64.unpack(_DOUBLE.pack(value))[0]
    z = (bits + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


Distinct = tuple[bool, frozenset[int]]  # (saturated, hashes)


class CountDistinct(_Operation):
    """Exact number of distinct values, up to `max_size` of them (default 10,000).

    acc: (saturated, frozenset of `hash64` of the values). The hash is a bijection, so
    while the window holds at most `max_size` distinct values the count is exact.
    Beyond that the set keeps only the `max_size` smallest hashes and `saturated` turns
    true: the result is then the K-minimum-values estimate (k-1)/U_k, clamped to at
    least max_size + 1, with relative standard error 1/sqrt(max_size - 2) (1% at the
    default). Keeping the k smallest of a union is associative, so this too is
    independent of tiling. Param max_size in [16, 100000].
    """

    name = "count_distinct"
    value_type = "long"
    PARAMS = params_of("count_distinct")

    def __init__(self, max_size: int = 10_000) -> None:
        self.max_size = max_size

    def init(self) -> Distinct:
        return (False, frozenset())

    def add(self, acc: Distinct, value: float, ts: int) -> Distinct:
        h = hash64(value)
        if h in acc[1]:
            return acc
        return self._cap(acc[0], acc[1] | {h})

    def merge(self, a: Distinct, b: Distinct) -> Distinct:
        if not b[1]:
            return a
        if not a[1]:
            return b
        return self._cap(a[0] or b[0], a[1] | b[1])

    def _cap(self, saturated: bool, hashes: frozenset[int]) -> Distinct:
        if len(hashes) <= self.max_size:
            return (saturated, hashes)
        return (True, frozenset(sorted(hashes)[: self.max_size]))

    def result(self, acc: Distinct) -> int:
        saturated, hashes = acc
        if not saturated:
            return len(hashes)
        k = len(hashes)
        estimate = (k - 1) * 2.0**64 / (max(hashes) + 1)
        return max(self.max_size + 1, round(estimate))


_SPARSE_P = 25  # index bits of the sparse representation
_SPARSE_W = 64 - _SPARSE_P


class ApproxCountDistinct(_Operation):
    """Approximate number of distinct values: a HyperLogLog sketch, `precision` p index
    bits (m = 2^p registers, default p=12), over `hash64` of the values.

    acc: dict {25-bit index: rank} while few registers are set (sparse, as HLL++), then
    bytes of m registers (dense) once more than m/8 sparse entries exist. Either way
    merge is a register-wise max, so the accumulator of a window is identical whatever
    the tiling; the form switches on the same union of indexes whatever the grouping.
    Size: at most ~m/8 small dict entries, then m bytes (4 KiB at p=12).

    Estimate: sparse, linear counting over 2^25 buckets (nearly exact); dense, Ertl's
    improved raw estimator (2017), unbiased over the whole range without empirical bias
    tables. Relative standard error 1.04/sqrt(m): 1.6% at p=12, 0.8% at p=14.
    Param precision in [4, 16].
    """

    name = "approx_count_distinct"
    value_type = "long"
    PARAMS = params_of("approx_count_distinct")

    def __init__(self, precision: int = 12) -> None:
        self.precision = p = precision
        self.m = 1 << p
        self.q = 64 - p  # registers hold 0..q+1
        self.sparse_limit = max(1, self.m // 8)
        self._high = int.from_bytes(b"\x80" * self.m, "little")
        self._lanes = int.from_bytes(b"\xff" * self.m, "little")

    @property
    def standard_error(self) -> float:
        return 1.04 / math.sqrt(self.m)

    def init(self) -> dict[int, int]:
        return {}

    def add(self, acc: dict[int, int] | bytes, value: float, ts: int) -> dict[int, int] | bytes:
        h = hash64(value)
        if isinstance(acc, bytes):
            idx = h >> self.q
            rank = self.q - (h & ((1 << self.q) - 1)).bit_length() + 1
            if acc[idx] >= rank:
                return acc
            out = bytearray(acc)
            out[idx] = rank
            return bytes(out)
        idx = h >> _SPARSE_W
        rank = _SPARSE_W - (h & ((1 << _SPARSE_W) - 1)).bit_length() + 1
        if acc.get(idx, 0) >= rank:
            return acc
        out = dict(acc)
        out[idx] = rank
        return self._densify(out) if len(out) > self.sparse_limit else out

    def merge(self, a: dict[int, int] | bytes, b: dict[int, int] | bytes) -> dict[int, int] | bytes:
        if isinstance(a, bytes) and isinstance(b, bytes):
            return self._max(a, b)
        if isinstance(a, bytes):
            return self._max(a, self._densify(b)) if b else a  # type: ignore[arg-type]
        if isinstance(b, bytes):
            return self._max(self._densify(a), b) if a else b
        if not b:
            return a
        if not a:
            return b
        out = dict(a)
        for idx, rank in b.items():
            if out.get(idx, 0) < rank:
                out[idx] = rank
        return self._densify(out) if len(out) > self.sparse_limit else out

    def _densify(self, sparse: dict[int, int]) -> bytes:
        """The dense registers the sparse entries' hashes would have set."""
        shift = _SPARSE_P - self.precision
        low = (1 << shift) - 1
        regs = bytearray(self.m)
        for idx, rank in sparse.items():
            rest = idx & low
            r = shift - rest.bit_length() + 1 if rest else shift + rank
            i = idx >> shift
            if regs[i] < r:
                regs[i] = r
        return bytes(regs)

    def _max(self, a: bytes, b: bytes) -> bytes:
        """Register-wise max of two register arrays, 8 bits a lane in one big integer.

        Registers are < 128, so (a | 0x80) - b never borrows across lanes and its high
        bit says a >= b.
        """
        x = int.from_bytes(a, "little")
        y = int.from_bytes(b, "little")
        ge = (((x | self._high) - y) & self._high) >> 7
        mask = ge * 0xFF
        return ((x & mask) | (y & (self._lanes ^ mask))).to_bytes(self.m, "little")

    def estimate(self, acc: dict[int, int] | bytes) -> float:
        if not isinstance(acc, bytes):
            buckets = 1 << _SPARSE_P
            return buckets * math.log(buckets / (buckets - len(acc))) if acc else 0.0
        m, q = self.m, self.q
        counts = [acc.count(k) for k in range(q + 2)]
        z = m * _tau(1.0 - counts[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        return m * m / (2.0 * math.log(2.0)) / z

    def result(self, acc: dict[int, int] | bytes) -> int:
        return round(self.estimate(acc))


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        z_old = z
        z += x * y
        y += y
        if z == z_old:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        z_old = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == z_old:
            return z / 3.0


# --- quantiles ----------------------------------------------------------------------

_KEY_OFFSET = 1 << 21  # |bucket index| of any finite float, for relative accuracy >= 0.001
Quantiles = tuple[dict[int, int], float, float]  # (bucket counts, min, max)


class ApproxPercentile(_Operation):
    """The q-quantile of the values: a DDSketch (Masson, Rim and Lee, 2019).

    The exact q-quantile is the value of rank floor(q*(n-1)) in ascending order (0-based;
    numpy's method="lower"); q=0 gives the min and q=1 the max, both exactly. Any other
    result x~ obeys |x~ - x| <= relative_accuracy * |x|: a deterministic guarantee, not
    a probability. None over an empty window.

    Values fall in logarithmic buckets (gamma^(i-1), gamma^i] with gamma = (1+a)/(1-a),
    mirrored for negatives, plus an exact zero bucket; the answer is the bucket's centre,
    clamped to [min, max]. acc: ({signed bucket key: count}, min, max), keys ordered like
    the values. merge adds counts, so it is exact and order-free. Past `max_buckets`
    non-empty buckets the lowest ones fold into the lowest bucket kept: quantiles whose
    value lies in the kept buckets keep the guarantee, lower ones are overestimated
    (never below x*(1-a) for positive x, clamped to the max). Folding "the k highest"
    of a union is associative, so results stay independent of tiling.

    Params: q in [0, 1] (required); relative_accuracy in [0.001, 0.2] (default 0.01);
    max_buckets in [16, 65536] (default 2048; at 1% one side spans 2048 buckets = 18
    orders of magnitude).
    """

    name = "approx_percentile"
    value_type = "double"
    PARAMS = params_of("approx_percentile")

    def __init__(self, q: float, relative_accuracy: float = 0.01, max_buckets: int = 2048) -> None:
        self.q = q
        self.relative_accuracy = relative_accuracy
        self.max_buckets = max_buckets
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._log_gamma = math.log(self._gamma)

    def key(self, value: float) -> int:
        """The bucket of a value: 0 for zero, +-(index + offset) by sign, order-preserving."""
        if value == 0.0:
            return 0
        i = math.ceil(math.log(abs(value)) / self._log_gamma)
        k = min(max(i + _KEY_OFFSET, 1), 2 * _KEY_OFFSET)
        return k if value > 0 else -k

    def centre(self, key: int) -> float:
        if key == 0:
            return 0.0
        i = abs(key) - _KEY_OFFSET
        try:
            v = 2.0 * math.exp(i * self._log_gamma) / (self._gamma + 1.0)
        except OverflowError:
            v = math.inf
        return v if key > 0 else -v

    def init(self) -> Quantiles:
        return ({}, math.inf, -math.inf)

    def add(self, acc: Quantiles, value: float, ts: int) -> Quantiles:
        value = float(value) + 0.0
        buckets = dict(acc[0])
        k = self.key(value)
        buckets[k] = buckets.get(k, 0) + 1
        return (self._fold(buckets), min(acc[1], value), max(acc[2], value))

    def merge(self, a: Quantiles, b: Quantiles) -> Quantiles:
        if not b[0]:
            return a
        if not a[0]:
            return b
        buckets = dict(a[0])
        for k, c in b[0].items():
            buckets[k] = buckets.get(k, 0) + c
        return (self._fold(buckets), min(a[1], b[1]), max(a[2], b[2]))

    def _fold(self, buckets: dict[int, int]) -> dict[int, int]:
        """Keep the `max_buckets` highest buckets; the lower ones' counts join the lowest kept."""
        if len(buckets) <= self.max_buckets:
            return buckets
        keys = sorted(buckets)
        cut = len(keys) - self.max_buckets
        floor = keys[cut]
        kept = {k: buckets[k] for k in keys[cut:]}
        kept[floor] += sum(buckets[k] for k in keys[:cut])
        return kept

    def result(self, acc: Quantiles) -> float | None:
        buckets, lo, hi = acc
        if not buckets:
            return None
        n = sum(buckets.values())
        rank = self.q * (n - 1)
        if rank < 1:
            return lo
        if rank >= n - 1:
            return hi
        seen = 0
        for k in sorted(buckets):
            seen += buckets[k]
            if seen > rank:
                return min(max(self.centre(k), lo), hi)
        return hi  # not reached: counts add up to n


# --- construction -----------------------------------------------------------------

AGGREGATIONS: dict[str, type] = {
    cls.name: cls
    for cls in (
        Count,
        Sum,
        Avg,
        Min,
        Max,
        Variance,
        StdDev,
        First,
        Last,
        LastN,
        CountDistinct,
        ApproxCountDistinct,
        ApproxPercentile,
    )
}
if set(AGGREGATIONS) != set(VALUE_TYPES) or any(c.value_type != VALUE_TYPES[n] for n, c in AGGREGATIONS.items()):
    raise RuntimeError("udfs.aggregations and skewless.spec.OPERATIONS disagree on operations or result types")

# The operations that can be built without parameters, with their defaults.
OPERATIONS: dict[str, Aggregation] = {
    name: cls() for name, cls in AGGREGATIONS.items() if all(d is not REQUIRED for d, _ in cls.PARAMS.values())
}


def build(op: str, params: Mapping[str, Any] | None = None) -> Aggregation:
    """The aggregation `op` with `params` checked and defaulted; SpecError if either is wrong."""
    try:
        cls = AGGREGATIONS[op]
    except KeyError:
        known = ", ".join(sorted(AGGREGATIONS))
        raise SpecError(f"unknown aggregation {op!r}; known: {known}") from None
    return cls.from_params(dict(params or {}))


def operation_for(spec: FeatureSpec) -> Aggregation:
    """The aggregation a feature runs, built from its operation and params."""
    try:
        return build(spec.op, spec.param)
    except SpecError as exc:
        raise SpecError(f"feature {spec.name}: {exc}") from exc


def operation(name: str) -> Aggregation:
    """A parameter-free aggregation (or one whose params all have defaults) by name."""
    return build(name)
