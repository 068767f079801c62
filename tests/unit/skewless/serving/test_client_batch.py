"""The batched read machinery without Cassandra: in-flight cap, order, IN reads, errors, one wake-up."""

from __future__ import annotations

import pytest

from skewless.serving.client import OnlineClient, _Batch
from skewless.serving.errors import StoreUnavailableError


class FakeFuture:
    def __init__(self, key: str) -> None:
        self.key = key
        self.callbacks = None

    def add_callbacks(self, callback, errback, callback_args=(), errback_args=()):
        self.callbacks = (callback, errback, callback_args, errback_args)

    def answer(self, rows) -> None:
        callback, _, args, _ = self.callbacks
        callback(rows, *args)

    def fail(self, error: Exception) -> None:
        _, errback, _, args = self.callbacks
        errback(error, *args)


class FakeReader:
    class config:
        keyspace = "ks"

    def __init__(self, broken: set[str] = frozenset()) -> None:
        self.sent: list[FakeFuture] = []
        self.broken = broken

    def start(self, key: str) -> FakeFuture:
        if key in self.broken:
            raise RuntimeError(f"no host for {key}")
        future = FakeFuture(key)
        self.sent.append(future)
        return future

    def start_many(self, keys: list[str], host: object) -> FakeFuture:
        future = FakeFuture((tuple(keys), host))
        self.sent.append(future)
        return future

    def replica_groups(self, keys: list[str], max_keys: int) -> list[tuple[object, list[str]]]:
        # Two "replicas": keys ending in an even digit, then odd ones.
        by_host = {h: [k for k in keys if int(k[-1]) % 2 == h] for h in (0, 1)}
        return [(h, g[i:i + max_keys]) for h, g in by_host.items() for i in range(0, len(g), max_keys)]


def single(reader: FakeReader, keys: list[str]) -> list:
    return [(reader, [k], None, [i]) for i, k in enumerate(keys)]


def in_flight(reader: FakeReader) -> list[FakeFuture]:
    return [f for f in reader.sent if not getattr(f, "done", False)]


def answer(future: FakeFuture, rows) -> None:
    future.done = True
    future.answer(rows)


def test_reads_stay_under_the_cap_and_rows_keep_request_order():
    reader = FakeReader()
    wakes = []
    keys = [f"k{i}" for i in range(10)]
    batch = _Batch(single(reader, keys), len(keys), 3, None, lambda: wakes.append(1))
    batch.start()
    peak = 0
    while in_flight(reader):
        peak = max(peak, len(in_flight(reader)))
        future = in_flight(reader)[-1]  # answer out of order
        answer(future, [(future.key,)] if future.key != "k4" else [])
    assert peak == 3 and len(reader.sent) == 10
    assert wakes == [1]
    assert batch.result() == [(k,) if k != "k4" else None for k in keys]


def test_a_failed_read_stops_sending_and_fails_the_batch_once():
    reader = FakeReader()
    wakes = []
    timings = []
    batch = _Batch(single(reader, [f"k{i}" for i in range(10)]), 10, 2, timings.append, lambda: wakes.append(1))
    batch.start()
    first, second = reader.sent
    answer(first, [("a",)])  # sends a third
    reader.sent[1].done = True
    reader.sent[1].fail(TimeoutError("read timed out"))
    assert wakes == []  # the third is still in flight
    answer(reader.sent[2], [("c",)])
    assert wakes == [1] and len(reader.sent) == 3
    assert len(timings) == 2
    with pytest.raises(StoreUnavailableError, match="TimeoutError: read timed out"):
        batch.result()


def test_an_error_raised_while_sending_fails_the_batch():
    reader = FakeReader(broken={"k1"})
    wakes = []
    batch = _Batch(single(reader, ["k0", "k1"]), 2, 5, None, lambda: wakes.append(1))
    batch.start()
    answer(reader.sent[0], [])
    assert wakes == [1]
    with pytest.raises(StoreUnavailableError, match="no host for k1"):
        batch.result()


def test_an_empty_batch_wakes_at_once():
    wakes = []
    batch = _Batch([], 0, 5, None, lambda: wakes.append(1))
    batch.start()
    assert wakes == [1] and batch.result() == []


def test_an_in_read_places_rows_by_key_and_leaves_missing_keys_none():
    reader = FakeReader()
    wakes = []
    batch = _Batch([(reader, ["a", "b", "c"], "host", [2, 0, 1])], 3, 5, None, lambda: wakes.append(1))
    batch.start()
    assert reader.sent[0].key == (("a", "b", "c"), "host")
    answer(reader.sent[0], [(1.0, "c"), (2.0, "a")])  # token order; b has no row
    assert wakes == [1] and batch.result() == [None, (1.0, "c"), (2.0, "a")]


def test_keys_of_a_view_go_out_as_in_reads_per_replica_and_come_back_in_request_order():
    client = OnlineClient.__new__(OnlineClient)  # no cluster: only the planning is exercised
    users, merchants = FakeReader(), FakeReader()
    client._readers = {"users": users, "merchants": merchants}
    client.in_batch, client.max_in_flight, client._on_read = 2, 8, None
    items = [("users", f"u{i}") for i in range(5)] + [("merchants", "m1")]
    wakes = []
    batch = client._batch(items, lambda: wakes.append(1))
    batch.start()
    # A group of one key is a plain read: token-aware routing takes it to its replica.
    assert [f.key for f in users.sent] == [(("u0", "u2"), 0), "u4", (("u1", "u3"), 1)]
    assert [f.key for f in merchants.sent] == ["m1"]  # one key: a plain single-partition read
    for future in users.sent:
        keys = (future.key,) if isinstance(future.key, str) else future.key[0]
        answer(future, [(f"row-{k}", k) for k in keys])
    answer(merchants.sent[0], [("row-m1",)])
    assert wakes == [1]
    assert batch.result() == [(f"row-u{i}", f"u{i}") for i in range(5)] + [("row-m1",)]
