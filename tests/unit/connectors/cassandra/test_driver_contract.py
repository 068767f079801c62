"""The direct read path leans on cassandra-driver names that are not a documented API.
These tests pin them: a new driver release, or a name that moved, fails here with what
to re-check, before the direct path misreads rows or silently falls back on every read."""

from __future__ import annotations

import inspect
import struct
from datetime import datetime

import cassandra
from cassandra import cqltypes
from cassandra.connection import DefaultEndPoint
from cassandra.metadata import Metadata
from cassandra.pool import Host
from cassandra.query import PreparedStatement

from connectors.cassandra.direct import DRIVER_VERSION, PROTOCOL_VERSION, column_decoders

RECHECK = (
    "connectors/cassandra/direct.py was written against cassandra-driver {pinned}. Re-check, in the "
    "new driver's source: PreparedStatement.query_id/result_metadata/column_metadata (cassandra/query.py), "
    "the column types' serialize/from_binary (cassandra/cqltypes.py), Metadata.token_map/get_replicas/"
    "all_hosts and Host.is_up/datacenter/endpoint.resolve() (cassandra/metadata.py, pool.py, connection.py); "
    "run tests/integration/connectors/cassandra/test_direct*.py, then set DRIVER_VERSION."
)


def test_the_installed_driver_is_the_one_the_direct_path_was_written_against():
    assert cassandra.__version__ == DRIVER_VERSION, (
        f"cassandra-driver is {cassandra.__version__}. " + RECHECK.format(pinned=DRIVER_VERSION))


def test_prepared_statements_carry_the_id_and_metadata_the_direct_path_sends_and_decodes_with():
    parameters = inspect.signature(PreparedStatement.__init__).parameters
    assert {"column_metadata", "query_id", "result_metadata"} <= set(parameters), RECHECK.format(pinned=DRIVER_VERSION)
    key_column = type("ColumnMetadata", (), {"type": cqltypes.UTF8Type})()
    result = [("ks", "t", "v", cqltypes.DoubleType), ("ks", "t", "l", cqltypes.ListType.apply_parameters(
        [cqltypes.DoubleType]))]
    statement = PreparedStatement([key_column], b"id", None, "SELECT", "ks", PROTOCOL_VERSION, result, None)
    assert statement.query_id == b"id" and statement.result_metadata is result
    assert statement.column_metadata[0].type.serialize("k1", PROTOCOL_VERSION) == b"k1"


def test_column_types_decode_cells_as_the_driver_returns_them():
    double, items = column_decoders([
        ("ks", "t", "v", cqltypes.DoubleType),
        ("ks", "t", "l", cqltypes.ListType.apply_parameters([cqltypes.DoubleType])),
    ])
    assert double(struct.pack(">d", 1.5), PROTOCOL_VERSION) == 1.5
    assert double(None, PROTOCOL_VERSION) is None
    cell = struct.pack(">i", 2) + b"".join(struct.pack(">i", 8) + struct.pack(">d", x) for x in (1.0, 2.5))
    assert items(cell, PROTOCOL_VERSION) == [1.0, 2.5]
    (when,) = column_decoders([("ks", "t", "w", cqltypes.DateType)])
    assert when(struct.pack(">q", 1_000), PROTOCOL_VERSION) == datetime(1970, 1, 1, 0, 0, 1)  # naive UTC


def test_cluster_metadata_answers_the_replica_question_the_direct_path_asks():
    assert list(inspect.signature(Metadata.get_replicas).parameters) == ["self", "keyspace", "key"], (
        RECHECK.format(pinned=DRIVER_VERSION))
    metadata = Metadata()
    assert metadata.token_map is None  # before the ring is known: the direct path says "no token map"
    assert hasattr(metadata, "all_hosts"), RECHECK.format(pinned=DRIVER_VERSION)
    host = Host(DefaultEndPoint("127.0.0.1", 19042), conviction_policy_factory=lambda _host: None,
                datacenter="dc1", rack="r1")
    assert host.endpoint.resolve() == ("127.0.0.1", 19042)
    assert host.datacenter == "dc1" and host.is_up is None  # unknown until the driver marks it
