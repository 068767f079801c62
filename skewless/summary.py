"""What a finished job run did, per view: events in, updates out, dead letters by reason code
and late events; plus the dead letters of the topic's own stage (decode).

The JVM operators count into accumulators of the job's result (io.skewless.flink.ResultCounter),
named `<scope>|<count>` or `<scope>|dead_letters|<reason code>`, where the scope is a view's
`name@version` or the topic. Accumulators are not checkpointed: a run restored from a
checkpoint or savepoint, or restarted after a failure, counts from its restore point on.

The job process prints the summary as one line of JSON on stdout, `{"summary": {...}}`
(`summary_line`); `skewless run` picks it out of the job's output (`parse_summary_line`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SEPARATOR = "|"
DEAD_LETTERS = "dead_letters"
VIEW_COUNTS = ("events_in", "updates_out", "late_events")
KEY = "summary"


def summarize(accumulators: Mapping[str, Any], topic: str, views: Sequence[str]) -> dict[str, Any]:
    """The summary of a run of the job of `topic` over `views` (`name@version` labels), from the
    job's accumulators; a count no operator reported is 0, accumulators of other scopes are left out."""
    by_view: dict[str, dict[str, Any]] = {v: {**dict.fromkeys(VIEW_COUNTS, 0), DEAD_LETTERS: {}} for v in views}
    summary: dict[str, Any] = {"topic": topic, DEAD_LETTERS: {}, "views": by_view}
    for name, value in sorted(accumulators.items()):
        scope, _, count = name.partition(SEPARATOR)
        kind, _, code = count.partition(SEPARATOR)
        target = summary if scope == topic else by_view.get(scope)
        if target is None:
            continue
        if kind == DEAD_LETTERS and code:
            target[DEAD_LETTERS][code] = int(value)
        elif target is not summary and kind in VIEW_COUNTS and not code:
            target[kind] = int(value)
    return summary


def summary_line(summary: Mapping[str, Any]) -> str:
    return json.dumps({KEY: summary}, sort_keys=True)


def parse_summary_line(line: str) -> dict[str, Any] | None:
    """The summary `line` carries (as `summary_line` wrote it), or None for any other line."""
    if not line.startswith(f'{{"{KEY}": '):
        return None
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or set(parsed) != {KEY} or not isinstance(parsed[KEY], dict):
        return None
    return parsed[KEY]
