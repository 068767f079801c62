"""The SDK against the real Cassandra: TTL at read time, batching across entities and views,
the async path, unknown entities. Rows are written with the sink's own statement; no Flink."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from connectors.cassandra import cql
from connectors.cassandra.schema import create_view_table
from connectors.cassandra.session import connect_cluster
from connectors.cassandra.views import view_columns, view_table
from features.transactions import USER_TRANSACTIONS
from skewless.serving import FeatureStore, UnknownFeatureError
from skewless.spec import FeatureSpec, ViewSpec

DAY = 86_400_000
V0 = 1_750_000_000_000
MERCHANTS = ViewSpec(
    name="merchant_stats", version=3, entity_key="merchant_id", source_topic="tx", event_time_field="t",
    features=(
        FeatureSpec("n_tx_1d", "count", None, window_ms=DAY, hop_ms=DAY),
        FeatureSpec("last_amounts", "last_n", "amount", window_ms=None, params=(("n", 2),)),
    ),
    ttl_ms=DAY,
)
VIEWS = {v.name: v for v in (USER_TRANSACTIONS, MERCHANTS)}


@pytest.fixture(scope="module")
def keyspace() -> str:
    """A keyspace with both views' tables: users u0..u299 (valid_from V0 + i ms), merchants m0..m9."""
    import uuid

    name = f"s{uuid.uuid4().hex[:10]}"
    cluster = connect_cluster("127.0.0.1:9042")
    session = cluster.connect()
    try:
        for spec in VIEWS.values():
            create_view_table(session, name, view_table(spec), view_columns(spec), spec.entity_key)
            columns = [c for c, _ in view_columns(spec)]
            insert = session.prepare(cql.render_upsert(name, view_table(spec), columns))
            count = 300 if spec is USER_TRANSACTIONS else 10
            for i in range(count):
                key = f"{'u' if spec is USER_TRANSACTIONS else 'm'}{i}"
                merchant = [i, [float(i), float(i + 1)] if i % 2 else []]  # Cassandra stores [] as null
                features = [float(i), i, float(i), float(i)] if spec is USER_TRANSACTIONS else merchant
                valid_from = V0 + i
                version = valid_from * 1000
                session.execute(insert, [key, *features, valid_from, valid_from + 7, version, version, 0])
    finally:
        cluster.shutdown()
    return name


def store(keyspace: str, now: int, **kwargs) -> FeatureStore:
    return FeatureStore(VIEWS, keyspace=keyspace, clock=lambda: now, **kwargs)


def test_a_value_exactly_ttl_old_is_served_and_one_ms_older_is_absent(keyspace):
    ttl = USER_TRANSACTIONS.ttl_ms
    with store(keyspace, V0 + ttl) as at_bound:
        response = at_bound.get_online_features(["u0", "u1"], ["user_transactions:count_30d"])
    assert response.served_at == V0 + ttl
    assert [r.features["user_transactions:count_30d"].value for r in response] == [0, 1]
    assert response[0].features["user_transactions:count_30d"].valid_from == V0
    with store(keyspace, V0 + ttl + 1) as past:
        response = past.get_online_features(["u0", "u1"], ["user_transactions:count_30d"])
    assert response[0].features["user_transactions:count_30d"].value is None  # expired: absent
    assert response[0].features["user_transactions:count_30d"].valid_from is None
    assert response[1].features["user_transactions:count_30d"].value == 1  # 1 ms younger: exactly at the bound


def test_one_request_reads_many_entities_across_views_sync_and_async(keyspace):
    entities = [{"user_id": f"u{i}", "merchant_id": f"m{i % 12}"} for i in range(300)]
    features = ["user_transactions:*", "merchant_stats:n_tx_1d", "merchant_stats:last_amounts"]
    with store(keyspace, V0 + 1000, max_in_flight=16) as s:
        sync = s.get_online_features(entities, features)
        async_ = asyncio.run(s.get_online_features_async(entities, features))
    assert sync.to_dict()["results"] == async_.to_dict()["results"]
    assert [str(r) for r in sync.refs] == [
        *(f"user_transactions:{f}" for f in USER_TRANSACTIONS.feature_names),
        "merchant_stats:n_tx_1d", "merchant_stats:last_amounts",
    ]
    for i, result in enumerate(sync):
        assert result.features["user_transactions:count_30d"].value == i
        assert result.features["user_transactions:avg_amount_30d"].value == float(i)
        merchant = i % 12
        assert result.features["merchant_stats:n_tx_1d"].value == (merchant if merchant < 10 else None)
        last = result.features["merchant_stats:last_amounts"].value
        assert last == (None if merchant >= 10 else [float(merchant), merchant + 1.0] if merchant % 2 else [])
        assert result.reads["user_transactions"].row.written_at == V0 + i + 7


