"""PyFlink face of skewless's Java Cassandra sink (`io.skewless.flink.CassandraUpsertSink`).

Why Java: PyFlink gives Python functions no flush-on-checkpoint hook, so only a Sink V2
writer, whose `flush()` runs before every checkpoint barrier, can promise that every update
a checkpoint acknowledges reached Cassandra (at least once; replays are harmless because
each write carries a deterministic `USING TIMESTAMP`).

A null field is written as CQL null: "no value" must replace an older value rather than let
it show through. The jar must be on the classpath before PyFlink starts its JVM:
`skewless.devstack.flink_home.apply_to_environ()` arranges that.
"""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyflink.common.typeinfo import RowTypeInfo, TypeInformation
from pyflink.datastream.connectors import Sink
from pyflink.java_gateway import get_gateway

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.errors import CassandraConfigError, CassandraError

__all__ = ["CassandraSinkConfig", "cassandra_sink"]

JAVA_SINK = "io.skewless.flink.CassandraUpsertSink"


def cassandra_sink(config: CassandraSinkConfig, row_type: TypeInformation | None = None) -> Sink:
    """The Java sink as a PyFlink `Sink`, for `stream.sink_to(...)` on a `Types.ROW_NAMED` stream.

    Pass the stream's `row_type` to check that its field names match `config.columns`: the
    Java side binds by position and can only check the field count.
    """
    if row_type is not None:
        _check_row_type(config, row_type)
    try:
        j_sink = get_gateway().jvm.io.skewless.flink.CassandraUpsertSink.create(
            config.contact_points,
            config.local_datacenter,
            config.keyspace,
            config.statement,
            config.ttl_seconds,
            config.valid_from_index,
            config.version_index,
            config.max_in_flight,
            config.consistency,
        )
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
