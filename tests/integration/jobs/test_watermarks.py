"""Watermarks come from the decoded event time: a producer's clock cannot make good events late,
and an event time beyond the future bound is dead-lettered without moving the watermark."""

from __future__ import annotations

import dataclasses
import time

from kafka import KafkaConsumer, KafkaProducer

from connectors.kafka.topics import ensure_topic
from features.transactions import USER_TRANSACTIONS
from jobs.sources import dead_letter_topic
from skewless.events.producer import transaction_codec
from skewless.runner import run_job
from skewless.settings import load_settings
from tests.integration.test_pipeline import history_rows

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


def dead_letters(topic: str, bootstrap: str) -> list[tuple[dict[str, str], bytes]]:
    consumer = KafkaConsumer(
        dead_letter_topic(topic),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        consumer_timeout_ms=5_000,
    )
    try:
        return [({k: v.decode() for k, v in m.headers}, m.value) for m in consumer]
    finally:
        consumer.close()


def test_a_bad_producer_clock_and_future_event_times_move_no_watermark(unique_name: str) -> None:
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{unique_name}.transactions", allowed_lateness_ms=0)
    settings = load_settings(cassandra={"keyspace": unique_name}, iceberg={"namespace": unique_name}, job={"checkpoint_interval_ms": 2_000})
    codec = transaction_codec()
    now = int(time.time() * 1000)
    start = (now // HOUR_MS) * HOUR_MS - 10 * HOUR_MS
    good = [
        {"event_id": f"e{i}", "user_id": f"user-{i % 3}", "merchant_id": "m-1", "amount": float(i + 1),
         "currency": "EUR", "event_time": start + i * MINUTE_MS}
        for i in range(300)
    ]
    future = {**good[0], "event_id": "future", "event_time": now + HOUR_MS}
    ensure_topic(settings.kafka.bootstrap, spec.source_topic, 1)
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    # Garbage stamped 50 minutes ahead, then a well-formed event from an hour ahead, then the
    # good events (one partition, so their order is the order they are read).
    for _ in range(2):
        producer.send(spec.source_topic, value=b"\x00garbage", timestamp_ms=now + 50 * MINUTE_MS, partition=0)
    producer.send(spec.source_topic, value=codec.encode(future), timestamp_ms=now + 50 * MINUTE_MS, partition=0)
    for record in good:
        # Producer timestamps far ahead too: they must play no part.
        producer.send(spec.source_topic, value=codec.encode(record), timestamp_ms=now + 50 * MINUTE_MS, partition=0)
    producer.flush()
    producer.close()

    run_job(spec, settings, bounded=True, until=start + 300 * MINUTE_MS)

    letters = dead_letters(spec.source_topic, settings.kafka.bootstrap)
    offsets = sorted(int(h["skewless.source.offset"]) for h, _ in letters)
    assert offsets == [0, 1, 2], letters  # the two garbage records and the future event, nothing else
    future_reason = next(h["skewless.reason"] for h, _ in letters if h["skewless.source.offset"] == "2")
    assert "ahead of the clock" in future_reason
    instants = {int(r["valid_from"].timestamp() * 1000) for r in history_rows(spec, settings)}
    assert {r["event_time"] for r in good} <= instants


def test_an_idle_partition_does_not_hold_back_the_watermark(unique_name: str) -> None:
    """Events in partition 0 only: once partition 1 has been silent for the idle timeout, the
    watermark follows partition 0 and tile expiries fire (rows at instants with no event)."""
    from tests.integration.jobs.test_restarts import LiveJob, wait_for

    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{unique_name}.transactions")
    settings = load_settings(cassandra={"keyspace": unique_name}, iceberg={"namespace": unique_name}, job={"checkpoint_interval_ms": 1_000, "source_idle_timeout_ms": 2_000})
    ensure_topic(settings.kafka.bootstrap, spec.source_topic, 2)
    codec = transaction_codec()
    start = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS - 48 * HOUR_MS
    def event(i: int, user: str, t: int) -> dict:
        return {"event_id": f"e{i}", "user_id": user, "merchant_id": "m-1", "amount": 1.0, "currency": "EUR", "event_time": t}

    # user-1 for two hours, user-2 for 40: user-1's hourly tiles of the 1-day sum leave the
    # window a day later, an instant only user-1's timers reach, once the watermark passes it.
    early = [event(i, "user-1", start + i * 10 * MINUTE_MS) for i in range(12)]
    events = early + [event(100 + i, "user-2", start + i * 40 * MINUTE_MS) for i in range(60)]
    events.sort(key=lambda r: r["event_time"])
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    for record in events:
        producer.send(spec.source_topic, value=codec.encode(record), partition=0)
    producer.flush()
    producer.close()
    job = LiveJob(spec, settings)
    last_early = max(r["event_time"] for r in early)

    def expired() -> bool:
        return any(
            r[spec.entity_key] == "user-1" and int(r["valid_from"].timestamp() * 1000) > last_early
            for r in history_rows(spec, settings)
        )

    try:
        wait_for(expired, 240, "user-1's expiry updates, which need the watermark past partition 1's silence")
    finally:
        job.kill()
