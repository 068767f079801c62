"""A producer that sends the synthetic stream at a fixed rate while the job runs and is killed.

`skewless.events.producer.produce` sends as fast as it can; a live test needs the events to
keep arriving through every fault, so this one paces itself. Event times come from the
synthetic shape (in the past), so the job sees a replay of history at wall-clock speed,
with malformed records mixed in that must all end up dead-lettered exactly once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaProducer

from connectors.kafka.topics import KEEP_FOREVER, ensure_topic
from skewless.events.producer import MALFORMED_KINDS, malformed_value, transaction_codec
from skewless.events.synthetic import StreamShape, transactions


@dataclass
class Sent:
    events: int = 0
    malformed: dict[tuple[int, int], str] = field(default_factory=dict)  # (partition, offset) -> kind
    errors: list[str] = field(default_factory=list)


class LiveProducer(threading.Thread):
    """Sends `shape` to `topic` at `rate` events/s on a daemon thread; `sent` fills in as acks arrive."""

    def __init__(self, shape: StreamShape, topic: str, bootstrap: str, rate: float, malformed: int, partitions: int) -> None:
        super().__init__(name="chaos-producer", daemon=True)
        self.shape, self.topic, self.bootstrap = shape, topic, bootstrap
        self.rate, self.malformed = rate, malformed
        self.sent = Sent()
        self.finished = threading.Event()
        self.stopping = threading.Event()
        self.acked = 0
        self.finished_at: float | None = None  # monotonic time the last record was acknowledged
        self._lock = threading.Lock()
        # Created here, before the job starts, so the job never races the topic's creation.
        ensure_topic(bootstrap, topic, partitions, KEEP_FOREVER)

    @property
    def total(self) -> int:
        return self.shape.events + self.malformed

    def run(self) -> None:
        try:
            self._send_all()
        except Exception as exc:  # reported by the harness, which fails the test
            self.sent.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.finished_at = time.monotonic()
            self.finished.set()

    def _send_all(self) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            # Idempotent, with retries and timeouts that outlast a broker restart: the broker
            # outage must not lose or duplicate what the test later counts.
            enable_idempotence=True,
            linger_ms=5,
            delivery_timeout_ms=600_000,
            max_block_ms=600_000,
        )
        codec = transaction_codec()
        every = max(1, self.shape.events // self.malformed) if self.malformed else 0
        bad = 0
        started = time.monotonic()
        for i, record in enumerate(transactions(self.shape)):
            if self.stopping.is_set():
                break
            ahead = started + i / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            key = record["user_id"].encode()
            # The Kafka timestamp carries the event time, as the project's producer does.
            future = producer.send(self.topic, key=key, value=codec.encode(record), timestamp_ms=record["event_time"])
            future.add_callback(self._acked).add_errback(self._failed)
            self.sent.events += 1
            if every and bad < self.malformed and i % every == every - 1:
                kind = MALFORMED_KINDS[bad % len(MALFORMED_KINDS)]
                value = malformed_value(kind, codec, record)
                future = producer.send(self.topic, key=key, value=value, timestamp_ms=record["event_time"])
                future.add_callback(self._malformed_acked, kind).add_errback(self._failed)
                bad += 1
        producer.flush()
        producer.close()

    def _acked(self, _metadata: object) -> None:
        with self._lock:
            self.acked += 1

    def _malformed_acked(self, kind: str, metadata: object) -> None:
        with self._lock:
            self.acked += 1
            self.sent.malformed[(metadata.partition, metadata.offset)] = kind  # type: ignore[attr-defined]

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.sent.errors.append(f"{type(exc).__name__}: {exc}")
