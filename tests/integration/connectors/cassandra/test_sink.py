"""A real PyFlink job writes through the Java sink into real Cassandra; reads go back
through cassandra-driver and OnlineReader. Each test owns a keyspace.

Deliberately no __init__.py here nor in tests/integration/connectors: once pytest puts
their parents on sys.path, such packages would shadow the real `connectors` package and
cassandra-driver's `cassandra`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from pyflink.common import Configuration, Row, Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.cassandra.schema import create_view_table
from connectors.cassandra.sink import cassandra_sink
from connectors.cassandra.ttl import is_live

COLUMNS = [
    ("user_id", "text"),
    ("score", "double"),
    ("count_30d", "bigint"),
    ("valid_from", "timestamp"),
    ("version", "bigint"),
]
NAMES = tuple(name for name, _ in COLUMNS)
ROW_TYPE = Types.ROW_NAMED(list(NAMES), [Types.STRING(), Types.DOUBLE(), Types.LONG(), Types.LONG(), Types.LONG()])
TABLE = "scores_v1"


def update(user: str, score: float | None, count: int, valid_from: int) -> Row:
    # The job's versions: microseconds of valid_from, deterministic, so replays carry the same one.
    return Row(user, score, count, valid_from, valid_from * 1000)


@pytest.fixture
def keyspace(session, unique_name: str) -> Iterator[str]:
    create_view_table(session, unique_name, TABLE, COLUMNS, "user_id")
    yield unique_name
    session.execute(f'DROP KEYSPACE IF EXISTS "{unique_name}"')


def sink_config(hosts: str, keyspace: str, **overrides: object) -> CassandraSinkConfig:
    return CassandraSinkConfig(
        **({"contact_points": hosts, "keyspace": keyspace, "table": TABLE, "columns": NAMES} | overrides)
    )


def run_job(rows: list[Row], config: CassandraSinkConfig, row_type=ROW_TYPE) -> float:
    """Run a bounded job to the end (the sink flushes at end of input); returns its net runtime in ms."""
    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")  # a failing job must fail the test, not retry
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)
    stream = env.from_collection(rows, type_info=row_type)
    stream.sink_to(cassandra_sink(config, row_type)).name("cassandra").uid("cassandra-sink")
    return env.execute(f"sink test {config.keyspace}").get_net_runtime()


def reader(hosts: str, keyspace: str, ttl_ms: int = 0, clock=None) -> OnlineReader:
    config = OnlineReaderConfig(
        contact_points=hosts,
        keyspace=keyspace,
        table=TABLE,
        key_column="user_id",
        feature_columns=("score", "count_30d"),
        ttl_ms=ttl_ms,
    )
    return OnlineReader(config) if clock is None else OnlineReader(config, clock=clock)


def stored(session, keyspace: str) -> dict[str, tuple]:
    rows = session.execute(
        "SELECT user_id, score, count_30d, valid_from, version, WRITETIME(count_30d), TTL(count_30d) "
        f'FROM "{keyspace}".{TABLE}'
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_out_of_order_versions_never_regress(hosts, session, keyspace):
    t = 1_700_000_000_000
    rows = [
        update("u1", 2.0, 20, t + 2_000),  # newest first...
        update("u1", 1.0, 10, t + 1_000),  # ...then an older version: must not win
        update("u2", None, 50, t + 5_000),  # null = "no value", newest
        update("u2", 7.0, 30, t + 3_000),  # older non-null must not resurface
        update("u3", 1.0, 10, t + 1_000),
        update("u3", None, 20, t + 2_000),  # a newer null replaces an older value
    ]
    # One write in flight: Cassandra receives the rows in exactly this order.
    run_job(rows, sink_config(hosts, keyspace, max_in_flight=1))

    state = stored(session, keyspace)
    assert state["u1"][:2] == (2.0, 20) and state["u1"][4] == (t + 2_000) * 1000
    assert state["u2"][:2] == (None, 50) and state["u2"][4] == (t + 5_000) * 1000
    assert state["u3"][:2] == (None, 20)
    assert all(ttl is None for *_, ttl in state.values())  # ttl_ms=0: no Cassandra TTL
    with reader(hosts, keyspace) as online:
        assert online.get(["u1", "u2", "u3", "nobody"]) == {
            "u1": {"score": 2.0, "count_30d": 20},
            "u2": {"score": None, "count_30d": 50},
            "u3": {"score": None, "count_30d": 20},
            "nobody": None,
        }


def test_replay_is_idempotent(hosts, session, keyspace, record_property):
    rng = random.Random(7)
    t = int(time.time() * 1000) - 3_600_000
    rows = [update(f"u{k}", rng.random(), v, t + v * 1_000 + k) for k in range(1_000) for v in range(4)]
    rng.shuffle(rows)  # arrival order has nothing to do with version order
    config = sink_config(hosts, keyspace, ttl_ms=86_400_000)
    runtime_ms = run_job(rows, config)
    record_property("sink_rows_per_s", round(len(rows) / (runtime_ms / 1000)))
    print(f"\nsink: {len(rows)} rows in {runtime_ms} ms net job runtime = {len(rows) / (runtime_ms / 1000):.0f} rows/s")

    latest: dict[str, Row] = {}
    for row in rows:
        if row[0] not in latest or row[4] > latest[row[0]][4]:
            latest[row[0]] = row
    first = stored(session, keyspace)
    assert {k: (v[0], v[1], v[3]) for k, v in first.items()} == {
        k: (r[1], r[2], r[4]) for k, r in latest.items()
    }

    replay = rows[: len(rows) // 2]  # a replay from an older checkpoint, in another order
    rng.shuffle(replay)
    run_job(replay + rows, config)
    again = stored(session, keyspace)
    # Same values, same write times; only the storage TTL moves on (it counts from the write).
    assert {k: v[:5] for k, v in again.items()} == {k: v[:5] for k, v in first.items()}
    with reader(hosts, keyspace, ttl_ms=86_400_000) as online:
        sample = [f"u{k}" for k in range(0, 1_000, 7)]
        assert online.get(sample) == {k: {"score": latest[k][1], "count_30d": latest[k][2]} for k in sample}


def test_a_burst_of_updates_converges_on_the_newest_of_each_row(hosts, session, keyspace):
    # One request slot and 500 versions per row arriving shuffled: most updates wait while
    # another is in flight, so the writer conflates them; each row must still end on its
    # newest version, never on one that merely arrived last.
    rng = random.Random(11)
    t = int(time.time() * 1000) - 3_600_000
    rows = [update(f"u{k}", float(v), v, t + v * 1_000) for k in range(20) for v in range(500)]
    rng.shuffle(rows)
    run_job(rows, sink_config(hosts, keyspace, max_in_flight=1))

    state = stored(session, keyspace)
    assert {k: v[:2] + (v[3],) for k, v in state.items()} == {
        f"u{k}": (499.0, 499, (t + 499_000) * 1000) for k in range(20)
    }


def test_expired_values_are_absent_at_read(hosts, session, keyspace):
    ttl_ms = 60_000
    now = int(time.time() * 1000)
    fresh, stale = now - 10_000, now - 120_000
    # What a long-lived table may hold: an older update of "stale", stored while it was fresh.
    session.execute(
        f"INSERT INTO \"{keyspace}\".{TABLE} (user_id, score, count_30d, valid_from, version) "
        "VALUES (%s, %s, %s, %s, %s) USING TIMESTAMP %s",
        ("stale", 9.9, 99, stale - 10_000, (stale - 10_000) * 1000, (stale - 10_000) * 1000),
    )
    rows = [update("fresh", 1.5, 3, fresh), update("stale", 2.5, 4, stale)]
    run_job(rows, sink_config(hosts, keyspace, ttl_ms=ttl_ms))

    state = stored(session, keyspace)
    # The already-expired update is still written, as the latest truth, with a 1-2 s Cassandra
    # TTL: the older value never shows through (the row is either that update or gone).
    assert "stale" not in state or (state["stale"][:2] == (2.5, 4) and state["stale"][5] <= 2)
    # The fresh one keeps at least the rest of its view TTL (plus rounding slack).
    remaining_s = (fresh + ttl_ms - int(time.time() * 1000)) / 1000
    assert remaining_s <= state["fresh"][5] <= remaining_s + 3

    clock = [int(time.time() * 1000)]
    with reader(hosts, keyspace, ttl_ms=ttl_ms, clock=lambda: clock[0]) as online:
        assert online.get(["fresh", "stale"]) == {"fresh": {"score": 1.5, "count_30d": 3}, "stale": None}
        # The boundary, on the stored row: exactly ttl old is present, 1 ms older is absent.
        clock[0] = fresh + ttl_ms
        assert online.get(["fresh"]) == {"fresh": {"score": 1.5, "count_30d": 3}}
        clock[0] = fresh + ttl_ms + 1
        assert online.get(["fresh"]) == {"fresh": None}


def test_a_failed_write_fails_the_job_instead_of_being_acknowledged(hosts, keyspace):
    t = int(time.time() * 1000)
    too_long_key = "k" * 70_000  # Cassandra rejects partition keys over 64 KiB: the async write fails
    rows = [update("ok", 1.0, 1, t), update(too_long_key, 1.0, 1, t)]
    with pytest.raises(Exception, match="Cassandra write failed"):
        run_job(rows, sink_config(hosts, keyspace))


def test_storage_ttl_never_hides_what_the_read_rule_serves():
    """Cassandra expires a cell at floor(write second) + TTL; that must come after the rule's boundary."""
    storage_ttl = get_gateway().jvm.io.skewless.flink.StorageTtl.seconds
    base = 1_700_000_000_000
    for ttl_s in (1, 7, 60, 2_592_000):
        ttl_ms = ttl_s * 1000
        for valid_from in (base, base + 1, base + 499, base + 999):
            for now in range(valid_from - 1_500, valid_from + ttl_ms + 1_500, max(1, ttl_ms // 40) + 37):
                seconds = storage_ttl(valid_from, now, ttl_s)
                assert seconds >= 1
                expires_ms = (now // 1000 + seconds) * 1000
                if is_live(valid_from, now, ttl_ms):
                    assert expires_ms > valid_from + ttl_ms, (ttl_s, valid_from, now, seconds)
                    assert expires_ms <= valid_from + ttl_ms + 3_000  # and not much later
    assert storage_ttl(base, base, 0) == 0 and storage_ttl(base, base, -5) == 0
