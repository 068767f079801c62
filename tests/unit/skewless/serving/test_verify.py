"""verify against a real (SQLite-backed) Iceberg history table written by pyiceberg, no Flink."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from skewless.serving.errors import VerifyError
from skewless.serving.verify import FINAL_CHECKPOINT, Served, VerifyReport, same_value, verify_served
from tests.unit.skewless.serving.conftest import USERS, VIEWS

T0 = 1_700_000_000_000
HISTORY = HistoryTable(
    "users",
    keys=(Column("user_id", "string"),),
    features=(Column("avg_amount", "double"), Column("n_tx", "long"), Column("max_amount", "double")),
)


@pytest.fixture
def history(tmp_path):
    cfg = CatalogConfig(state_dir=tmp_path / "state")
    catalog = load_pyiceberg_catalog(cfg)
    table = ensure_history_table(cfg, HISTORY, catalog)

    def append(updates: list[tuple[str, float, int, int, int]], final: bool = False, job: str = "job-a") -> None:
        """updates: (user, avg_amount, n_tx, valid_from, written_at), committed as one snapshot."""
        schema = table.schema().as_arrow()
        cols = {
            "user_id": [u[0] for u in updates], "avg_amount": [u[1] for u in updates],
            "n_tx": [u[2] for u in updates], "max_amount": [u[1] for u in updates],
            "valid_from": [u[3] * 1000 for u in updates], "written_at": [u[4] * 1000 for u in updates],
            "version": [u[3] * 1000 for u in updates],
        }
        arrays = [
            pa.array(cols[f.name], pa.int64()).cast(f.type) if pa.types.is_timestamp(f.type)
            else pa.array(cols[f.name], f.type)
            for f in schema
        ]
        props = {"flink.max-committed-checkpoint-id": FINAL_CHECKPOINT if final else "7", "flink.job-id": job}
        table.append(pa.Table.from_arrays(arrays, schema=schema), snapshot_properties=props)

    return cfg, catalog, append


def served(value, valid_from, written_at, served_at, feature="n_tx", entity="u1"):
    return Served(entity, "users", feature, value, valid_from, written_at, served_at)


def run(cfg, catalog, entries, **kwargs):
    kwargs.setdefault("wait_s", 0)
    return verify_served(entries, VIEWS, cfg, catalog=catalog, sleep=lambda s: None, **kwargs)


def test_the_value_in_force_at_served_at_matches(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + 1000, T0 + 1005)], final=True)
    report = run(cfg, catalog, [
        served(1, T0, T0 + 5, T0 + 999),
        served(2, T0 + 1000, T0 + 1005, T0 + 1005),
        served(20.0, T0 + 1000, T0 + 1005, T0 + 2000, feature="avg_amount"),
        served(None, None, None, T0 + 4, entity="u1"),  # before the first update was written
        served(None, None, None, T0 + 4, entity="nobody"),
    ])
    assert report.exit_code() == 0 and report.ok
    assert report.total("matched") == 5 and report.total("checked") == 5


def test_ttl_bound_present_and_expired_absent(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)], final=True)
    report = run(cfg, catalog, [
        served(1, T0, T0 + 5, T0 + USERS.ttl_ms),
        served(None, None, None, T0 + USERS.ttl_ms + 1),
    ])
    assert report.total("matched") == 2
    stale = run(cfg, catalog, [served(1, T0, T0 + 5, T0 + USERS.ttl_ms + 1)])  # expired but served
    assert stale.total("mismatched") == 1 and stale.exit_code() == 1


def test_a_value_superseded_moments_before_serving_is_lagged_not_a_mismatch(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + 1000, T0 + 1400)], final=True)
    entry = served(1, T0, T0 + 5, T0 + 1500)  # the update written at +1400 had not reached Cassandra
    lagged = run(cfg, catalog, [entry], max_write_lag_ms=500)
    assert (lagged.total("lagged"), lagged.total("mismatched"), lagged.exit_code()) == (1, 0, 0)
    assert lagged.tallies["users:n_tx"].max_lag_ms == 100  # replaced at +1400, served at +1500
    strict = run(cfg, catalog, [entry], max_write_lag_ms=0)
    assert strict.total("mismatched") == 1
    too_late = run(cfg, catalog, [served(1, T0, T0 + 5, T0 + 3000)], max_write_lag_ms=500)
    assert too_late.total("mismatched") == 1
    [m] = too_late.mismatches
    assert (m.served, m.expected, m.feature) == (1, 2, "users:n_tx")
    assert m.reason == "stale by 1600 ms, more than the allowed write lag of 500 ms"


def test_a_first_value_not_yet_in_cassandra_is_lagged(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)], final=True)
    report = run(cfg, catalog, [served(None, None, None, T0 + 100)], max_write_lag_ms=500)
    assert report.total("lagged") == 1


def test_a_value_replaced_within_its_own_millisecond_is_lagged_if_it_is_the_stored_update(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + 1, T0 + 5)], final=True)  # one burst
    entries = [served(1, T0, T0 + 5, T0 + 900), served(3, T0, T0 + 5, T0 + 900)]
    report = run(cfg, catalog, entries, max_write_lag_ms=1000)
    assert (report.total("lagged"), report.total("mismatched")) == (1, 1)
    assert report.tallies["users:n_tx"].max_lag_ms == 895


def test_absent_while_an_older_value_expired_and_a_newer_one_was_in_flight_is_lagged(history):
    cfg, catalog, append = history
    ttl = USERS.ttl_ms
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + ttl + 50, T0 + ttl + 60)], final=True)
    # At +ttl+100 the first update has expired and the second, written at +ttl+60, was not yet online.
    report = run(cfg, catalog, [served(None, None, None, T0 + ttl + 100)], max_write_lag_ms=1000)
    assert report.total("lagged") == 1 and report.tallies["users:n_tx"].max_lag_ms == 40


def test_a_value_that_never_was_the_known_time_value_is_a_mismatch(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + 1000, T0 + 1005)], final=True)
    wrong = run(cfg, catalog, [served(7, T0 + 1000, T0 + 1005, T0 + 2000)])  # the latest update, other value
    assert "its value differs" in wrong.mismatches[0].reason
    unknown = run(cfg, catalog, [served(1, T0 + 1, T0 + 6, T0 + 2000)])  # an update the history lacks
    assert "not in the history" in unknown.mismatches[0].reason
    old_value = run(cfg, catalog, [served(5, T0, T0 + 5, T0 + 1100)])  # the old update, but another value
    assert "nor just before the update that replaced it" in old_value.mismatches[0].reason


def test_a_value_valid_after_served_at_is_a_mismatch(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0 + 10_000, T0 + 5)], final=True)
    report = run(cfg, catalog, [served(1, T0 + 10_000, T0 + 5, T0 + 100)])
    assert report.total("mismatched") == 1
    assert "valid after served_at" in report.mismatches[0].reason


def test_values_are_judged_only_once_the_history_holds_what_preceded_them(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)])  # an ordinary checkpoint, not the final commit
    entry = served(1, T0, T0 + 5, T0 + 100)
    assert run(cfg, catalog, [entry]).total("unsettled") == 1
    assert run(cfg, catalog, [entry]).exit_code() == 2
    append([("u2", 5.0, 1, T0 + 50, T0 + 200)])  # another entity, written after served_at
    assert run(cfg, catalog, [entry], parallelism=1).total("matched") == 1
    assert run(cfg, catalog, [entry], parallelism=2).total("unsettled") == 1
    append([("u1", 11.0, 2, T0 + 150, T0 + 300)])  # the same entity, written after served_at
    assert run(cfg, catalog, [entry], parallelism=2).total("matched") == 1


def test_a_caller_who_knows_the_job_finished_needs_no_proof(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)])  # the tail committed at an ordinary checkpoint
    entry = served(1, T0, T0 + 5, T0 + 100)
    assert run(cfg, catalog, [entry]).total("unsettled") == 1
    assert run(cfg, catalog, [entry], history_complete=True).total("matched") == 1


def test_a_history_last_committed_by_a_finished_job_needs_no_history_complete(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5), ("u1", 20.0, 2, T0 + 1000, T0 + 1005)], job="job-a")
    entry = served(2, T0 + 1000, T0 + 1005, T0 + 2000)  # after every update: nothing later can settle it
    asked = []

    def finished(spec, job):
        asked.append((spec.name, job))
        return job == "job-a"

    assert run(cfg, catalog, [entry], finished=finished).total("matched") == 1
    assert asked == [("users", "job-a")]
    assert run(cfg, catalog, [entry], finished=lambda spec, job: False).total("unsettled") == 1
    append([("u2", 1.0, 1, T0, T0 + 5)], job="job-b")
    run(cfg, catalog, [entry], finished=finished)
    assert asked[-1] == ("users", "job-b")  # the newest snapshot's job is the one asked about


def test_waiting_rereads_the_history_until_it_settles(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)])
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 2:
            append([("u1", 11.0, 2, T0 + 150, T0 + 300)])

    report = verify_served([served(1, T0, T0 + 5, T0 + 100)], VIEWS, cfg, catalog=catalog, wait_s=30,
                           poll_s=0.01, sleep=sleep)
    assert report.total("matched") == 1 and len(polls) == 2


def test_unknown_views_and_missing_tables_are_verify_errors(history):
    cfg, catalog, _ = history
    with pytest.raises(VerifyError, match="views \\['shops'\\] the registry does not know"):
        run(cfg, catalog, [Served("u1", "shops", "n", 1, 1, 1, T0)])
    with pytest.raises(VerifyError, match="merchants_history"):
        run(cfg, catalog, [Served("m1", "merchants", "n_tx", 1, 1, 1, T0)])


def test_report_renders_a_table_and_json(history):
    cfg, catalog, append = history
    append([("u1", 10.0, 1, T0, T0 + 5)], final=True)
    report = run(cfg, catalog, [served(1, T0, T0 + 5, T0 + 10), served(9, T0, T0 + 5, T0 + 10)])
    table = report.render_table()
    assert "users:n_tx" in table and "MISMATCH users:n_tx entity=u1" in table and table.endswith("FAILED")
    data = orjson.loads(report.to_json())
    assert data["totals"] == {"checked": 2, "matched": 1, "lagged": 0, "mismatched": 1, "unsettled": 0}
    assert data["ok"] is False


def test_an_empty_report_is_not_ok():
    assert VerifyReport(0).exit_code() == 2


@pytest.mark.parametrize(("a", "b", "same"), [
    (None, None, True), (None, 0, False), (1, 1.0, True), (float("nan"), float("nan"), True),
    ([1.0, 2.0], [1.0, 2.0], True), ([1.0], [1.0, 2.0], False), (0.1 + 0.2, 0.3, False),
])
def test_values_compare_exactly(a, b, same):
    assert same_value(a, b) is same
