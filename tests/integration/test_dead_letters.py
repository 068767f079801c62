"""Dead letters for real: exactly once, one per record, and never too big for Kafka.

A fresh topic read by two views gets good events and two records of 1,048,400 bytes (a size
the broker takes, too big to send back with headers): one that is not Avro at all, one whose
user and merchant are blank, which both views refuse. The bounded job must succeed, write one
truncated letter per big record (the second naming both views), compute the good events'
features right, and leave every letter in the topic once, committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import time

import pytest
from kafka import KafkaProducer

from connectors.kafka.dead_letters import read_dead_letters
from features.merchants import merchant_activity
from features.transactions import USER_TRANSACTIONS
from jobs.sources import dead_letter_topic
from skewless.events.producer import produce, transaction_codec
from skewless.events.synthetic import StreamShape, transactions
from skewless.runner import run_job
from skewless.settings import load_settings
from tests.integration.test_feature_repo import events_by_entity
from tests.integration.test_pipeline import HOUR_MS, history_rows
from tests.oracle import values_agree

BIG = 1_048_400
LIMIT = 1_000_000  # io.skewless.flink.DeadLetters.MAX_BYTES


def avro_of_size(codec, record: dict, size: int) -> bytes:
    """record with its currency padded so that its encoding is exactly `size` bytes."""
    pad = size
    for _ in range(5):
        value = codec.encode({**record, "currency": "x" * pad})
        if len(value) == size:
            return value
        pad -= len(value) - size
    raise AssertionError(f"no padding gives {size} bytes")


@pytest.fixture(scope="module")
def oversize_run():
    name = f"d{random.Random().getrandbits(40):010x}"
    topic = f"{name}.transactions"
    specs = [dataclasses.replace(s, source_topic=topic) for s in (USER_TRANSACTIONS, merchant_activity.compile())]
    settings = load_settings(cassandra={"keyspace": name}, iceberg={"namespace": name}, job={"checkpoint_interval_ms": 2_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    shape = StreamShape(seed=7, events=500, users=8, days=5, end_ms=end, disorder_ms=0)
    produce(shape, topic, settings.kafka.bootstrap, partitions=1, progress=False)
    stream = list(transactions(shape))
    last = max(stream, key=lambda r: r["event_time"])
    codec = transaction_codec()
    garbage = (b"not avro at all " * (BIG // 16 + 1))[:BIG]
    nobody = avro_of_size(codec, {**last, "event_id": "nobody", "user_id": "", "merchant_id": " "}, BIG)
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    offsets = {}
    for label, value in (("garbage", garbage), ("nobody", nobody)):
        meta = producer.send(topic, value=value, timestamp_ms=last["event_time"]).get(timeout=30)
        offsets[label] = meta.offset
    producer.close()

    run_job(specs, settings, bounded=True, until=end + HOUR_MS // 2)  # raises if the job fails
    return specs, settings, stream, {"garbage": garbage, "nobody": nobody}, offsets


def test_each_oversize_record_makes_one_truncated_letter_within_the_limit(oversize_run) -> None:
    specs, settings, _, values, offsets = oversize_run
    topic = specs[0].source_topic
    letters = read_dead_letters(settings.kafka.bootstrap, dead_letter_topic(topic))
    by_offset = {letter.origin[2]: letter for letter in letters}
    assert sorted(by_offset) == sorted(offsets.values()) and len(letters) == 2
    for label, offset in offsets.items():
        letter, original = by_offset[offset], values[label]
        assert letter.origin == (topic, 0, offset)
        assert letter.size <= LIMIT
        assert letter.headers["skewless.truncated"] == "true"
        assert letter.headers["skewless.original-size"] == str(BIG)
        assert letter.headers["skewless.sha256"] == hashlib.sha256(original).hexdigest()
        assert len(letter.value) > LIMIT - 2_000 and original.startswith(letter.value)
    assert by_offset[offsets["garbage"]].headers["skewless.reason-code"] == "not_avro"
    # Both views refuse the blank-keyed record: one letter names both, with each reason.
    nobody = by_offset[offsets["nobody"]].headers
    assert nobody["skewless.views"] == ",".join(f"{s.name}@{s.version}" for s in specs)
    assert nobody["skewless.reason-code"] == "missing_key,missing_key"
    assert nobody["skewless.reason"] == (
        "user_transactions@1: missing entity key 'user_id'; merchant_activity@1: missing entity key 'merchant_id'"
    )


def test_the_good_events_features_are_right(oversize_run) -> None:
    specs, settings, stream, _, _ = oversize_run
    for spec in specs:
        by_entity = events_by_entity(spec, stream)
        rows = history_rows(spec, settings)
        assert len(rows) >= sum(len(e) for e in by_entity.values()) // 2, spec.name
        for row in rows:
            valid_from = int(row["valid_from"].timestamp() * 1000)
            got = tuple(row[f] for f in spec.feature_names)
            assert values_agree(spec.features, got, by_entity[row[spec.entity_key]], valid_from), (spec.name, row)


def test_letters_are_read_committed_and_each_record_is_there_once(oversize_run) -> None:
    specs, settings, _, _, _ = oversize_run
    topic = dead_letter_topic(specs[0].source_topic)
    # A letter of an aborted transaction, as a failed attempt of the job leaves behind.
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, transactional_id=f"{topic}-aborted")
    producer.init_transactions()
    producer.begin_transaction()
    origin = [("skewless.source.topic", b"x"), ("skewless.source.partition", b"0"), ("skewless.source.offset", b"0")]
    producer.send(topic, value=b"aborted", headers=origin)
    producer.flush()  # in the log, then aborted (an abort drops what was not sent yet)
    producer.abort_transaction()
    producer.close()
    committed = read_dead_letters(settings.kafka.bootstrap, topic)
    everything = read_dead_letters(settings.kafka.bootstrap, topic, committed_only=False)
    assert b"aborted" in [letter.value for letter in everything]
    assert b"aborted" not in [letter.value for letter in committed]
    assert len(committed) == 2 == len({letter.origin for letter in committed})
