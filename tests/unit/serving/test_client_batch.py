"""The batched read machinery without Cassandra: in-flight cap, order, errors, one wake-up."""

from __future__ import annotations

import pytest

from skewless.serving.client import _Batch
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


def in_flight(reader: FakeReader) -> list[FakeFuture]:
    return [f for f in reader.sent if not getattr(f, "done", False)]


def answer(future: FakeFuture, rows) -> None:
    future.done = True
    future.answer(rows)


def test_reads_stay_under_the_cap_and_rows_keep_request_order():
    reader = FakeReader()
    wakes = []
    keys = [f"k{i}" for i in range(10)]
    batch = _Batch([(reader, k) for k in keys], 3, None, lambda: wakes.append(1))
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
    batch = _Batch([(reader, f"k{i}") for i in range(10)], 2, timings.append, lambda: wakes.append(1))
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
    batch = _Batch([(reader, "k0"), (reader, "k1")], 5, None, lambda: wakes.append(1))
    batch.start()
    answer(reader.sent[0], [])
    assert wakes == [1]
    with pytest.raises(StoreUnavailableError, match="no host for k1"):
        batch.result()


def test_an_empty_batch_wakes_at_once():
    wakes = []
    batch = _Batch([], 5, None, lambda: wakes.append(1))
    batch.start()
    assert wakes == [1] and batch.result() == []
