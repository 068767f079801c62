"""The Cassandra side of serving: one session, one prepared `OnlineReader` per view, and
batched non-blocking partition reads.

A request for N entities x V views is N x V single-partition reads, all sent at once (up
to `max_in_flight`, the rest as earlier ones answer): each prepared read carries its
routing key, so the token-aware policy sends it straight to a replica. Cassandra has no
cheaper multi-partition read: `IN` on the partition key makes one coordinator fan out.

The driver answers on its own IO thread; `_Batch` counts the answers there and wakes the
caller once, through a `threading.Event` (sync) or `loop.call_soon_threadsafe` (asyncio),
so an async request costs one thread hop, not one per read and no executor thread.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cassandra.query import tuple_factory

from connectors.cassandra import cql
from connectors.cassandra.errors import CassandraError
from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.cassandra.session import connect_cluster
from connectors.cassandra.views import view_table
from skewless.serving.errors import StoreUnavailableError
from skewless.spec import ViewSpec

ReadHook = Callable[[float], None]  # seconds one partition read took
_MIN_TOKEN, _MAX_TOKEN = -(2**63), 2**63 - 1  # Murmur3Partitioner


class OnlineClient:
    """Lifecycle: construct (connects), `prepare()` views up front or let reads prepare them,
    read from any number of threads and event loops, `close()` once."""

    def __init__(
        self,
        views: Mapping[str, ViewSpec],
        *,
        contact_points: str = "127.0.0.1:9042",
        local_datacenter: str = "datacenter1",
        keyspace: str = "skewless",
        consistency: str = "LOCAL_QUORUM",
        request_timeout_s: float = 2.0,
        max_in_flight: int = 256,
        on_read: ReadHook | None = None,
    ) -> None:
        self.views = dict(views)
        self.keyspace = keyspace
        self.max_in_flight = max_in_flight
        self._on_read = on_read
        self._configs = {
            name: OnlineReaderConfig(
                contact_points=contact_points,
                local_datacenter=local_datacenter,
                keyspace=keyspace,
                table=view_table(spec),
                key_column=spec.entity_key,
                feature_columns=tuple(spec.feature_names),
                list_features=tuple(f.name for f in spec.features if f.value_type == "list<double>"),
                ttl_ms=spec.ttl_ms,
                written_at_column="written_at",
                consistency=consistency,
            )
            for name, spec in self.views.items()
        }
        self._readers: dict[str, OnlineReader] = {}
        self._lock = threading.Lock()
        self._cluster = connect_cluster(
            contact_points, local_datacenter, consistency=consistency, request_timeout_s=request_timeout_s
        )
        # Rows are indexed by position: plain tuples, not a namedtuple built per row.
        self._cluster.profile_manager.default.row_factory = tuple_factory
        try:
            self._session = self._cluster.connect()
        except Exception as exc:
            self._cluster.shutdown()
            raise StoreUnavailableError(
                f"cannot connect to Cassandra at {contact_points} (datacenter {local_datacenter}): {exc}; "
                "is it running (`skewless stack status`)?"
            ) from exc

    # -- preparing -----------------------------------------------------------------

    def reader(self, view: str) -> OnlineReader:
        reader = self._readers.get(view)
        if reader is not None:
            return reader
        with self._lock:
            if view not in self._readers:
                config = self._configs[view]
                try:
                    self._readers[view] = OnlineReader(config, session=self._session)
                except CassandraError as exc:
                    raise StoreUnavailableError(
                        f"view {view!r}: {exc}; does table {config.keyspace}.{config.table} exist "
                        "(the view's job creates it)?"
                    ) from exc
            return self._readers[view]

    def prepare(self, views: Iterable[str] | None = None) -> None:
        """Prepare the reads of `views` (default: all) now rather than on first use."""
        for view in self.views if views is None else views:
            self.reader(view)

    def is_prepared(self, views: Iterable[str] | None = None) -> bool:
        return all(v in self._readers for v in (self.views if views is None else views))

    # -- reading -------------------------------------------------------------------

    def read(self, items: Sequence[tuple[str, str]]) -> list[Any]:
        """The raw row (or None) of each (view, key), blocking until all have answered."""
        readers = [(self.reader(view), key) for view, key in items]
        done = threading.Event()
        batch = _Batch(readers, self.max_in_flight, self._on_read, done.set)
        batch.start()
        done.wait()
        return batch.result()

    async def read_async(self, items: Sequence[tuple[str, str]]) -> list[Any]:
        loop = asyncio.get_running_loop()
        views = {view for view, _ in items}
        if not self.is_prepared(views):  # first use: preparing blocks, so keep it off the loop
            await loop.run_in_executor(None, self.prepare, views)
        readers = [(self._readers[view], key) for view, key in items]
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, future)

        batch = _Batch(readers, self.max_in_flight, self._on_read, wake)
        batch.start()
        await future
        return batch.result()

    async def ping_async(self, timeout_s: float = 1.0) -> None:
        """Raise StoreUnavailableError unless Cassandra answers a trivial query in time."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        try:
            response = self._session.execute_async("SELECT release_version FROM system.local", timeout=timeout_s)
        except Exception as exc:
            raise StoreUnavailableError(f"Cassandra did not take a query: {exc}") from exc

        def settle(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_resolve, future, error)

        response.add_callbacks(lambda _rows: settle(None), settle)
        try:
            await future
        except Exception as exc:
            raise StoreUnavailableError(f"Cassandra did not answer: {exc}") from exc

    def sample_keys(self, view: str, n: int, rng: random.Random | None = None) -> list[str]:
        """Up to n entity keys of `view`, starting at a random token (uniform over the ring)."""
        spec = self.views[view]
        rng = rng or random.Random()
        table, key = cql.qualified(self.keyspace, view_table(spec)), cql.identifier(spec.entity_key, "key column")
        start = rng.randint(_MIN_TOKEN, _MAX_TOKEN)
        keys: list[str] = []
        try:
            for op in (">=", "<"):  # from the random token to the end of the ring, then wrap around
                if len(keys) >= n:
                    break
                rows = self._session.execute(
                    f"SELECT {key} FROM {table} WHERE token({key}) {op} %s LIMIT %s", (start, n - len(keys))
                )
                keys += [row[0] for row in rows]
        except Exception as exc:
            raise StoreUnavailableError(f"cannot list keys of view {view!r} in {table}: {exc}") from exc
        return keys

    def close(self) -> None:
        self._cluster.shutdown()


