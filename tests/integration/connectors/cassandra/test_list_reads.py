"""list<double> features (last_n) online: a real PyFlink job writes lists through the Java
sink, OnlineReader reads them back. Cassandra stores [] as a null cell, so the reader,
told which features are lists, answers [] for a live row's null list cell: the value the
job wrote and the Iceberg history holds. An absent or expired row stays None."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyflink.common import Configuration, Row, Types
from pyflink.datastream import StreamExecutionEnvironment

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.cassandra.schema import create_view_table
from connectors.cassandra.sink import cassandra_sink

COLUMNS = [("user_id", "text"), ("last3", "list<double>"), ("avg", "double"),
           ("valid_from", "timestamp"), ("version", "bigint")]
NAMES = tuple(name for name, _ in COLUMNS)
# As the job's aggregator types a last_n feature (jobs/rows.py:flink_type).
ROW_TYPE = Types.ROW_NAMED(list(NAMES), [Types.STRING(), Types.LIST(Types.DOUBLE()), Types.DOUBLE(),
                                         Types.LONG(), Types.LONG()])
TABLE = "recent_v1"
T = 1_700_000_000_000


@pytest.fixture
def keyspace(session, unique_name: str) -> Iterator[str]:
    create_view_table(session, unique_name, TABLE, COLUMNS, "user_id")
    yield unique_name
    session.execute(f'DROP KEYSPACE IF EXISTS "{unique_name}"')


def reader_config(hosts: str, keyspace: str, **overrides: object) -> OnlineReaderConfig:
    return OnlineReaderConfig(**({
        "contact_points": hosts, "keyspace": keyspace, "table": TABLE, "key_column": "user_id",
        "feature_columns": ("last3", "avg"), "list_features": ("last3",),
    } | overrides))


@pytest.mark.timeout(180)
def test_empty_lists_read_back_as_empty_lists(hosts, session, keyspace):
    rows = [
        Row("full", [3.5, 2.0, -1.0], 2.0, T, T * 1000),
        Row("emptied", [1.0], 1.0, T, T * 1000),
        Row("emptied", [], None, T + 1_000, (T + 1_000) * 1000),  # the window emptied: [] replaces [1.0]
        Row("empty", [], 0.5, T, T * 1000),
        Row("old", [], None, T - 10_000, (T - 10_000) * 1000),
    ]
    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)
    sink = CassandraSinkConfig(contact_points=hosts, keyspace=keyspace, table=TABLE, columns=NAMES, max_in_flight=1)
    env.from_collection(rows, type_info=ROW_TYPE).sink_to(cassandra_sink(sink, ROW_TYPE))
    env.execute(f"list sink test {keyspace}")

    stored = {r[0]: r[1] for r in session.execute(f'SELECT user_id, last3 FROM "{keyspace}".{TABLE}')}
    assert stored == {"full": [3.5, 2.0, -1.0], "emptied": None, "empty": None, "old": None}  # [] is null

    ids = ["full", "emptied", "empty", "old", "nobody"]
    with OnlineReader(reader_config(hosts, keyspace, ttl_ms=5_000), clock=lambda: T + 1_000) as online:
        assert online.get(ids) == {
            "full": {"last3": [3.5, 2.0, -1.0], "avg": 2.0},
            "emptied": {"last3": [], "avg": None},  # a null double stays null
            "empty": {"last3": [], "avg": 0.5},
            "old": None,  # expired: no value, not []
            "nobody": None,  # no row
        }
    # Told nothing about list types, the reader shows Cassandra's null.
    plain = reader_config(hosts, keyspace, list_features=())
    with OnlineReader(plain, clock=lambda: T + 1_000) as online:
        assert online.get(["empty"]) == {"empty": {"last3": None, "avg": 0.5}}
