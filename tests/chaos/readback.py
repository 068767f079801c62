"""Reading back what was really produced and what the job really wrote, through the real clients.

The oracle and the dead-letter check start from the topic's actual content rather than from
what the producer meant to send, so a retry across the broker outage cannot skew them.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig, now_ms
from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import history_identifier
from skewless.events.codec import DecodeError
from skewless.events.producer import transaction_codec
from skewless.expressions import compile_row_logic
from skewless.settings import Settings
from skewless.spec import ViewSpec

Origin = tuple[str, int, int]  # (topic, partition, offset)
Events = list[tuple[int, dict[str, Any]]]  # (event time, record), time-ordered: the oracle's input


def read_all(bootstrap: str, topic: str, read_committed: bool = False, timeout_s: float = 300.0) -> Iterator[ConsumerRecord]:
    """Every record of `topic` up to its end (for read_committed: its last stable offset)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed" if read_committed else "read_uncommitted",
        max_poll_records=5_000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        # Positions, not record counts: transaction markers take offsets too.
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end offsets {end} in {timeout_s:.0f} s")
            for records in consumer.poll(timeout_ms=1_000).values():
                yield from records
    finally:
        consumer.close()


@dataclass
class TopicContents:
    by_entity: dict[str, Events] = field(default_factory=dict)
    malformed: set[Origin] = field(default_factory=set)
    max_time: dict[int, int] = field(default_factory=dict)  # partition -> its latest good event time
    good: int = 0

    def events_until(self, entity: str, t: int) -> Events:
        """The entity's events with event time <= t (the oracle needs no later ones)."""
        events = self.by_entity.get(entity, [])
        return events[: bisect.bisect_right(events, t, key=lambda e: e[0])]


def read_topic(bootstrap: str, spec: ViewSpec) -> TopicContents:
    """The topic's records split into the view's events per entity (after its row logic, with
    only the columns its features read: `make chaos` holds a million) and malformed ones."""
    codec = transaction_codec()
    logic = compile_row_logic(spec)
    columns = {f.column for f in spec.features if f.column}
    out = TopicContents()
    for record in read_all(bootstrap, spec.source_topic):
        try:
            event = codec.decode(record.value)
        except DecodeError:
            out.malformed.add((record.topic, record.partition, record.offset))
            continue
        ts = event[spec.event_time_field]
        # The watermark follows every decoded event, whether the view keeps it or not.
        out.max_time[record.partition] = max(ts, out.max_time.get(record.partition, ts))
        out.good += 1
        row = logic(event)
        if row is not None:
            kept = {c: row.get(c) for c in columns}
            out.by_entity.setdefault(row[spec.source_key_field], []).append((ts, kept))
    for events in out.by_entity.values():
        events.sort(key=lambda e: e[0])
    return out


@dataclass(frozen=True)
class Letter:
    origin: Origin
    reason: str


def read_dead_letters(bootstrap: str, topic: str) -> list[Letter]:
    """The committed dead letters of `topic` (read_committed: a transactional sink's aborted
    attempts do not count), in log order."""
    letters = []
    for record in read_all(bootstrap, topic, read_committed=True):
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        origin = (
            headers.get("skewless.source.topic", "?"),
            int(headers.get("skewless.source.partition", "-1")),
            int(headers.get("skewless.source.offset", "-1")),
        )
        letters.append(Letter(origin, headers.get("skewless.reason", "")))
    return letters


def group_progress(bootstrap: str, topic: str) -> tuple[int | None, int]:
    """(records of `topic` the consumer group reading it has committed, whatever the group's
    name, or None while none has; records in the topic)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-lag", request_timeout_ms=10_000)
    try:
        groups = [g["group_id"] for g in admin.list_groups()]
        committed: dict[TopicPartition, int] = {}
        if groups:
            for offsets in admin.list_group_offsets({g: None for g in groups}).values():
                for tp, meta in offsets.items():
                    if tp.topic == topic and meta.offset >= 0:
                        committed[tp] = max(meta.offset, committed.get(tp, -1))
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        end = sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
    return (sum(committed.values()) if committed else None), end


def consumer_lag(bootstrap: str, topic: str) -> int | None:
    """Records of `topic` the job's consumer group has not committed yet (None: no commit yet)."""
    committed, end = group_progress(bootstrap, topic)
    return None if committed is None else end - committed


def _history_table(home: Path, namespace: str, spec: ViewSpec) -> Any:
    catalog = load_pyiceberg_catalog(CatalogConfig(state_dir=home, namespace=namespace))
    return catalog.load_table(history_identifier(namespace, spec.name))


def history_records(home: Path, namespace: str, spec: ViewSpec) -> int | None:
    """Rows in the history's current snapshot (None before the first commit): grows with every commit."""
    try:
        snapshot = _history_table(home, namespace, spec).current_snapshot()
    except Exception:  # the table may not exist yet, or the catalog be busy: ask again later
        return None
    return None if snapshot is None else int(snapshot.summary["total-records"])


def read_history(home: Path, namespace: str, spec: ViewSpec) -> pa.Table:
    """The whole history as (entity, features..., valid_from in epoch ms, version)."""
    table = _history_table(home, namespace, spec)
    columns = (spec.entity_key, *spec.feature_names, "valid_from", "version")
    arrow = table.scan(selected_fields=columns).to_arrow()
    valid_from = arrow.column("valid_from").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return pa.table(
        {
            "entity": arrow.column(spec.entity_key),
            **{f: arrow.column(f) for f in spec.feature_names},
            "valid_from": pc.divide(valid_from, 1_000),
            "version": arrow.column("version"),
        }
    )


OnlineValue = tuple[int, tuple[Any, ...]]  # (valid_from ms, feature values)


def read_online(spec: ViewSpec, settings: Settings, entities: list[str]) -> dict[str, OnlineValue | None]:
    reader = OnlineReader(OnlineReaderConfig.for_view(spec, settings))
    try:
        now = now_ms()
        out: dict[str, OnlineValue | None] = {}
        for entity in entities:
            row = reader.live_row(reader.start(entity).result().one(), now)
            out[entity] = None if row is None else (row.valid_from, tuple(row.values[f] for f in spec.feature_names))
        return out
    finally:
        reader.close()
