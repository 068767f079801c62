"""Late data for real: within the allowed lateness an event corrects the values it changes
(new rows with a higher revision, bitemporal via written_at); beyond it, one dead letter."""

from __future__ import annotations

import dataclasses
import random
import time

from kafka import KafkaProducer

from connectors.kafka.dead_letters import read_dead_letters
from features.transactions import USER_TRANSACTIONS
from jobs.sources import dead_letter_topic
from skewless.events.producer import produce, transaction_codec
from skewless.events.synthetic import StreamShape, transactions
from skewless.runner import run_job
from skewless.settings import load_settings
from tests.integration.test_pipeline import HOUR_MS, history_rows
from tests.oracle import close, values_at

MINUTE_MS = 60_000


def test_a_late_event_corrects_history_and_a_too_late_one_is_dead_lettered() -> None:
    name = f"l{random.Random().getrandbits(40):010x}"
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{name}.transactions", allowed_lateness_ms=HOUR_MS)
    settings = load_settings(cassandra={"keyspace": name}, iceberg={"namespace": name}, job={"checkpoint_interval_ms": 2_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    # One partition: the watermark when the late events arrive is exactly last event time - 1 min.
    shape = StreamShape(seed=5, events=400, users=5, days=10, end_ms=end, disorder_ms=0)
    produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=1, progress=False)
    stream = list(transactions(shape))
    last = max(stream, key=lambda r: r["event_time"])
    codec = transaction_codec()
    within = {**last, "event_id": "late-within", "amount": 1000.0, "event_time": last["event_time"] - 10 * MINUTE_MS}
    beyond = {**last, "event_id": "late-beyond", "amount": 2000.0, "event_time": last["event_time"] - 3 * HOUR_MS}
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    for record in (within, beyond):
        producer.send(
            spec.source_topic, key=record["user_id"].encode(), value=codec.encode(record), timestamp_ms=record["event_time"]
        )
    producer.flush()
    producer.close()

    run_job(spec, settings, bounded=True, until=end + HOUR_MS // 2)

    user = last["user_id"]
    events = sorted(((r["event_time"], r) for r in [*stream, within] if r["user_id"] == user), key=lambda e: e[0])
    rows = [r for r in history_rows(spec, settings) if r[spec.entity_key] == user]
    by_instant = {int(r["valid_from"].timestamp() * 1000): r for r in rows}
    # The late event's own instant is in the history, and the last event's instant was
    # corrected: a later revision that includes the late amount.
    assert within["event_time"] in by_instant
    corrected = by_instant[last["event_time"]]
    assert corrected["version"] % 1000 >= 1
    assert corrected["max_amount_7d"] == 1000.0
    for instant, row in by_instant.items():
        want = values_at(spec.features, events, instant)
        assert close(tuple(row[f] for f in spec.feature_names), want), (instant, row)

    letters = read_dead_letters(settings.kafka.bootstrap, dead_letter_topic(spec.source_topic))
    assert len(letters) == 1
    headers = letters[0].headers
    # Refused by the row-logic stage, before the tile operator: with the record's own bytes.
    assert headers["skewless.stage"] == "logic" and headers["skewless.reason-code"] == "late"
    assert headers["skewless.views"] == f"{spec.name}@{spec.version}"
    assert headers["skewless.reason"].startswith(f"{spec.name}@{spec.version}: late event")
    assert "allowed lateness of 3600000 ms" in headers["skewless.reason"]
    assert codec.decode(letters[0].value)["event_id"] == "late-beyond"
