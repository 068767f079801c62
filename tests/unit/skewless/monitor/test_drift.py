"""PSI and Jensen-Shannon over baseline-quantile bins, held to a brute-force computation on
data small enough for the KLL sketch to be exact."""

from __future__ import annotations

import bisect
import math
import random

import numpy as np
import pytest
from datasketches import kll_doubles_sketch

from skewless.monitor.drift import PSI_FLOOR, js_divergence, psi, shares, split_points


def sketch(values: list[float]) -> kll_doubles_sketch:
    s = kll_doubles_sketch(200)
    for v in values:
        s.update(v)
    return s


def brute_edges(values: list[float], bins: int = 10) -> list[float]:
    """The baseline's quantiles at i/bins: the smallest value with at least that share below it."""
    ordered = sorted(values)
    return sorted({ordered[math.floor(i / bins * len(ordered))] for i in range(1, bins)})


def brute_shares(values: list[float], edges: list[float]) -> list[float]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect.bisect_right(edges, v)] += 1  # bins (-inf, e1), [e1, e2), ..., [ek, inf)
    return [c / len(values) for c in counts]


def brute_psi(p: list[float], q: list[float]) -> float:
    total = 0.0
    for a, b in zip(p, q):
        a, b = max(a, PSI_FLOOR), max(b, PSI_FLOOR)
        total += (b - a) * math.log(b / a)
    return total


def brute_js(p: list[float], q: list[float]) -> float:
    total = 0.0
    for a, b in zip(p, q):
        m = (a + b) / 2
        total += (a * math.log2(a / m) if a else 0.0) / 2 + (b * math.log2(b / m) if b else 0.0) / 2
    return total


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shift", [0.0, 0.5, 3.0])
def test_drift_equals_the_brute_force_on_small_data(seed: int, shift: float) -> None:
    rng = random.Random(seed)
    baseline = [round(rng.gauss(0, 1), 2) for _ in range(150)]
    window = [round(rng.gauss(shift, 1), 2) for _ in range(60)]
    edges = split_points(sketch(baseline))
    assert edges == brute_edges(baseline)
    p, q = shares(sketch(baseline), edges), shares(sketch(window), edges)
    assert p.tolist() == pytest.approx(brute_shares(baseline, edges))
    assert q.tolist() == pytest.approx(brute_shares(window, edges))
    assert psi(p, q) == pytest.approx(brute_psi(p.tolist(), q.tolist()))
    assert js_divergence(p, q) == pytest.approx(brute_js(p.tolist(), q.tolist()), abs=1e-12)


def test_a_discrete_feature_gets_one_bin_per_value() -> None:
    values = [1.0] * 50 + [2.0] * 30 + [3.0] * 20
    edges = split_points(sketch(values))
    assert edges == [1.0, 2.0, 3.0] == brute_edges(values)  # the repeated deciles collapse
    assert shares(sketch(values), edges).tolist() == pytest.approx([0.0, 0.5, 0.3, 0.2])


def test_the_bounds_of_the_measures() -> None:
    same = np.array([0.25, 0.25, 0.5])
    assert psi(same, same) == 0.0 and js_divergence(same, same) == 0.0
    apart_p, apart_q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert js_divergence(apart_p, apart_q) == pytest.approx(1.0)  # base 2: disjoint is 1
    assert math.isfinite(psi(apart_p, apart_q))  # the floor keeps an empty bin finite
