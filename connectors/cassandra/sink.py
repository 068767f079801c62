"""PyFlink face of skewless's Java Cassandra sink (`io.skewless.flink.CassandraUpsertSink`).

Why Java: PyFlink gives Python functions no flush-on-checkpoint hook, so only a Sink V2
writer, whose `flush()` runs before every checkpoint barrier, can promise that every update
a checkpoint acknowledges reached Cassandra (at least once; replays are harmless because
each write carries a deterministic `USING TIMESTAMP`).

The JVM builds the sink from the job spec (io.skewless.flink.JobSpec): `sink_document` is the
sink's part of that document. A null field is written as CQL null: "no value" must replace an
older value rather than let it show through. The jar must be on the classpath before PyFlink
starts its JVM: `skewless.devstack.flink_home.apply_to_environ()` arranges that.
"""

from __future__ import annotations

import json
from typing import Any

from py4j.protocol import Py4JJavaError
from pyflink.common.typeinfo import RowTypeInfo, TypeInformation
from pyflink.datastream.connectors import Sink
from pyflink.java_gateway import get_gateway

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.errors import CassandraConfigError, CassandraError

__all__ = ["CassandraSinkConfig", "cassandra_sink", "sink_document"]

JAVA_SINK = "io.skewless.flink.CassandraUpsertSink"


def sink_document(config: CassandraSinkConfig) -> dict[str, Any]:
    """The sink's entry in the job spec's "cassandra" part (io.skewless.flink.CassandraSinkConfig)."""
    return {
        "contact_points": config.contact_points,
        "local_datacenter": config.local_datacenter,
        "keyspace": config.keyspace,
        "statement": config.statement,
        "ttl_seconds": config.ttl_seconds,
        "valid_from_index": config.valid_from_index,
        "version_index": config.version_index,
        "max_in_flight": config.max_in_flight,
        "consistency": config.consistency,
    }


def cassandra_sink(
    config: CassandraSinkConfig,
    row_type: TypeInformation | None = None,
    *,
    job_spec: Any = None,
    name: str = "sink",
) -> Sink:
    """The Java sink as a PyFlink `Sink`, for `stream.sink_to(...)` on a `Types.ROW_NAMED` stream.

    `job_spec` is the job's io.skewless.flink.JobSpec, whose "cassandra" part holds this sink
    under `name` (the view's uid); None builds a spec of this sink alone. Pass the stream's
    `row_type` to check that its field names match `config.columns`: the Java side binds by
    position and can only check the field count.
    """
    if row_type is not None:
        _check_row_type(config, row_type)
    try:
        if job_spec is None:
            document = {"cassandra": {name: sink_document(config)}}
            job_spec = get_gateway().jvm.io.skewless.flink.JobSpec.fromJson(json.dumps(document))
        j_sink = job_spec.cassandraSink(name)
    except Py4JJavaError as exc:
        raise CassandraConfigError(f"the Java sink rejected its config: {exc.java_exception.getMessage()}") from exc
    except TypeError as exc:  # how PyFlink reports a class missing from the JVM
        raise CassandraError(
            f"{JAVA_SINK} is not on the Flink classpath: build jvm/flink and call "
            "skewless.devstack.flink_home.apply_to_environ() before PyFlink starts its gateway"
        ) from exc
    return Sink(j_sink)


def _check_row_type(config: CassandraSinkConfig, row_type: TypeInformation) -> None:
    if not isinstance(row_type, RowTypeInfo):
        raise CassandraConfigError(
            f"the Cassandra sink needs rows of Types.ROW_NAMED(...), got {row_type}; "
            "give the upstream operator an output_type"
        )
    fields = tuple(row_type.get_field_names())
    if fields != config.columns:
        raise CassandraConfigError(f"row fields {list(fields)} differ from sink columns {list(config.columns)}")
