"""skewless.testing, the public testing kit: a view over a list of events on the job's engine."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window
from skewless.testing import EngineError, EventRejected, Update, run_view, simulate

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "transactions.avsc"
HOUR = 3_600_000
T0 = 1_700_000_000_000 // HOUR * HOUR  # on an hour boundary


def view(lateness: str | None = None) -> FeatureView:
    source = Source(
        name="payments", topic="transactions", schema=SCHEMA, event_time="event_time",
        derived={"cents": "amount * 100"}, filter="currency != 'XXX'",
    )
    extra = {"allowed_lateness": lateness} if lateness else {}
    return FeatureView(
        name="spend", version=1, entity=Entity("user", keys="user_id"), source=source,
        aggregations=[
            Aggregation(None, "count", windows=[Window("2h", hop="1h")]),
            Aggregation("cents", "sum", windows=[Window("2h", hop="1h")]),
        ],
        ttl="1d", out_of_orderness="0s", **extra,
    )


def event(user: str, at: int, amount: float, currency: str = "EUR") -> dict:
    return {"event_id": f"{user}-{at}", "user_id": user, "merchant_id": "m", "amount": amount,
            "currency": currency, "event_time": at}


def test_events_update_at_once_and_tiles_expire_with_the_watermark() -> None:
    updates = run_view(view(), [event("u1", T0 + 10, 1.5), event("u1", T0 + 20, 2.0), event("u2", T0 + 30, 4.0)])
    u1 = [(u.valid_from, u.values["count_2h"], u.values["sum_cents_2h"]) for u in updates if u.key == "u1"]
    # Both events at once; the hour [T0, T0+1h) leaves the 2-hour window at T0+2h.
    assert u1 == [(T0 + 10, 1, 150.0), (T0 + 20, 2, 350.0), (T0 + 2 * HOUR, 0, 0.0)]
    assert all(isinstance(u, Update) and u.revision == 0 for u in updates)


def test_the_expiry_horizon_stops_expiry_updates() -> None:
    updates = run_view(view(), [event("u1", T0, 1.0)], until=T0 + HOUR)
    assert [u.valid_from for u in updates] == [T0]


def test_filtered_and_late_events_are_reported_not_aggregated() -> None:
    run = simulate(view(), [event("u1", T0 + 5 * HOUR, 1.0), event("u1", T0, 9.0), event("u1", T0 + 5 * HOUR, 3.0, "XXX")])
    assert [e["amount"] for e in run.late] == [9.0]  # behind the watermark, no allowed lateness
    assert [e["currency"] for e in run.filtered] == ["XXX"]
    assert [u.values["count_2h"] for u in run.updates if u.valid_from == T0 + 5 * HOUR] == [1]


def test_an_out_of_order_event_within_the_lateness_corrects_with_a_higher_revision() -> None:
    updates = run_view(view(lateness="1h"), [event("u1", T0 + 40 * 60_000, 1.0), event("u1", T0 + 20 * 60_000, 1.0)])
    at_40 = [(u.revision, u.values["count_2h"]) for u in updates if u.valid_from == T0 + 40 * 60_000]
    assert at_40 == [(0, 1), (1, 2)]


def test_a_compiled_spec_runs_too() -> None:
    assert run_view(view().compile(), [event("u1", T0, 1.0)], until=T0)[0].values == {"count_2h": 1, "sum_cents_2h": 100.0}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"user_id": None}, "no entity key 'user_id'"),
        ({"user_id": "  "}, "no entity key 'user_id'"),
        ({"event_time": "yesterday"}, "'event_time' must be epoch milliseconds"),
    ],
)
def test_bad_events_say_what_is_wrong(bad: dict, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        run_view(view(), [{**event("u1", T0, 1.0), **bad}])


def test_row_logic_runs_on_the_jobs_evaluator_and_its_failures_name_the_expression() -> None:
    with pytest.raises(EventRejected, match='derived column .cents. "amount \\* 100": row_logic.') as caught:
        run_view(view(), [{**event("u1", T0, 1.0), "amount": "ten"}])
    assert caught.value.reason.startswith("derived column")


def test_a_missing_key_is_named_before_the_row_logic_runs() -> None:
    with pytest.raises(EngineError, match="no entity key 'user_id'"):
        run_view(view(), [{**event("u1", T0, 1.0), "user_id": None, "amount": "ten"}])


def test_an_input_column_that_is_missing_or_not_a_number_is_named() -> None:
    bare = FeatureView(
        name="plain", version=1, entity=Entity("user", keys="user_id"),
        source=Source(name="payments", topic="transactions", schema=SCHEMA, event_time="event_time"),
        aggregations=[Aggregation("amount", "sum", windows=[Window("2h", hop="1h")])], ttl="1d",
    )
    row = event("u1", T0, 1.0)
    with pytest.raises(EngineError, match="has no column 'amount'"):
        run_view(bare, [{k: v for k, v in row.items() if k != "amount"}])
    with pytest.raises(EngineError, match="must be a number, got 'ten'"):
        run_view(bare, [{**row, "amount": "ten"}])


def test_a_value_an_event_cannot_carry_is_named() -> None:
    with pytest.raises(EngineError, match="field 'when' is a datetime; .* epoch milliseconds"):
        run_view(view(), [{**event("u1", T0, 1.0), "when": datetime.now(timezone.utc)}])


def test_a_view_that_is_not_one_is_refused() -> None:
    with pytest.raises(EngineError, match="FeatureView or a ViewSpec"):
        run_view("spend", [])


def test_the_readme_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Testing a view", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md: Testing a view", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed and all(line.startswith("u1 ") for line in printed)