def test_unknown_entities_are_absent_and_unknown_features_are_errors(keyspace):
    with store(keyspace, V0) as s:
        response = s.get_online_features(["nobody", "u5"], ["merchant_stats:*", "user_transactions:count_30d"])
        absent = {"merchant_stats:n_tx_1d": None, "merchant_stats:last_amounts": None}
        assert response[0].values() == {**absent, "user_transactions:count_30d": None}
        assert response[1].values() == {**absent, "user_transactions:count_30d": 5}
        with pytest.raises(UnknownFeatureError, match="known views: merchant_stats, user_transactions"):
            s.get_online_features(["u5"], ["users:count_30d"])


def test_a_view_whose_table_is_missing_says_so(keyspace):
    from skewless.serving import StoreUnavailableError

    missing = dataclasses.replace(MERCHANTS, version=9)
    with FeatureStore({missing.name: missing}, keyspace=keyspace) as s:
        with pytest.raises(StoreUnavailableError, match="merchant_stats_v9 exist"):
            s.get_online_features(["m1"], ["merchant_stats:*"])


def test_sample_keys_draws_from_the_whole_ring(keyspace):
    import random

    with store(keyspace, V0) as s:
        keys = s.client.sample_keys("user_transactions", 50, random.Random(1))
        assert len(keys) == 50 == len(set(keys))
        assert set(s.client.sample_keys("merchant_stats", 50)) == {f"m{i}" for i in range(10)}


def served(s: FeatureStore, entities: list[str], features: list[str]) -> dict:
    """A response as JSON, plus when each row read was written."""
    response = s.get_online_features(entities, features)
    written = [{v: (r.row and r.row.written_at) for v, r in result.reads.items()} for result in response]
    return response.to_dict() | {"written_at": written}


def test_single_entity_reads_take_the_direct_path_and_match_the_driver(keyspace, monkeypatch):
    """One entity per request: read on the calling thread (the driver's read is never sent),
    with the same values, times and TTL verdicts as the driver's path."""
    from connectors.cassandra.reader import OnlineReader

    requests = [[f"u{i}"] for i in range(0, 300, 7)] + [[f"m{i}"] for i in range(12)] + [["nobody"]]
    features = {"u": ["user_transactions:*"], "m": ["merchant_stats:*"], "n": ["user_transactions:count_30d"]}
    now = V0 + USER_TRANSACTIONS.ttl_ms + 3  # u0..u2 expired, u3 exactly at the bound
    with store(keyspace, now, direct_reads=False) as driver:
        expected = [served(driver, e, features[e[0][0]]) for e in requests + [["u3"]]]
    with store(keyspace, now) as direct:
        direct.prepare()

        def no_driver_read(*_: object) -> None:
            raise AssertionError("a single-entity read went through the driver")

        monkeypatch.setattr(OnlineReader, "start", no_driver_read)
        got = [served(direct, e, features[e[0][0]]) for e in requests + [["u3"]]]
    assert got == expected
    assert expected[-1]["results"][0]["features"]["user_transactions:count_30d"]["value"] == 3  # at the bound
    assert expected[0]["results"][0]["features"]["user_transactions:count_30d"]["value"] is None  # u0: expired
    assert expected[1]["results"][0]["features"]["user_transactions:count_30d"]["value"] == 7


def test_single_entity_async_reads_take_the_direct_path_on_each_loop(keyspace, monkeypatch):
    from connectors.cassandra.reader import OnlineReader

    keys = [f"u{i}" for i in range(0, 300, 11)]
    with store(keyspace, V0 + 1000, direct_reads=False) as driver:
        expected = [driver.get_online_features([k], ["user_transactions:*"]).to_dict() for k in keys]
    with store(keyspace, V0 + 1000) as direct:
        direct.prepare()
        monkeypatch.setattr(OnlineReader, "start", lambda *_: pytest.fail("an async read went through the driver"))

        async def read_all() -> list[dict]:
            return [(await direct.get_online_features_async([k], ["user_transactions:*"])).to_dict() for k in keys]

        assert asyncio.run(read_all()) == expected
        assert asyncio.run(read_all()) == expected  # a second loop: connections of its own


def test_a_failing_direct_read_is_answered_by_the_driver(keyspace):
    with store(keyspace, V0 + 1000) as s:
        s.prepare()
        assert s.get_online_features(["u4"], ["user_transactions:count_30d"])[0].values() == {"user_transactions:count_30d": 4}
        assert s.client.row_reader.name == "direct"
        s.client.row_reader.blocking.close()  # every later direct read is refused
        s.client.row_reader.awaited.close()
        assert s.get_online_features(["u5"], ["user_transactions:count_30d"])[0].values() == {"user_transactions:count_30d": 5}
        response = asyncio.run(s.get_online_features_async(["u6"], ["user_transactions:count_30d"]))
        assert response[0].values() == {"user_transactions:count_30d": 6}


def test_the_feature_store_takes_its_settings_and_views_without_arguments(example_catalogue):
    from skewless.serving import FeatureStore

    store = FeatureStore.from_settings()
    try:
        assert sorted(store.views) == ["merchant_activity", "user_transactions"]
        assert store.plan(["merchant-0001"], ["merchant_activity:*"]).columns
    finally:
        store.close()