def _resolve(future: asyncio.Future[None], error: BaseException | None = None) -> None:
    if future.done():  # the awaiting request was cancelled (client gone)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class _Batch:
    """Sends reads, keeping at most `cap` in flight, and calls `done()` once all answered."""

    __slots__ = ("_readers", "_cap", "_on_read", "_done", "_rows", "_error", "_next", "_pending", "_lock")

    def __init__(
        self, readers: list[tuple[OnlineReader, str]], cap: int, on_read: ReadHook | None, done: Callable[[], None]
    ) -> None:
        self._readers = readers
        self._cap = cap
        self._on_read = on_read
        self._done = done
        self._rows: list[Any] = [None] * len(readers)
        self._error: BaseException | None = None
        self._next = 0
        self._pending = len(readers)
        self._lock = threading.Lock()

    def start(self) -> None:
        if not self._readers:
            self._done()
            return
        for _ in range(min(self._cap, len(self._readers))):
            self._send()

    def _send(self) -> None:
        with self._lock:
            index = self._next
            if index >= len(self._readers) or self._error is not None:
                return
            self._next += 1
        reader, key = self._readers[index]
        started = time.perf_counter()
        try:
            response = reader.start(key)
        except Exception as exc:  # e.g. NoHostAvailable raised at send time
            self._answer(index, None, exc)
            return
        response.add_callbacks(
            self._ok, self._failed, callback_args=(index, started), errback_args=(index,)
        )

    def _ok(self, rows: list[Any], index: int, started: float) -> None:
        if self._on_read is not None:
            self._on_read(time.perf_counter() - started)
        self._answer(index, rows[0] if rows else None, None)
        self._send()

    def _failed(self, error: BaseException, index: int) -> None:
        self._answer(index, None, error)

    def _answer(self, index: int, row: Any, error: BaseException | None) -> None:
        with self._lock:
            self._rows[index] = row
            if error is not None and self._error is None:
                self._error = error
                unsent = len(self._readers) - self._next  # stop sending; count the unsent as answered
                self._next = len(self._readers)
                self._pending -= unsent
            self._pending -= 1
            last = self._pending == 0
        if last:
            self._done()

    def result(self) -> list[Any]:
        if self._error is not None:
            reader, _ = self._readers[0]
            raise StoreUnavailableError(
                f"reading {len(self._readers)} partitions from keyspace {reader.config.keyspace} failed: "
                f"{type(self._error).__name__}: {self._error}"
            ) from self._error
        return self._rows
