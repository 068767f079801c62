"""The whole path for real: Kafka -> Flink job -> Cassandra + Iceberg, checked against the oracle.

Reads go back through the real drivers (kafka-python, cassandra-driver, pyiceberg), so this
fails if any of the services is not really used.
"""

from __future__ import annotations

import dataclasses
import random
import time

import pandas as pd
import pytest

from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.kafka.dead_letters import read_dead_letters
from features.transactions import USER_TRANSACTIONS
from jobs.sources import dead_letter_topic
from skewless.events.producer import MALFORMED_KINDS, produce
from skewless.events.synthetic import StreamShape, transactions
from skewless.runner import run_job
from skewless.settings import load_settings
from skewless.training import get_historical_features
from tests.oracle import close, values_agree, values_at

MALFORMED = 25
HOUR_MS = 3_600_000


def shape_ending_now() -> StreamShape:
    """Events up to the last full hour: online values are judged against the wall clock (TTL)."""
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    return StreamShape(seed=11, events=6_000, users=40, days=62, end_ms=end, disorder_ms=30_000)


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory):
    name = f"p{random.Random().getrandbits(40):010x}"
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{name}.transactions")
    settings = load_settings(cassandra={"keyspace": name}, iceberg={"namespace": name}, job={"checkpoint_interval_ms": 2_000})
    shape = shape_ending_now()
    report = produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=3, malformed=MALFORMED, progress=False)
    horizon = shape.end_ms + HOUR_MS // 2  # expiry updates continue past the last event, up to "now"
    run_job(spec, settings, bounded=True, until=horizon)
    events = sorted(((r["event_time"], r) for r in transactions(shape)), key=lambda e: e[0])
    by_user: dict[str, list] = {}
    for ts, r in events:
        by_user.setdefault(r["user_id"], []).append((ts, r))
    return spec, settings, report, horizon, by_user


def history_rows(spec, settings) -> list[dict]:
    """The history as it happened: per (entity, valid_from), the highest version (corrections win)."""
    catalog = CatalogConfig.from_settings(settings)
    table = load_pyiceberg_catalog(catalog).load_table(f"{settings.iceberg.namespace}.{spec.name}_history")
    latest: dict[tuple, dict] = {}
    for row in table.scan().to_arrow().to_pylist():
        key = (row[spec.entity_key], row["valid_from"])
        if key not in latest or row["version"] > latest[key]["version"]:
            latest[key] = row
    return list(latest.values())


def check_online(spec, settings, by_entity: dict, horizon: int) -> int:
    """Cassandra serves each entity the oracle's value at the horizon, or nothing once its last
    change is older than the TTL; returns how many entities were live."""
    last_change: dict[str, int] = {}
    for row in history_rows(spec, settings):
        valid_from = int(row["valid_from"].timestamp() * 1000)
        last_change[row[spec.entity_key]] = max(valid_from, last_change.get(row[spec.entity_key], valid_from))
    reader = OnlineReader(OnlineReaderConfig.for_view(spec, settings))
    try:
        online = reader.get(list(by_entity))
        now = int(time.time() * 1000)
    finally:
        reader.close()
    assert set(online) == set(by_entity)
    live = 0
    for entity, events in by_entity.items():
        if now - last_change[entity] > spec.ttl_ms:
            assert online[entity] is None, f"{spec.name} {entity}: expired value served"
            continue
        live += 1
        row = online[entity]
        assert row is not None, (spec.name, entity)
        got = tuple(row[f] for f in spec.feature_names)
        assert values_agree(spec.features, got, events, horizon), (spec.name, entity, got)
    return live


def test_cassandra_holds_the_oracle_value_at_the_end_of_the_stream(pipeline_run) -> None:
    spec, settings, _, horizon, by_user = pipeline_run
    assert check_online(spec, settings, by_user, horizon) >= len(by_user) // 2


def test_every_history_row_equals_the_oracle_at_its_valid_from(pipeline_run) -> None:
    spec, settings, _, _, by_user = pipeline_run
    history = history_rows(spec, settings)
    assert len(history) >= sum(len(v) for v in by_user.values()) // 2
    for row in history:
        valid_from = int(row["valid_from"].timestamp() * 1000)
        want = values_at(spec.features, by_user[row[spec.entity_key]], valid_from)
        assert close(tuple(row[f] for f in spec.feature_names), want), row


def test_training_set_equals_the_oracle_at_every_label_time(pipeline_run) -> None:
    spec, settings, _, _, by_user = pipeline_run
    rng = random.Random(5)
    labels = []
    for user, events in by_user.items():
        first = events[0][0]
        labels.append((user, first - 1, "before-first-event"))
        for ts, _ in rng.sample(events, min(6, len(events))):
            labels += [(user, ts, "at-event"), (user, ts - 1, "just-before"), (user, ts + 3_600_000, "hour-after")]
    frame = pd.DataFrame(labels, columns=[spec.entity_key, "timestamp", "why"])
    result = get_historical_features(frame, spec, settings=settings).to_pandas()
    assert list(result["why"]) == list(frame["why"])  # order and label columns pass through
    for (user, t, why), (_, out) in zip(labels, result.iterrows()):
        events = by_user[user]
        got = tuple(None if pd.isna(out[f]) else out[f] for f in spec.feature_names)
        if why == "before-first-event" or t < events[0][0]:
            assert all(v is None for v in got), (user, t, got)
            continue
        last_event = max(ts for ts, _ in events if ts <= t)
        if t - last_event > spec.ttl_ms:
            continue  # covered by the TTL tests of the training set
        assert close(got, values_at(spec.features, events, t)), (user, t, why, got)


def test_malformed_records_are_dead_lettered_once_with_reason_and_origin(pipeline_run) -> None:
    spec, settings, report, _, _ = pipeline_run
    letters = read_dead_letters(settings.kafka.bootstrap, dead_letter_topic(spec.source_topic))
    assert len(letters) == MALFORMED == sum(report.malformed.values())
    assert len({letter.origin for letter in letters}) == len(letters)  # exactly once: no record twice
    reasons, codes = [], []
    for letter in letters:
        assert letter.origin[0] == spec.source_topic
        assert letter.origin[2] >= 0
        reasons.append(letter.headers["skewless.reason"])
        codes.append(letter.headers["skewless.reason-code"])
    assert {kind: report.malformed[kind] for kind in MALFORMED_KINDS} == report.malformed
    assert sum("marker" in r for r in reasons) == report.malformed["garbage"] == codes.count("not_avro")
    assert sum("unknown writer schema" in r for r in reasons) == report.malformed["unknown_schema"] == codes.count("unknown_schema")
    assert sum("missing entity key" in r for r in reasons) == report.malformed["missing_key"] == codes.count("missing_key")
    assert sum("absurd event time" in r for r in reasons) == report.malformed["seconds_not_ms"] == codes.count("absurd_event_time")
    assert sum("truncated" in r for r in reasons) == report.malformed["truncated"] == codes.count("corrupt_avro")
