"""The Grafana dashboard beside the compose file plots only series a job or the server exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from skewless.metrics import exported_names

DASHBOARD = Path(__file__).resolve().parents[3] / "docker" / "grafana" / "skewless.json"
# A metric name in PromQL: skewless's and Flink's all start so (recording rules have colons).
METRIC = re.compile(r"\b(?:flink|skewless)_[A-Za-z0-9_]+\b")


def expressions() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]


def test_every_panel_queries_exported_series_only() -> None:
    known = exported_names()
    unknown = [(title, name) for title, expr in expressions() for name in METRIC.findall(expr) if name not in known]
    assert not unknown, f"panels query series nobody exports (skewless.metrics.SERIES): {unknown}"


def test_every_panel_has_a_query_and_the_topics_of_the_issue_are_covered() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert all(p["targets"] and all(METRIC.search(t["expr"]) for t in p["targets"]) for p in panels)
    text = " ".join(expr for _, expr in expressions())
    for part in ("freshness_seconds", "events_in", "pendingRecords", "dead_letters", "Checkpoint", "updates_out"):
        assert part in text, part
