"""The job's JVM operators, from one document: the spec crosses into the JVM once, as JSON.

`job_document` builds that document, the only place where Python states what the JVM runs;
`JvmJob` hands it to io.skewless.flink.JobSpec (which checks every part at once) and asks it
for each operator: the Kafka source, the decode stage, the row-logic stage of every view, each
view's tile engine and Cassandra sink. The document's shape (JobSpec's doc says the same):

    {"topic": str,
     "records": {"schemas": [avsc text, oldest first], "fields": [{"name", "type"}], "time_field": str},
     "source": {"bootstrap", "group_id", "bounded", "out_of_orderness_ms", "idle_ms", "future_bound_ms"},
     "views": [{"spec": ViewSpec.to_dict(), "row_logic": the row logic's parsed trees}],
     "expiry_horizon_ms": epoch ms or null,
     "cassandra": {view uid: connectors.cassandra.sink.sink_document(config)}}

Errors are values, not crashes: the decode stage's side output and the row-logic stage's main
output carry dead letters with the reason and the record's origin; the tile operator's side
output those of events behind the allowed lateness (a safety net: the row-logic stage refuses
them first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors import Sink
from pyflink.java_gateway import get_gateway

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.sink import cassandra_sink, sink_document
from jobs.rows import record_fields
from jobs.sources import EventTimeWatermarks
from skewless.errors import SkewlessError, SpecError
from skewless.expressions import row_logic_json
from skewless.spec import ViewSpec

JAVA_JOB_SPEC = "io.skewless.flink.JobSpec"


@dataclass(frozen=True)
class SourceOptions:
    """Where and how the job reads its topic."""

    bootstrap: str
    group_id: str
    # A bounded run replays history: a watermark after every record makes "late" depend on the
    # data alone, so reruns dead-letter exactly the same events. Live runs emit watermarks
    # periodically, which costs less per record.
    bounded: bool
    watermarks: EventTimeWatermarks


def job_document(
    schema_texts: Sequence[str],
    specs: Sequence[ViewSpec] = (),
    *,
    topic: str | None = None,
    time_field: str | None = None,
    source: SourceOptions | None = None,
    sinks: Mapping[str, CassandraSinkConfig] | None = None,
    expiry_horizon: int | None = None,
) -> dict[str, Any]:
    """The job spec of `specs` (views of one topic) over records of `schema_texts` (oldest first).

    `topic` and `time_field` default to the views'; `sinks` are by view uid; `expiry_horizon`
    (epoch ms) stops tile-expiry updates there, None follows the watermark.
    """
    document: dict[str, Any] = {
        "topic": topic if topic is not None else (specs[0].source_topic if specs else ""),
        "views": [
            {"spec": spec.to_dict(), "row_logic": json.loads(row_logic_json(spec.derived, spec.filter))}
            for spec in specs
        ],
        "expiry_horizon_ms": expiry_horizon,
    }
    if schema_texts:  # without them the document builds no source, decode or row-logic stage
        document["records"] = {
            "schemas": list(schema_texts),
            "fields": [{"name": f.name, "type": f.type} for f in record_fields(schema_texts)],
            "time_field": time_field if time_field is not None else (specs[0].event_time_field if specs else None),
        }
    if source is not None:
        document["source"] = {
            "bootstrap": source.bootstrap,
            "group_id": source.group_id,
            "bounded": source.bounded,
            "out_of_orderness_ms": source.watermarks.out_of_orderness_ms,
            "idle_ms": source.watermarks.idle_ms,
            "future_bound_ms": source.watermarks.future_bound_ms,
        }
    if sinks:
        document["cassandra"] = {uid: sink_document(config) for uid, config in sinks.items()}
    return document


@dataclass(frozen=True)
class ViewStreams:
    """The row-logic stage of a topic: `stage` is the operator (name and uid it), and its main
    output, the stage's dead letters (at most one per record); `events` holds each view's
    events (jobs.rows.event_type), by spec uid."""

    stage: DataStream
    events: dict[str, DataStream]


class JvmJob:
    """io.skewless.flink.JobSpec built from `document` (one crossing); its operators on demand.

    A part the JVM refuses raises SpecError naming it, without the Java trace.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        jvm = get_gateway().jvm
        try:
            self.j_spec = jvm.io.skewless.flink.JobSpec.fromJson(json.dumps(document))
        except Py4JJavaError as exc:
            if exc.java_exception.getClass().getName() == "java.lang.IllegalArgumentException":
                raise SpecError(exc.java_exception.getMessage()) from None
            raise
        except TypeError as exc:  # how PyFlink reports a class missing from the JVM
            raise SkewlessError(
                f"{JAVA_JOB_SPEC} is not on the Flink classpath: build jvm/flink and call "
                "skewless.devstack.flink_home.apply_to_environ() before PyFlink starts its gateway"
            ) from exc

    def source(self, env: StreamExecutionEnvironment) -> DataStream:
        """The topic's records, decoded in the source and watermarked per partition from the
        decoded event time (io.skewless.flink.EventSource): rows of the fields, the origin and `__error`."""
        return DataStream(self.j_spec.source(env._j_stream_execution_environment))

    def decode_rows(self, raw: DataStream, future_bound_ms: int) -> DataStream:
        """Raw rows (value, topic, partition, offset) decoded as the source decodes what it reads."""
        return DataStream(self.j_spec.decodeRows(raw._j_data_stream, future_bound_ms))

    def decode(self, stream: DataStream) -> DataStream:
        """The source's rows through the decode stage: rows of jobs.rows.record_type; its dead
        letters come from `dead_letters`."""
        return DataStream(self.j_spec.decode(stream._j_data_stream))

    def dead_letters(self, decoded: DataStream) -> DataStream:
        """The decode stage's dead letters, taken in the JVM (a Python get_side_output would pass
        each through a Python identity map)."""
        return DataStream(self.j_spec.deadLetters(decoded._j_data_stream))

    def view_events(self, decoded: DataStream) -> ViewStreams:
        """`decoded` through one JVM operator that runs every view's row logic and allowed lateness."""
        j_stage = self.j_spec.viewEvents(decoded._j_data_stream)
        uids = [ViewSpec.from_dict(v["spec"]).uid for v in self.document.get("views", ())]
        return ViewStreams(DataStream(j_stage), {uid: DataStream(self.j_spec.events(j_stage, uid)) for uid in uids})

    def aggregate(self, spec: ViewSpec, events: DataStream) -> DataStream:
        """`events` keyed by entity through the view's tiled windows: the update stream
        (jobs.rows.update_type)."""
        return DataStream(self.j_spec.aggregate(spec.uid, events._j_data_stream))

    def late_events(self, updates: DataStream) -> DataStream:
        """The dead letters of events behind the allowed lateness, taken in the JVM."""
        return DataStream(self.j_spec.lateEvents(updates._j_data_stream))

    def cassandra_sink(self, spec: ViewSpec, config: CassandraSinkConfig, row_type: TypeInformation | None = None) -> Sink:
        """The view's Cassandra sink, from the document's "cassandra" part (`config` is what was put
        there: it checks `row_type` against the columns)."""
        return cassandra_sink(config, row_type, job_spec=self.j_spec, name=spec.uid)
