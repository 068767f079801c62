"""Monitor one view's history table: plan the pruned scan, stream it into the two periods'
sketches, and judge them. Memory holds one record batch and the sketches, whatever the
history's size."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from skewless.monitor.errors import MonitorError
from skewless.monitor.report import ViewReport, build_report
from skewless.monitor.scan import HistoryScan, Periods, iso, split
from skewless.monitor.sketches import PeriodSketch

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from skewless.spec import ViewSpec

Progress = Callable[[int, int], None]  # (files read, files planned)


def monitor_history(table: Table, spec: ViewSpec, periods: Periods, progress: Progress | None = None) -> ViewReport:
    from connectors.iceberg.history import LIST_TYPES, HistoryTable

    history = HistoryTable.from_iceberg(table)
    kinds = {c.name: c.type for c in history.features if c.name in spec.feature_names}
    notes = tuple(
        f"feature {name} is in the spec but not in the history table; not monitored"
        for name in spec.feature_names if name not in kinds
    )
    notes += tuple(f"{name} is a list: summarised by its length" for name, kind in kinds.items() if kind in LIST_TYPES)
    if not kinds:
        raise MonitorError(f"the history of view {spec.name}@{spec.version} has none of its features ({', '.join(spec.feature_names)})")
    scan = HistoryScan(table, periods, (*history.key_names, *kinds))
    tasks = scan.plan()
    if not tasks:
        raise MonitorError(
            f"view {spec.name}@{spec.version} has no history from {iso(periods.baseline_start_ms)} to {iso(periods.as_of_ms)}; "
            "check --as-of, or widen --baseline"
        )
    baseline, window = PeriodSketch.of(list(kinds)), PeriodSketch.of(list(kinds))
    if progress is not None:
        progress(0, len(tasks))
    for done, (_, batches) in enumerate(scan.batches(tasks), 1):
        for batch in batches:
            old, new = split(batch, periods)
            baseline.add(old, history.key_names)
            window.add(new, history.key_names)
        if progress is not None:
            progress(done, len(tasks))
    if baseline.rows == 0 and window.rows == 0:
        raise MonitorError(
            f"view {spec.name}@{spec.version} has no update from {iso(periods.baseline_start_ms)} to {iso(periods.as_of_ms)} "
            "known by then; check --as-of, or widen --baseline"
        )
    if baseline.rows == 0:
        notes += ("the baseline has no update: nothing to compare the window with",)
    return build_report(f"{spec.name}@{spec.version}", periods, spec.drift, kinds, baseline, window, len(tasks), notes)
