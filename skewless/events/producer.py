"""Produce a synthetic Avro transaction stream to Kafka, optionally salted with malformed records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.kafka.topics import KEEP_FOREVER, ensure_topic, unreachable
from skewless.events.codec import EventCodec, single_object_header
from skewless.events.synthetic import StreamShape, transactions
from skewless.progress import Meter

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "transactions.avsc"

# Each kind of malformed record the pipeline must dead-letter, with the record that stands for it.
MALFORMED_KINDS = ("garbage", "truncated", "unknown_schema", "missing_key", "seconds_not_ms")


@dataclass
class ProduceReport:
    topic: str
    events: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    max_event_time: int | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def transaction_codec() -> EventCodec:
    return EventCodec([SCHEMA], key_field="user_id", time_field="event_time")


def malformed_value(kind: str, codec: EventCodec, record: dict) -> bytes:
    good = codec.encode(record)
    if kind == "garbage":
        return b"not avro at all: " + record["event_id"].encode()
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "unknown_schema":
        other = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "long"}]}
        return single_object_header(other) + b"\x02"
    if kind == "missing_key":
        return codec.encode({**record, "user_id": ""})
    if kind == "seconds_not_ms":
        return codec.encode({**record, "event_time": record["event_time"] // 1000})
    raise ValueError(kind)


def produce(
    shape: StreamShape, topic: str, bootstrap: str, partitions: int = 2, malformed: int = 0, progress: bool = True
) -> ProduceReport:
    """Send the stream; every `len/malformed`-th event is followed by a malformed record."""
    ensure_topic(bootstrap, topic, partitions, KEEP_FOREVER)  # names the problem: a bad topic, no broker
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
            compression_type=None,
            max_in_flight_requests_per_connection=1,  # keep per-partition order on retries
        )
    except (KafkaError, OSError) as exc:
        raise unreachable(bootstrap) from exc
    codec = transaction_codec()
    report = ProduceReport(topic=topic, malformed={k: 0 for k in MALFORMED_KINDS})
    every = max(1, shape.events // malformed) if malformed else 0
    meter = Meter(f"produce {topic}", total=shape.events + malformed) if progress else None
    sent_bad = 0
    for i, record in enumerate(transactions(shape)):
        key = record["user_id"].encode()
        # Kafka's record timestamp carries the event time: the source derives watermarks from it.
        producer.send(topic, key=key, value=codec.encode(record), timestamp_ms=record["event_time"])
        report.events += 1
        if report.max_event_time is None or record["event_time"] > report.max_event_time:
            report.max_event_time = record["event_time"]
        salt = bool(every) and sent_bad < malformed and i % every == every - 1
        if salt:
            kind = MALFORMED_KINDS[sent_bad % len(MALFORMED_KINDS)]
            producer.send(topic, key=key, value=malformed_value(kind, codec, record), timestamp_ms=record["event_time"])
            report.malformed[kind] += 1
            sent_bad += 1
        if meter:
            meter.advance(2 if salt else 1)
    producer.flush()
    producer.close()
    if meter:
        meter.close()
    return report
