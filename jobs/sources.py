"""The edges of the job: the Kafka source of events and the dead-letter sink.

The source decodes each record as it reads it (a bad record becomes a row with an error,
then a dead letter, instead of failing the job) and derives watermarks per partition from
the decoded event time, never from the producer's record timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

from udfs.decode import Field, _java_factory


@dataclass(frozen=True)
class EventTimeWatermarks:
    """How the source derives watermarks from event time."""

    out_of_orderness_ms: int
    # A partition silent this long stops holding back the others.
    idle_ms: int
    # An event time further than this ahead of the clock is dead-lettered and ignored.
    future_bound_ms: int


def _quote(value: str) -> str:
    return value.replace("'", "''")


def read_events(
    env: StreamExecutionEnvironment,
    topic: str,
    bootstrap: str,
    group_id: str,
    schema_texts: Sequence[str],
    fields: Sequence[Field],
    time_field: str,
    watermarks: EventTimeWatermarks,
    bounded: bool,
) -> DataStream:
    """The topic's records, decoded in the source and watermarked per partition from the decoded
    event time (io.skewless.flink.EventSource): rows of the fields, the origin and `__error`.

    A bounded run replays history: a watermark after every record makes "late" depend on the
    data alone, so reruns dead-letter exactly the same events. Live runs emit watermarks
    periodically, which costs less per record.
    """
    jvm = get_gateway().jvm
    j_stream = _java_factory(
        f"source of topic {topic}",
        lambda: jvm.io.skewless.flink.EventSource.read(
            env._j_stream_execution_environment,
            bootstrap,
            topic,
            group_id,
            bounded,
            to_jarray(jvm.String, list(schema_texts)),
            to_jarray(jvm.String, [f.name for f in fields]),
            to_jarray(jvm.String, [f.type for f in fields]),
            time_field,
            watermarks.out_of_orderness_ms,
            watermarks.idle_ms,
            watermarks.future_bound_ms,
            bounded,
            f"kafka {topic}",
        ),
    )
    return DataStream(j_stream).uid(f"{topic}-source")


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
