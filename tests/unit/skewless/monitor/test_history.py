"""monitor_history on real Iceberg tables: verdicts, exact null and missing rates, pruning."""

from __future__ import annotations

import pytest

from skewless.monitor.errors import MonitorError
from skewless.monitor.history import monitor_history
from skewless.monitor.scan import HistoryScan, Periods
from skewless.spec import DRIFT_DEFAULTS, FeatureSpec, ViewSpec
from tests.unit.skewless.monitor.conftest import DAY_MS, START_MS, WITH_LIST
from tests.unit.skewless.training.pit_oracle import Update

HOUR = 3_600_000


def spec(drift: dict | None = None, *extra: FeatureSpec) -> ViewSpec:
    features = (
        FeatureSpec("avg_amount", "avg", "amount", 86_400_000, 3_600_000),
        FeatureSpec("n_events", "count", None, 86_400_000, 3_600_000),
        *extra,
    )
    return ViewSpec("user_stats", 1, "user_id", "events", "t", features, ttl_ms=7_200_000, drift=drift)


AS_OF = Periods(START_MS + 9 * DAY_MS, window_days=1, baseline_days=7)  # window: day 8, baseline: days 1..7


def test_a_history_without_drift_passes(daily_history) -> None:
    report = monitor_history(daily_history(), spec(), AS_OF)
    assert report.breaches == []
    assert (report.baseline_rows, report.window_rows) == (7 * 200, 200)
    avg = report.features[0]
    assert avg.drift is not None and avg.drift.psi < 0.2 and avg.drift.js < 0.1
    assert report.thresholds == DRIFT_DEFAULTS


def test_a_shifted_window_breaches_psi_and_js(daily_history) -> None:
    report = monitor_history(daily_history(shift=3.0), spec(), AS_OF)
    avg, count = report.features
    assert [b.split()[0] for b in avg.breaches] == ["psi", "js"]
    assert count.breaches == ()  # n_events did not move
    assert report.breaches == [f"avg_amount: {b}" for b in avg.breaches]


def test_the_views_thresholds_decide(daily_history) -> None:
    lenient = {**DRIFT_DEFAULTS, "psi": 100.0, "js": None}
    assert monitor_history(daily_history(shift=3.0), spec(lenient), AS_OF).breaches == []


def test_null_rates_are_exact_and_their_rise_breaches(daily_history) -> None:
    report = monitor_history(daily_history(window_nulls=10), spec(), AS_OF)  # every 10th window avg null
    avg = report.features[0]
    assert (avg.baseline.nulls, avg.baseline.rows) == (0, 1400)
    assert (avg.window.nulls, avg.window.rows) == (20, 200) and avg.window.null_rate == 0.1
    assert avg.breaches == ("null rate rose by 10.0% (to 10.0%) > 5.0%",)


def test_missing_entities_are_counted_and_checked_when_asked(write_history) -> None:
    updates = [Update(f"u{i}", START_MS + DAY_MS + i, START_MS + DAY_MS + i, i, (1.0, 1)) for i in range(10)]
    updates += [Update(f"u{i}", START_MS + 8 * DAY_MS + i, START_MS + 8 * DAY_MS + i, i, (1.0, 1)) for i in range(6)]
    updates += [Update("new", START_MS + 8 * DAY_MS, START_MS + 8 * DAY_MS, 99, (1.0, 1))]  # not in the baseline
    table = write_history(updates)
    report = monitor_history(table, spec(), AS_OF)
    assert report.missing == (4.0, 10.0) and report.missing_rate == 0.4
    assert report.breaches == []  # missing_rate is off by default
    checked = monitor_history(table, spec({**DRIFT_DEFAULTS, "missing_rate": 0.25}), AS_OF)
    assert checked.breaches == ["missing rate 40.0% > 25.0%"]


def test_only_the_baseline_and_window_days_are_planned_and_read(daily_history, monkeypatch) -> None:
    table = daily_history(days=20, window_from=19)  # one file per day
    periods = Periods(START_MS + 20 * DAY_MS, window_days=1, baseline_days=7)
    scan = HistoryScan(table, periods, ("user_id", "avg_amount"))
    days = sorted(task.file.partition[0] - START_MS // DAY_MS for task in scan.plan())
    assert days == list(range(12, 20))
    assert len(list(table.scan().plan_files())) == 20

    read = []
    batches = HistoryScan.batches

    def spy(self, tasks):  # type: ignore[no-untyped-def]
        for task, rows in batches(self, tasks):
            read.append(task.file.partition[0] - START_MS // DAY_MS)
            yield task, rows

    monkeypatch.setattr(HistoryScan, "batches", spy)
    report = monitor_history(table, spec(), periods)
    assert sorted(read) == days and report.files_read == 8
    assert (report.baseline_rows, report.window_rows) == (7 * 200, 200)


def test_a_window_off_a_day_boundary_and_late_writes(write_history) -> None:
    """Rows are split at the exact instant, and rows written after as_of are left out."""
    as_of = START_MS + 8 * DAY_MS + 12 * HOUR
    updates = [
        Update("a", as_of - DAY_MS - 1, as_of - DAY_MS - 1, 1, (1.0, 1)),  # baseline's last ms
        Update("a", as_of - DAY_MS, as_of - DAY_MS, 2, (2.0, 1)),  # window's first ms
        Update("a", as_of - 1, as_of + 1, 3, (3.0, 1)),  # written after as_of: not known then
        Update("a", as_of, as_of, 4, (4.0, 1)),  # at as_of: after the window
    ]
    report = monitor_history(write_history(updates), spec(), Periods(as_of, 1, 7))
    assert (report.baseline_rows, report.window_rows) == (1, 1)


def test_a_list_feature_is_summarised_by_length(daily_history) -> None:
    table = daily_history(history=WITH_LIST)
    last_n = FeatureSpec("recent", "last_n", "amount", 86_400_000, 3_600_000, (("n", 3),))
    report = monitor_history(table, spec(None, last_n), AS_OF)
    recent = report.features[2]
    assert recent.label == "recent (length)" and recent.window.values.get_max_value() == 3
    assert "recent is a list: summarised by its length" in report.notes


def test_no_rows_in_the_periods_is_an_error_saying_what_to_change(daily_history) -> None:
    table = daily_history()
    expected = r"user_stats@1 has no history from 2026-01-28T00:00:00\+00:00 to 2026-01-31.*; check --as-of"
    with pytest.raises(MonitorError, match=expected):
        monitor_history(table, spec(), Periods(START_MS + 30 * DAY_MS, 1, 2))


def test_an_empty_window_breaches(daily_history) -> None:
    report = monitor_history(daily_history(days=8), spec(), AS_OF)
    assert report.breaches == ["no update in the window (1 d)"]
    assert all(f.drift is None for f in report.features)
