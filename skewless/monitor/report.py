"""From the two periods' sketches to a verdict per feature, and the text table.

A feature breaches when its PSI or JS exceeds its threshold, or when its null rate rose
above the baseline's by more than `null_rate`; the view breaches when the window has no
update at all, or when more than `missing_rate` of the baseline's entities have none in it
(when that threshold is set). A check whose threshold is None is skipped; drift is not
computed when either period has no values (there is nothing to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.iceberg.history import LIST_TYPES
from skewless.monitor.drift import js_divergence, psi, shares, split_points
from skewless.monitor.scan import Periods
from skewless.monitor.sketches import FeatureSketch, PeriodSketch
from skewless.spec import DRIFT_DEFAULTS

QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class DriftResult:
    edges: tuple[float, ...]
    baseline: tuple[float, ...]  # each bin's share of the baseline
    window: tuple[float, ...]
    psi: float
    js: float


@dataclass(frozen=True)
class FeatureReport:
    name: str
    kind: str  # the history column type; "list<double>" is summarised by length
    baseline: FeatureSketch
    window: FeatureSketch
    drift: DriftResult | None
    breaches: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name} (length)" if self.kind in LIST_TYPES else self.name


@dataclass(frozen=True)
class ViewReport:
    view: str
    periods: Periods
    thresholds: dict[str, float | None]
    features: tuple[FeatureReport, ...]
    baseline_rows: int
    window_rows: int
    missing: tuple[float, float]  # (baseline entities without a window update, baseline entities)
    files_read: int
    notes: tuple[str, ...]
    view_breaches: tuple[str, ...]

    @property
    def missing_rate(self) -> float | None:
        missing, entities = self.missing
        return missing / entities if entities else None

    @property
    def breaches(self) -> list[str]:
        return [*self.view_breaches, *(f"{f.name}: {b}" for f in self.features for b in f.breaches)]


def drift_of(baseline: FeatureSketch, window: FeatureSketch) -> DriftResult | None:
    if baseline.values.is_empty() or window.values.is_empty():
        return None
    edges = split_points(baseline.values)
    p, q = shares(baseline.values, edges), shares(window.values, edges)
    return DriftResult(tuple(edges), tuple(p.tolist()), tuple(q.tolist()), psi(p, q), js_divergence(p, q))


def _feature_breaches(baseline: FeatureSketch, window: FeatureSketch, drift: DriftResult | None,
                      limits: dict[str, float | None]) -> tuple[str, ...]:
    found = []
    if drift is not None:
        for measure, value in (("psi", drift.psi), ("js", drift.js)):
            limit = limits[measure]
            if limit is not None and value > limit:
                found.append(f"{measure} {value:.3f} > {limit:g}")
    limit = limits["null_rate"]
    if limit is not None and window.null_rate is not None and baseline.null_rate is not None:
        rise = window.null_rate - baseline.null_rate
        if rise > limit:
            found.append(f"null rate rose by {rise:.1%} (to {window.null_rate:.1%}) > {limit:.1%}")
    return tuple(found)


def build_report(view: str, periods: Periods, thresholds: dict[str, float | None] | None,
                 kinds: dict[str, str], baseline: PeriodSketch, window: PeriodSketch,
                 files_read: int, notes: tuple[str, ...] = ()) -> ViewReport:
    given = thresholds or DRIFT_DEFAULTS
    limits = {name: given[name] for name in DRIFT_DEFAULTS}  # in one order, however the spec's JSON sorted them
    features = []
    for name, kind in kinds.items():
        b, w = baseline.features[name], window.features[name]
        drift = drift_of(b, w)
        features.append(FeatureReport(name, kind, b, w, drift, _feature_breaches(b, w, drift, limits)))
    missing, entities = baseline.missing_from(window)
    view_breaches = []
    if window.rows == 0:
        view_breaches.append(f"no update in the window ({periods.window_days} d)")
    limit = limits["missing_rate"]
    if limit is not None and entities and missing / entities > limit:
        view_breaches.append(f"missing rate {missing / entities:.1%} > {limit:.1%}")
    return ViewReport(view, periods, limits, tuple(features), baseline.rows, window.rows,
                      (missing, entities), files_read, notes, tuple(view_breaches))


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _quantiles(sketch: FeatureSketch) -> str:
    if sketch.values.is_empty():
        return "-"
    return " / ".join(f"{v:.4g}" for v in sketch.values.get_quantiles(list(QUANTILES)))


def render_text(report: ViewReport) -> str:
    """The report as a text table: one row per feature, the breaches below."""
    header = ("feature", "null base", "null win", "p5 / p50 / p95 base", "p5 / p50 / p95 win", "psi", "js", "ok")
    rows = [header]
    for f in report.features:
        rows.append((
            f.label, _rate(f.baseline.null_rate), _rate(f.window.null_rate), _quantiles(f.baseline),
            _quantiles(f.window), "-" if f.drift is None else f"{f.drift.psi:.3f}",
            "-" if f.drift is None else f"{f.drift.js:.3f}", "BREACH" if f.breaches else "ok",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    missing, entities = report.missing
    limits = ", ".join(f"{k}={'off' if v is None else f'{v:g}'}" for k, v in report.thresholds.items())
    lines = [
        f"view {report.view}: {report.periods.describe()}",
        f"updates: {report.baseline_rows} baseline, {report.window_rows} window, from {report.files_read} file(s); "
        f"missing entities: {missing:.0f} of {entities:.0f} ({_rate(report.missing_rate)})",
        f"thresholds: {limits}",
        "",
        *table,
        *(f"note: {n}" for n in report.notes),
    ]
    breaches = report.breaches
    lines += [""] + ([f"BREACH {b}" for b in breaches] if breaches else ["no breach"])
    return "\n".join(lines)


def histogram(report: FeatureReport, bins: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Equal-width bins over both periods' range, and each period's share in them, from the sketches."""
    sketches = [s.values for s in (report.baseline, report.window) if not s.values.is_empty()]
    if not sketches:
        return None
    lo = min(s.get_min_value() for s in sketches)
    hi = max(s.get_max_value() for s in sketches)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    inner = list(edges[1:-1])

    def share(sketch: FeatureSketch) -> np.ndarray:
        if sketch.values.is_empty():
            return np.zeros(bins)
        return shares(sketch.values, inner)

    return edges, share(report.baseline), share(report.window)
