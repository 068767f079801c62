"""Every aggregation against the brute-force oracle: any tiling, any merge grouping.

Properties, for every operation and a few parameter choices:
1. events split into tiles in any way, added into tiles and merged in any grouping and
   order give the oracle's value (exact ops to 1e-9, sketches within their bound), and
   the sketches give the very accumulator sequential adds give;
2. merge is associative and commutative with init() as identity, add is a merge with a
   one-event accumulator, and neither mutates its arguments;
3. accumulators survive a pickle round trip, stay within their size bounds, and are the
   same in another process (no salted hashing).
Then the sketches' error statistics over many seeds, parameter checking, and the result
types against the Flink row coder.
"""

from __future__ import annotations

import math
import pickle
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skewless.errors import SpecError
from skewless.spec import OPERATIONS, FeatureSpec, ViewSpec
from tests.oracle import close, exact, within_bound
from udfs.aggregations import (
    AGGREGATIONS,
    ApproxCountDistinct,
    ApproxPercentile,
    CountDistinct,
    build,
    hash64,
    operation,
    operation_for,
)

ROOT = Path(__file__).resolve().parents[3]

CASES: list[tuple[str, dict[str, Any]]] = [
    ("count", {}),
    ("sum", {}),
    ("avg", {}),
    ("min", {}),
    ("max", {}),
    ("variance", {}),
    ("stddev", {}),
    ("first", {}),
    ("last", {}),
    ("last_n", {"n": 1}),
    ("last_n", {"n": 4}),
    ("count_distinct", {}),
    ("count_distinct", {"max_size": 16}),  # saturates: the K-minimum-values estimate
    ("approx_count_distinct", {}),  # p=12: sparse at these sizes
    ("approx_count_distinct", {"precision": 4}),  # dense after 2 registers
    ("approx_percentile", {"q": 0.0}),
    ("approx_percentile", {"q": 0.5}),
    ("approx_percentile", {"q": 0.9, "relative_accuracy": 0.05, "max_buckets": 16}),  # folds
    ("approx_percentile", {"q": 1.0}),
]
IDS = [op + "".join(f"-{k}={v}" for k, v in params.items()) for op, params in CASES]
# Accumulators of float sums: equal across groupings only to rounding.
ROUNDED = {"sum", "avg", "variance", "stddev"}

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(FAST, max_examples=25)

values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, 1e6, 1e-3]),
    st.integers(-1000, 1000).map(float),
)
events = st.lists(st.tuples(st.integers(0, 30), values), max_size=50)


def fold(op: Any, pairs: list[tuple[int, float]]) -> Any:
    acc = op.init()
    for ts, v in pairs:
        acc = op.add(acc, v, ts)
    return acc


def merge_tree(op: Any, accs: list[Any], data: st.DataObject) -> Any:
    """Merge in a grouping and order drawn by hypothesis."""
    if not accs:
        return op.init()
    if len(accs) == 1:
        return accs[0]
    i = data.draw(st.integers(1, len(accs) - 1))
    left, right = merge_tree(op, accs[:i], data), merge_tree(op, accs[i:], data)
    return op.merge(right, left) if data.draw(st.booleans()) else op.merge(left, right)


def results_match(name: str, a: Any, b: Any) -> bool:
    return close(a, b) if name in ROUNDED else a == b


def snapshot(acc: Any) -> bytes:
    return pickle.dumps(acc)


def within_size(op: Any, acc: Any) -> bool:
    if op.name == "last_n":
        return len(acc) <= op.n
    if op.name == "count_distinct":
        return len(acc[1]) <= op.max_size
    if op.name == "approx_count_distinct":
        return len(acc) == op.m if isinstance(acc, bytes) else len(acc) <= op.sparse_limit
    if op.name == "approx_percentile":
        return len(acc[0]) <= op.max_buckets
    return len(pickle.dumps(acc)) < 100


