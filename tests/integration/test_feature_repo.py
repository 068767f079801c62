"""The example feature repo for real: `apply` registers features/, the job is generated from the
registry, and every view it runs (row logic, several windows, lifetime last_n included) is
checked in Cassandra and in the Iceberg history against the brute-force oracle, with a late
event that produces correction rows in each view."""

from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from skewless.events.producer import produce, transaction_codec
from skewless.events.synthetic import StreamShape, transactions
from skewless.expressions import compile_row_logic
from skewless.registry.store import Registry
from skewless.registry.catalogue import Catalogue
from skewless.runner import run_job
from skewless.settings import load_settings
from skewless.spec import ViewSpec
from tests.integration.test_pipeline import HOUR_MS, check_online, history_rows
from tests.oracle import values_agree

REPO = Path(__file__).resolve().parents[2]
MINUTE_MS = 60_000
Events = list[tuple[int, dict]]


def events_by_entity(spec: ViewSpec, records: list[dict]) -> dict[str, Events]:
    """The view's events per entity after its row logic (derived columns, filter), time-ordered."""
    logic = compile_row_logic(spec)
    by_entity: dict[str, Events] = {}
    for record in records:
        row = logic(dict(record))
        if row is not None:
            by_entity.setdefault(row[spec.source_key_field], []).append((row["event_time"], row))
    for events in by_entity.values():
        events.sort(key=lambda e: e[0])
    return by_entity


@pytest.fixture(scope="module")
def repo_run(tmp_path_factory: pytest.TempPathFactory):
    name = f"r{random.Random().getrandbits(40):010x}"
    registry_url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"
    with Registry(registry_url) as registry:
        plan = registry.apply(REPO / "features")
    assert not plan.refused, plan
    views = Catalogue(registry_url).job((), "transactions")
    assert {s.name for s in views.specs} == {"user_transactions", "merchant_activity"}
    topic = f"{name}.transactions"
    specs = [dataclasses.replace(s, source_topic=topic, allowed_lateness_ms=HOUR_MS) for s in views.specs]
    schemas = []
    for i, text in enumerate(views.schema_texts):
        schemas.append(tmp_path_factory.mktemp("schemas") / f"schema{i}.avsc")
        schemas[-1].write_text(text)

    settings = load_settings(cassandra={"keyspace": name}, iceberg={"namespace": name}, job={"checkpoint_interval_ms": 2_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    # One partition and no disorder: the watermark when the late event arrives is exactly
    # the last event's time minus the out-of-orderness bound.
    shape = StreamShape(seed=23, events=3_000, users=30, days=20, end_ms=end, disorder_ms=0)
    produce(shape, topic, settings.kafka.bootstrap, partitions=1, progress=False)
    stream = list(transactions(shape))
    last = max(stream, key=lambda r: r["event_time"])
    late = {**last, "event_id": "late-within", "amount": 900.0, "event_time": last["event_time"] - 10 * MINUTE_MS}
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    producer.send(topic, key=late["user_id"].encode(), value=transaction_codec().encode(late), timestamp_ms=late["event_time"])
    producer.flush()
    producer.close()

    horizon = end + HOUR_MS // 2
    run_job(specs, settings, bounded=True, until=horizon, schemas=schemas or None)
    return specs, settings, horizon, [*stream, late], late


def test_every_view_of_the_repo_ran_from_the_registry(repo_run) -> None:
    specs, settings, _, records, _ = repo_run
    for spec in specs:
        assert history_rows(spec, settings), f"{spec.name}: no history"


@pytest.mark.parametrize("view", ["user_transactions", "merchant_activity"])
def test_history_equals_the_oracle_and_the_late_event_corrected_it(repo_run, view: str) -> None:
    specs, settings, _, records, late = repo_run
    spec = next(s for s in specs if s.name == view)
    by_entity = events_by_entity(spec, records)
    rows = history_rows(spec, settings)
    assert len(rows) >= sum(len(e) for e in by_entity.values()) // 2
    for row in rows:
        valid_from = int(row["valid_from"].timestamp() * 1000)
        got = tuple(row[f] for f in spec.feature_names)
        assert values_agree(spec.features, got, by_entity[row[spec.entity_key]], valid_from), (view, row)
    # The late event's entity has its own instant in the history and a corrected row (a
    # revision above 0) at the later instant it changed.
    entity = late[spec.source_key_field]
    mine = [r for r in rows if r[spec.entity_key] == entity]
    assert late["event_time"] in {int(r["valid_from"].timestamp() * 1000) for r in mine}
    assert any(r["version"] % 1000 >= 1 for r in mine), f"{view}: no correction row for {entity}"


@pytest.mark.parametrize("view", ["user_transactions", "merchant_activity"])
def test_cassandra_serves_the_oracle_value_or_nothing_past_the_ttl(repo_run, view: str) -> None:
    specs, settings, horizon, records, _ = repo_run
    spec = next(s for s in specs if s.name == view)
    assert check_online(spec, settings, events_by_entity(spec, records), horizon) >= 1
