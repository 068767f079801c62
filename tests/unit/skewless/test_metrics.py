"""The series catalogue (skewless.metrics) against what names series: the alert rules and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from skewless.metrics import OPERATOR, SERIES, Series, exported_names

REPO = Path(__file__).resolve().parents[3]
METRIC = re.compile(r"\b(?:flink|skewless)_[A-Za-z0-9_]+\b")


def test_a_view_histogram_has_its_buckets_under_the_le_group() -> None:
    series = Series(OPERATOR + "view_freshness_seconds", "histogram", "view", ("view", "le"), "")
    assert series.names() == (
        OPERATOR + "view_le_freshness_seconds_bucket",
        OPERATOR + "view_freshness_seconds_count",
        OPERATOR + "view_freshness_seconds_sum",
    )


def test_the_alert_rules_use_exported_series_only() -> None:
    rules = yaml.safe_load((REPO / "docker" / "prometheus" / "alerts.yml").read_text())
    used = {name for group in rules["groups"] for rule in group["rules"] for name in METRIC.findall(rule["expr"])}
    assert used and used <= exported_names(), used - exported_names()


def test_the_docs_list_every_series() -> None:
    docs = (REPO / "docs" / "monitoring.md").read_text()
    assert "\n## Metrics\n" in f"\n{docs}"  # a section of its own (the data-quality one sits beside it)
    missing = [s.name for s in SERIES if f"`{s.name}`" not in docs]
    assert not missing, f"docs/monitoring.md does not list {missing}"


def test_bucket_quantiles_are_estimated_as_prometheus_does() -> None:
    from skewless.metrics import bucket_quantile

    inf = float("inf")
    # 95 of 100 within 2 s, all within 5 s: p99 = 2 + 3 * (99 - 95) / 5, as tests/integration/monitoring/rules finds.
    buckets = {1.0: 90, 2.0: 95, 5.0: 100, inf: 100}
    assert abs(bucket_quantile(0.99, buckets) - 4.4) < 1e-9
    assert abs(bucket_quantile(0.5, buckets) - 50 / 90) < 1e-9  # rank 50 of the first bucket's 90
    assert bucket_quantile(0.99, {1.0: 0, 3600.0: 0, inf: 10}) == 3600.0  # all above the top bound
    assert bucket_quantile(0.5, {1.0: 0, inf: 0}) is None
