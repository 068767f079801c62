"""Drift of a window's distribution against a baseline's: PSI and Jensen-Shannon divergence
over shared bins whose edges are the baseline's quantiles.

Both measures compare two probability vectors over the same bins, so the bins decide what
a shift looks like: baseline deciles give each bin a tenth of the baseline, and a window
drawn from the same distribution lands near a tenth in each too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasketches import kll_doubles_sketch

BINS = 10
# PSI divides by each bin's share: an empty bin (common in a short window) would make it
# infinite. Floor the shares at this, the usual practice, so one empty bin of ten counts
# as a large but finite shift.
PSI_FLOOR = 1e-4


def split_points(baseline: kll_doubles_sketch, bins: int = BINS) -> list[float]:
    """The baseline's inner quantile edges, without repeats (a discrete feature repeats them):
    `len(result) + 1` bins, (-inf, e1), [e1, e2), ..., [ek, +inf)."""
    ranks = [i / bins for i in range(1, bins)]
    return sorted(set(baseline.get_quantiles(ranks)))


def shares(sketch: kll_doubles_sketch, edges: Sequence[float]) -> np.ndarray:
    """The fraction of the sketch's values in each bin of `edges` (bins as split_points says)."""
    return np.asarray(sketch.get_pmf(list(edges)), dtype=float)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population Stability Index: sum of (actual - expected) * ln(actual / expected)."""
    p = np.maximum(expected, PSI_FLOOR)
    q = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits, in [0, 1]: the mean KL divergence of p and q from
    their midpoint; an empty bin contributes nothing (0 log 0 = 0)."""
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        held = a > 0
        return float(np.sum(a[held] * np.log2(a[held] / m[held])))

    return max(0.0, (kl(p) + kl(q)) / 2)  # max: rounding can dip a hair below 0