# -- 1. any tiling, any grouping = the oracle -------------------------------------------


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@FAST
@given(pairs=events, data=st.data())
def test_any_tiling_and_grouping_gives_the_oracle(name: str, params: dict, pairs: list, data: st.DataObject) -> None:
    op = build(name, params)
    shuffled = data.draw(st.permutations(pairs))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(pairs)), max_size=8)))
    bounds = [0, *cuts, len(pairs)]
    tiles = [fold(op, shuffled[a:b]) for a, b in zip(bounds, bounds[1:])]
    merged = merge_tree(op, tiles, data)
    got = op.result(merged)
    assert within_bound(name, got, pairs, params), (got, exact(name, pairs, params))
    sequential = fold(op, pairs)
    assert results_match(name, got, op.result(sequential))
    if name not in ROUNDED:  # exact ops and sketches: the very same accumulator
        assert merged == sequential
    assert within_size(op, merged)


@pytest.mark.parametrize(
    ("name", "params"),
    [("approx_count_distinct", {"precision": 8}), ("approx_count_distinct", {}), ("count_distinct", {"max_size": 64})],
    ids=["hll-p8", "hll-p12", "kmv-64"],
)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), size=st.integers(0, 3000), pool=st.integers(1, 5000), data=st.data())
def test_large_sketches_are_tiling_independent(
    name: str, params: dict, seed: int, size: int, pool: int, data: st.DataObject
) -> None:
    """Past the sparse limit and the exact cap: dense registers, saturated sets."""
    rng = random.Random(seed)
    pairs = [(rng.randrange(100), float(rng.randrange(pool))) for _ in range(size)]
    op = build(name, params)
    cuts = sorted(data.draw(st.sets(st.integers(0, size), max_size=6)))
    bounds = [0, *cuts, size]
    merged = merge_tree(op, [fold(op, pairs[a:b]) for a, b in zip(bounds, bounds[1:])], data)
    assert merged == fold(op, pairs)
    assert within_bound(name, op.result(merged), pairs, params)
    assert within_size(op, merged)


# -- 2. merge laws --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@FAST
@given(a=events, b=events, c=events)
def test_merge_is_associative_and_commutative_with_init_as_identity(
    name: str, params: dict, a: list, b: list, c: list
) -> None:
    op = build(name, params)
    x, y, z = fold(op, a), fold(op, b), fold(op, c)
    before = [snapshot(x), snapshot(y), snapshot(z)]
    left = op.merge(op.merge(x, y), z)
    right = op.merge(x, op.merge(y, z))
    swapped = op.merge(z, op.merge(y, x))
    assert [snapshot(x), snapshot(y), snapshot(z)] == before, "merge mutated an argument"
    assert results_match(name, op.result(left), op.result(right))
    assert results_match(name, op.result(left), op.result(swapped))
    if name not in ROUNDED:
        assert left == right == swapped
    assert op.merge(op.init(), x) == x
    assert op.merge(x, op.init()) == x
    assert op.merge(op.init(), op.init()) == op.init()


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@QUICK
@given(pairs=events, ts=st.integers(0, 30), value=values)
def test_add_is_a_merge_with_one_event(name: str, params: dict, pairs: list, ts: int, value: float) -> None:
    op = build(name, params)
    acc = fold(op, pairs)
    before = snapshot(acc)
    added = op.add(acc, value, ts)
    assert snapshot(acc) == before, "add mutated its accumulator"
    merged = op.merge(acc, op.add(op.init(), value, ts))
    assert results_match(name, op.result(added), op.result(merged))
    if name not in ROUNDED:
        assert added == merged


# -- 3. state: pickling, size, other processes ------------------------------------------


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@QUICK
@given(pairs=events)
def test_pickle_round_trip(name: str, params: dict, pairs: list) -> None:
    op = build(name, params)
    acc = fold(op, pairs)
    for protocol in (pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(acc, protocol))
        assert back == acc
        assert results_match(name, op.result(back), op.result(acc))
        assert op.merge(back, acc) == op.merge(acc, acc)
    assert pickle.loads(pickle.dumps(op)) == op


