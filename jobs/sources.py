"""Flink SQL tables at the edges of the job: the raw Kafka source and the dead-letter sink.

The source reads record values as raw bytes (decoding happens in Python, where a bad record
becomes a dead letter instead of failing the job) and derives watermarks per partition
from the Kafka record timestamp, which producers set to the event time.
"""

from __future__ import annotations


def _quote(value: str) -> str:
    return value.replace("'", "''")


def kafka_source_ddl(
    table: str, topic: str, bootstrap: str, group_id: str, out_of_orderness_ms: int, bounded: bool
) -> str:
    # A bounded run replays history: a watermark after every record makes "late" depend on
    # the data alone, so reruns dead-letter exactly the same events. Live runs emit
    # watermarks periodically, which costs less per record.
    bounded_opt = "'scan.bounded.mode' = 'latest-offset', 'scan.watermark.emit.strategy' = 'on-event'," if bounded else ""
    return f"""
CREATE TEMPORARY TABLE `{table}` (
  `value` BYTES,
  `topic` STRING METADATA VIRTUAL,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  `kafka_ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  WATERMARK FOR `kafka_ts` AS `kafka_ts` - INTERVAL '{out_of_orderness_ms / 1000:.3f}' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '{_quote(topic)}',
  'properties.bootstrap.servers' = '{_quote(bootstrap)}',
  'properties.group.id' = '{_quote(group_id)}',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  {bounded_opt}
  'format' = 'raw'
)"""


def dead_letter_sink_ddl(table: str, topic: str, bootstrap: str) -> str:
    return f"""
CREATE TEMPORARY TABLE `{table}` (
  `value` BYTES,
  `headers` MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '{_quote(topic)}',
  'properties.bootstrap.servers' = '{_quote(bootstrap)}',
  'sink.delivery-guarantee' = 'at-least-once',
  'format' = 'raw'
)"""


def dead_letter_topic(source_topic: str) -> str:
    return f"{source_topic}.dead-letters"
