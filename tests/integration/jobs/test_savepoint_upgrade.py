"""Stable operator uids for real: a savepoint of the job {A} restores into the job {A, B}.

Runs unbounded jobs in this process (PyFlink's JobClient takes the savepoint): A keeps its
tiles and source offsets across the upgrade, B's operators start empty and see only what
arrives after it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from pyflink.common import JobClient

from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig, now_ms
from connectors.iceberg.catalog import CatalogConfig
from features.merchants import merchant_activity
from features.transactions import USER_TRANSACTIONS
from jobs.pipeline import RunOptions, build_pipeline, job_name, make_environment, prepare_sinks, stop_with_savepoint, topic_of
from skewless.checkpoints import Lineage, restore_point_at
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape, transactions
from skewless.expressions import compile_row_logic
from skewless.runner import SCHEMAS
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from tests.oracle import close, values_at

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
Events = dict[str, list[tuple[int, dict[str, Any]]]]


def by_key(records: list[dict], spec: ViewSpec) -> Events:
    """Events per entity after the view's row logic, in event-time order (the oracle's input)."""
    logic = compile_row_logic(spec)
    out: Events = {}
    for r in sorted(records, key=lambda r: r["event_time"]):
        row = logic(r)
        if row is not None:
            out.setdefault(str(r[spec.source_key_field]), []).append((r["event_time"], row))
    return out


def start(specs: list[ViewSpec], settings: Settings, group: str, savepoint: str | None = None) -> JobClient:
    catalog = CatalogConfig.from_settings(settings)
    lineage = Lineage(settings.home, topic_of(specs), [s.uid for s in specs])
    prepare_sinks(specs, settings, catalog)
    env, t_env = make_environment(settings, lineage, restore_point_at(savepoint) if savepoint else None, bounded=False)
    schema = (SCHEMAS / "transactions.avsc").read_text()
    build_pipeline(env, t_env, specs, settings, catalog, [schema], RunOptions(False, None, group))
    return env.execute_async(job_name(specs))


def online_rows(spec: ViewSpec, settings: Settings, keys: list[str]) -> dict[str, Any]:
    reader = OnlineReader(OnlineReaderConfig.for_view(spec, settings))
    try:
        now = now_ms()
        return {k: reader.live_row(reader.start(k).result().one(), now) for k in keys}
    finally:
        reader.close()


def wait_until_caught_up(spec: ViewSpec, settings: Settings, events: Events, timeout_s: float = 300) -> dict[str, Any]:
    """Poll Cassandra until every entity's value is at or past its last event."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = online_rows(spec, settings, sorted(events))
        if all(rows[k] is not None and rows[k].valid_from >= events[k][-1][0] for k in events):
            return rows
        if time.monotonic() > deadline:
            behind = [k for k in events if rows[k] is None or rows[k].valid_from < events[k][-1][0]]
            raise AssertionError(f"{spec.name}: {len(behind)} entities not caught up after {timeout_s} s: {behind[:5]}")
        time.sleep(2)


def mismatches(spec: ViewSpec, rows: dict[str, Any], events: Events) -> list[str]:
    """Entities whose online value differs from the oracle over `events` at its valid_from."""
    bad = []
    for key, row in rows.items():
        got = tuple(row.values[f] for f in spec.feature_names)
        if not close(got, values_at(spec.features, events.get(key, []), row.valid_from)):
            bad.append(key)
    return bad


def test_a_savepoint_of_view_a_restores_into_a_job_with_views_a_and_b(tmp_path: Path, unique_name: str) -> None:
    topic = f"{unique_name}.transactions"
    a = dataclasses.replace(USER_TRANSACTIONS, source_topic=topic)
    merchants = merchant_activity.compile()
    # Lists (last_n) are not yet carried to Iceberg by this tree's history sink.
    b = dataclasses.replace(
        merchants, source_topic=topic, features=tuple(f for f in merchants.features if f.value_type != "list<double>")
    )
    settings = load_settings(cassandra={"keyspace": unique_name}, iceberg={"namespace": unique_name}, job={"checkpoint_interval_ms": 1_000})
    end = (now_ms() // HOUR_MS) * HOUR_MS
    first = list(transactions(StreamShape(seed=21, events=300, users=6, days=3, end_ms=end - DAY_MS, disorder_ms=0)))
    second = list(transactions(StreamShape(seed=22, events=200, users=6, days=1, end_ms=end, disorder_ms=0)))
    assert max(r["event_time"] for r in first) < min(r["event_time"] for r in second)
    group = f"{unique_name}-group"

    # Phase 1: the job {A} over the first events, stopped with a savepoint.
    produce(StreamShape(seed=21, events=300, users=6, days=3, end_ms=end - DAY_MS, disorder_ms=0), topic,
            settings.kafka.bootstrap, partitions=1, progress=False)
    client = start([a], settings, group)
    try:
        wait_until_caught_up(a, settings, by_key(first, a))
        savepoint = stop_with_savepoint(client, (tmp_path / "savepoints").as_uri())
    except BaseException:
        client.cancel().result()
        raise

    # Phase 2: the job {A, B} from that savepoint, over the second events.
    client = start([a, b], settings, group, savepoint=savepoint)
    try:
        produce(StreamShape(seed=22, events=200, users=6, days=1, end_ms=end, disorder_ms=0), topic,
                settings.kafka.bootstrap, partitions=1, progress=False)
        a_all, a_second = by_key(first + second, a), by_key(second, a)
        b_all, b_second = by_key(first + second, b), by_key(second, b)
        a_rows = wait_until_caught_up(a, settings, a_all)
        b_rows = wait_until_caught_up(b, settings, b_second)
    finally:
        client.cancel().result()

    # A continued from its state: the oracle over all events, not over the second ones alone.
    assert mismatches(a, a_rows, a_all) == []
    assert len(mismatches(a, a_rows, a_second)) == len(a_rows)
    # B started empty at the savepoint's offsets: it saw only the second events.
    assert mismatches(b, b_rows, b_second) == []
    assert mismatches(b, b_rows, b_all) != []
    # Nothing of B's existed before the upgrade: merchants seen only in the first events have no value.
    only_first = sorted(set(by_key(first, b)) - set(b_second))
    assert only_first and all(r is None for r in online_rows(b, settings, only_first).values())
