"""The series catalogue (skewless.monitoring) against what names series: the alert rules and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from skewless.monitoring import OPERATOR, SERIES, Series, exported_names

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
    assert docs.startswith("## Metrics")
    missing = [s.name for s in SERIES if f"`{s.name}`" not in docs]
    assert not missing, f"docs/monitoring.md does not list {missing}"
