"""A run's summary from the job's accumulators, and its one line of JSON in the job's output."""

from __future__ import annotations

import json

import pytest

from skewless.runner import _pass_through
from skewless.summary import parse_summary_line, summarize, summary_line

TOPIC = "p1.transactions"


def test_accumulators_land_under_their_view_or_the_topic() -> None:
    accumulators = {
        "a@1|events_in": 10,
        "a@1|updates_out": 7,
        "a@1|late_events": 1,
        "a@1|dead_letters|missing_key": 2,
        "a@1|dead_letters|late": 1,
        "b@2|events_in": 10,
        f"{TOPIC}|dead_letters|not_avro": 3,
        f"{TOPIC}|dead_letters|corrupt_avro": 1,
        "numRecordsIn": 99,  # not of this job's scopes: left out
        "c@1|events_in": 5,
    }
    summary = summarize(accumulators, TOPIC, ["a@1", "b@2"])
    assert summary == {
        "topic": TOPIC,
        "dead_letters": {"corrupt_avro": 1, "not_avro": 3},
        "views": {
            "a@1": {"events_in": 10, "updates_out": 7, "late_events": 1, "dead_letters": {"late": 1, "missing_key": 2}},
            "b@2": {"events_in": 10, "updates_out": 0, "late_events": 0, "dead_letters": {}},
        },
    }


def test_a_count_no_operator_reported_is_zero() -> None:
    summary = summarize({}, TOPIC, ["a@1"])
    assert summary["views"]["a@1"] == {"events_in": 0, "updates_out": 0, "late_events": 0, "dead_letters": {}}
    assert summary["dead_letters"] == {}


def test_the_summary_line_round_trips_and_other_lines_are_not_summaries() -> None:
    summary = summarize({"a@1|updates_out": 3}, TOPIC, ["a@1"])
    line = summary_line(summary)
    assert "\n" not in line
    assert parse_summary_line(line + "\n") == summary
    for other in [
        "",
        "savepoint: file:///x\n",
        json.dumps({"topic": TOPIC, "seconds": 1.0}),
        json.dumps({"summary": 3}),
        json.dumps({"summary": {}, "other": 1}),
        '{"summary": {not json\n',
    ]:
        assert parse_summary_line(other) is None, other


def test_the_launcher_passes_the_job_output_through_and_takes_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    summary = summarize({"a@1|events_in": 4}, TOPIC, ["a@1"])
    taken: list[dict] = []
    _pass_through(["starting\n", summary_line(summary) + "\n", '{"other": 1}\n'], taken.append)
    assert taken == [summary]
    assert capsys.readouterr().out == 'starting\n{"other": 1}\n'