_CHILD = """
import pickle, sys
from udfs.aggregations import build, hash64
values = [float(v) / 7 for v in range(-300, 3000)] + [0.0, -0.0, 1e300, -5e-324]
out = {"hashes": [hash64(v) for v in values]}
for name, params in [("count_distinct", {}), ("count_distinct", {"max_size": 100}),
                     ("approx_count_distinct", {}), ("approx_count_distinct", {"precision": 14}),
                     ("approx_percentile", {"q": 0.5})]:
    op = build(name, params)
    acc = op.init()
    for v in values:
        acc = op.add(acc, v, 0)
    out[name + repr(params)] = (acc, op.result(acc))
sys.stdout.buffer.write(pickle.dumps(out))
"""


def test_hashes_and_sketches_are_the_same_in_every_process() -> None:
    runs = []
    for seed in ("0", "1", "random"):
        env = {"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=ROOT, capture_output=True, check=True)
        runs.append(pickle.loads(proc.stdout))
    assert runs[0] == runs[1] == runs[2]
    here = [hash64(float(v) / 7) for v in range(-300, 3000)]
    assert runs[0]["hashes"][: len(here)] == here


def test_hash64_separates_every_float_but_the_zeros() -> None:
    assert hash64(0.0) == hash64(-0.0)
    assert hash64(1.0) != hash64(-1.0)
    assert hash64(float("nan")) == hash64(-float("nan"))
    neighbours = [math.nextafter(1.0, 2.0), 1.0, math.nextafter(1.0, 0.0)]
    assert len({hash64(v) for v in neighbours}) == 3
    assert all(0 <= hash64(v) < 2**64 for v in (0.0, 1e308, -1e-308, math.inf))


# -- sketch error statistics over many seeds ---------------------------------------------


def _stream(rng: random.Random, n: int, kind: str) -> list[float]:
    if kind == "sequential":  # the most structured input a hash can get
        base = rng.randrange(10**6)
        return [float(base + i) for i in range(n)]
    if kind == "repeated":  # n distinct, each seen 1-3 times
        distinct = [rng.uniform(-1e4, 1e4) for _ in range(n)]
        return [v for v in distinct for _ in range(rng.randint(1, 3))]
    return [rng.uniform(0, 1) for _ in range(n)]


def _relative_errors(op: Any, n: int, kind: str, seeds: int) -> list[float]:
    errors = []
    for seed in range(seeds):
        rng = random.Random(seed * 1_000 + n)
        stream = _stream(rng, n, kind)
        tiles = [fold(op, [(0, v) for v in stream[i::4]]) for i in range(4)]
        acc = op.merge(op.merge(tiles[0], tiles[1]), op.merge(tiles[2], tiles[3]))
        want = len(set(stream))
        errors.append((op.result(acc) - want) / want)
    return errors


@pytest.mark.parametrize("kind", ["sequential", "repeated", "uniform"])
@pytest.mark.parametrize("n", [40, 300, 1000, 5000])
def test_hll_error_within_four_standard_errors_and_unbiased(n: int, kind: str) -> None:
    op = ApproxCountDistinct(precision=8)  # sigma = 1.04/16 = 6.5%: errors big enough to measure
    sigma = op.standard_error
    errors = _relative_errors(op, n, kind, seeds=25)
    assert max(map(abs, errors)) <= 4 * sigma
    rms = math.sqrt(sum(e * e for e in errors) / len(errors))
    assert rms <= 1.5 * sigma  # a wrong estimator (no small-range correction, bad hash) fails here
    assert abs(sum(errors) / len(errors)) <= 4 * sigma / math.sqrt(len(errors))


def test_hll_at_default_precision_is_nearly_exact_while_sparse_and_within_bound_when_dense() -> None:
    op = ApproxCountDistinct()
    for n in (1, 2, 10, 100, op.sparse_limit):
        for seed in range(3):
            acc = fold(op, [(0, v) for v in _stream(random.Random(seed), n, "uniform")])
            assert isinstance(acc, dict) and abs(op.result(acc) - n) <= 1
    errors = _relative_errors(op, 20_000, "sequential", seeds=4)
    assert max(map(abs, errors)) <= 4 * op.standard_error
    assert isinstance(fold(op, [(0, float(i)) for i in range(op.sparse_limit + 1)]), bytes)


@pytest.mark.parametrize("n", [100, 1000, 5000])
def test_count_distinct_past_its_cap_estimates_within_four_standard_errors(n: int) -> None:
    op = CountDistinct(max_size=64)
    sigma = 1 / math.sqrt(62)
    errors = _relative_errors(op, n, "sequential", seeds=25)
    assert max(map(abs, errors)) <= 4 * sigma
    assert math.sqrt(sum(e * e for e in errors) / len(errors)) <= 1.5 * sigma


def test_count_distinct_is_exact_up_to_its_cap() -> None:
    op = CountDistinct(max_size=100)
    acc = fold(op, [(0, float(i % 100)) for i in range(1_000)])
    assert acc[0] is False and op.result(acc) == 100
    acc = op.add(acc, 100.0, 0)
    assert acc[0] is True and len(acc[1]) == 100 and op.result(acc) >= 101


@pytest.mark.parametrize("q", [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0])
def test_percentile_relative_error_bound_on_skewed_data(q: float) -> None:
    for accuracy in (0.01, 0.001):
        op = ApproxPercentile(q=q, relative_accuracy=accuracy)
        for seed in range(5):
            rng = random.Random(seed)
            stream = [rng.lognormvariate(0, 3) * rng.choice([1, 1, 1, -1]) for _ in range(2_000)]
            tiles = [fold(op, [(0, v) for v in stream[i::3]]) for i in range(3)]
            got = op.result(op.merge(tiles[0], op.merge(tiles[1], tiles[2])))
            want = sorted(stream)[math.floor(q * (len(stream) - 1))]
            assert abs(got - want) <= accuracy * abs(want) * (1 + 1e-9), (q, accuracy, got, want)


def test_percentile_folds_low_buckets_and_keeps_high_quantiles() -> None:
    low, high = ApproxPercentile(q=0.01, max_buckets=64), ApproxPercentile(q=0.99, max_buckets=64)
    rng = random.Random(7)
    stream = [10 ** rng.uniform(-6, 6) for _ in range(5_000)]  # ~1400 buckets at 1%
    acc = fold(high, [(0, v) for v in stream])
    assert len(acc[0]) == 64 and sum(acc[0].values()) == len(stream)
    ordered = sorted(stream)
    want_high = ordered[math.floor(0.99 * (len(stream) - 1))]
    assert abs(high.result(acc) - want_high) <= 0.01 * want_high * (1 + 1e-9)
    want_low = ordered[math.floor(0.01 * (len(stream) - 1))]
    assert want_low * (1 - 0.01) <= low.result(acc) <= ordered[-1]  # overestimated, as documented


def test_percentile_extremes_are_exact() -> None:
    op = ApproxPercentile(q=0.0)
    acc = fold(op, [(0, v) for v in (3.3, -7.25, 1e-5, 8.5)])
    assert op.result(acc) == -7.25
    assert ApproxPercentile(q=1.0).result(acc) == 8.5
    assert ApproxPercentile(q=0.5).result(op.init()) is None


# -- exact semantics spelled out ----------------------------------------------------------


def test_first_last_and_last_n_break_time_ties_by_value() -> None:
    pairs = [(5, 2.0), (5, -1.0), (9, 4.0), (9, 3.0), (1, 7.0), (1, 6.0)]
    for order in (pairs, pairs[::-1]):
        assert operation("first").result(fold(operation("first"), order)) == 6.0
        assert operation("last").result(fold(operation("last"), order)) == 4.0
        last3 = build("last_n", {"n": 3})
        assert last3.result(fold(last3, order)) == [4.0, 3.0, 2.0]  # newest first
    assert build("last_n", {"n": 3}).result(()) == []


def test_variance_is_the_population_variance_and_stable_far_from_zero() -> None:
    var, std = operation("variance"), operation("stddev")
    assert var.result(fold(var, [(0, 2.0), (0, 4.0), (0, 4.0), (0, 4.0), (0, 5.0), (0, 5.0), (0, 7.0), (0, 9.0)])) == 4.0
    assert std.result(fold(std, [(0, 2.0), (0, 4.0), (0, 4.0), (0, 4.0), (0, 5.0), (0, 5.0), (0, 7.0), (0, 9.0)])) == 2.0
    assert var.result(fold(var, [(0, 3.0)])) == 0.0 and var.result(var.init()) is None
    # A naive sum-of-squares form loses every digit here; Chan's keeps them.
    pairs = [(0, 1e9 + v) for v in (4.0, 7.0, 13.0, 16.0)]
    assert math.isclose(var.result(fold(var, pairs)), 22.5, rel_tol=1e-12)


# -- construction from the spec -----------------------------------------------------------


def test_every_spec_operation_is_implemented_with_its_result_type() -> None:
    assert set(AGGREGATIONS) == set(OPERATIONS)
    for name, cls in AGGREGATIONS.items():
        assert cls.value_type == OPERATIONS[name]


@pytest.mark.parametrize(
    ("op", "params", "message"),
    [
        ("last_n", {}, "'n' is required"),
        ("last_n", {"n": 0}, "n must be in"),
        ("last_n", {"n": 2.5}, "n must be an integer"),
        ("last_n", {"n": True}, "n must be an integer"),
        ("last_n", {"n": float("inf")}, "n must be an integer"),
        ("approx_percentile", {}, "'q' is required"),
        ("approx_percentile", {"q": 1.5}, "q must be a number in"),
        ("approx_percentile", {"q": 0.5, "accuracy": 0.1}, "unknown parameter(s) accuracy"),
        ("approx_count_distinct", {"precision": 30}, "precision must be in"),
        ("count_distinct", {"max_size": 10**6}, "max_size must be in"),
        ("sum", {"n": 3}, "allowed: none"),
    ],
)
def test_bad_params_are_spec_errors_naming_the_feature(op: str, params: dict, message: str) -> None:
    spec = FeatureSpec("f", op, "amount", 3_600_000, 60_000, params=tuple(params.items()))
    with pytest.raises(SpecError, match=r"^feature f: aggregation " + op) as info:
        operation_for(spec)
    assert message in str(info.value)


def test_operation_for_applies_params_and_defaults() -> None:
    spec = FeatureSpec("p90", "approx_percentile", "amount", None, params=(("q", 0.9),))
    op = operation_for(spec)
    assert (op.q, op.relative_accuracy, op.max_buckets) == (0.9, 0.01, 2048)
    assert operation_for(FeatureSpec("l", "last_n", "amount", None, params=(("n", 5.0),))).n == 5
    assert operation("approx_count_distinct").precision == 12
    assert operation("count").result(3) == 3
    with pytest.raises(SpecError, match="unknown aggregation 'median'"):
        operation("median")
    with pytest.raises(SpecError, match="'n' is required"):
        operation("last_n")


# -- the update row the Flink operator emits ---------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_results_encode_in_the_flink_update_row() -> None:
    pytest.importorskip("pyflink")
    from pyflink.common import Row
    from pyflink.fn_execution.coders import from_type_info

    from udfs.aggregator import update_type

    features = tuple(
        FeatureSpec(f"f{i}", name, None if name == "count" else "amount", None, params=tuple(params.items()))
        for i, (name, params) in enumerate(CASES)
    )
    view = ViewSpec("v", 1, "user", "topic", "ts", features, ttl_ms=1)
    coder = from_type_info(update_type(view)).get_impl()
    ops = [operation_for(f) for f in features]
    for pairs in ([], [(1, 2.5)], [(1, 2.5), (2, -1.0), (2, 4.0)]):
        row = Row("u1", *[op.result(fold(op, pairs)) for op in ops], 1, 2, 3)
        assert tuple(coder.decode(coder.encode(row))) == tuple(row)
