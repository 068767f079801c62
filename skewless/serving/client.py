"""The Cassandra side of serving: one session, one prepared `OnlineReader` per view, and
batched non-blocking partition reads.

One (view, key) is one prepared single-partition read: it carries its routing key, so the
token-aware policy sends it straight to a replica, through the client's `RowReader`
(below) with no batching machinery. Several keys of a view are split by replica (`OnlineReader.replica_groups`), at
most `in_batch` keys a group, and each group is one `key IN ?` read sent to that replica,
so no coordinator fans out; groups go out at once (up to `max_in_flight`, the rest as
earlier ones answer). Measured on this 2-core machine (bench/serving.py, 100 entities x 20
features): one IN read of 100 partitions costs the Python side a fraction of 100 separate
reads, whose per-request driver work (~50 us each) capped the rate near 10 requests/s.

A read of one partition (the common scoring request) goes through the `RowReader` the
client picked when it started (`connectors.cassandra.row_reader`, which logs its choice):
the direct path sends it from the calling thread over connections of
`connectors.cassandra.direct` to the replica the token-aware policy would pick (about a
third of the CPU and half the latency of the driver's round trip here), authenticated
and encrypted like the driver's session, and anything but rows in answer sends the same
read through the driver instead; a server the direct path cannot log in to or encrypt
for gets the driver alone.

Otherwise the driver answers on its own IO thread; `_Batch` counts the answers there and wakes the
caller once, by releasing a lock the caller blocks on (sync) or through
`loop.call_soon_threadsafe` (asyncio), so an async request costs one thread hop, not one
per read and no executor thread.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable
from cassandra.query import tuple_factory

from connectors.cassandra import cql
from connectors.cassandra.errors import CassandraError
from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.cassandra.row_reader import RowReader, choose_row_reader
from connectors.cassandra.session import ConnectionSecurity, connect_cluster
from connectors.cassandra.views import view_table
from skewless.serving.errors import StoreUnavailableError
from skewless.spec import ViewSpec

ReadHook = Callable[[float], None]  # seconds one Cassandra read took
DEFAULT_IN_BATCH = 100  # keys per IN read
MAX_IN_BATCH = 1000  # well under the driver's page (5000 rows): an IN read is never paged
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
        in_batch: int = DEFAULT_IN_BATCH,
        on_read: ReadHook | None = None,
        direct_reads: bool = True,
        security: ConnectionSecurity | None = None,
    ) -> None:
        if not 1 <= in_batch <= MAX_IN_BATCH:
            raise ValueError(f"in_batch {in_batch!r}: expected 1 to {MAX_IN_BATCH} keys per read")
        self.views = dict(views)
        self.keyspace = keyspace
        self.max_in_flight = max_in_flight
        self.in_batch = in_batch
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

        security = security or ConnectionSecurity()
        # Rows are indexed by position: plain tuples, not a namedtuple built per row.
        self._cluster = connect_cluster(
            contact_points, local_datacenter, consistency=consistency, request_timeout_s=request_timeout_s,
            security=security, row_factory=tuple_factory,
        )
        try:
            self._session = self._cluster.connect()
        except Exception as exc:
            self._cluster.shutdown()
            raise _not_connected(exc, contact_points, local_datacenter, security) from exc
        self._rows: RowReader = choose_row_reader(
            self.reader, self._session, local_datacenter=local_datacenter, timeout_s=request_timeout_s,
            security=security, direct=direct_reads,
        )

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

    @property
    def row_reader(self) -> RowReader:
        """What single-entity reads go through (chosen at start)."""
        return self._rows

    def read(self, items: Sequence[tuple[str, str]]) -> list[Any]:
        """The raw row (or None) of each distinct (view, key), blocking until all have answered."""
        if len(items) == 1:
            view, key = items[0]
            reader = self.reader(view)
            started = time.perf_counter()
            try:
                row = self._rows.read(view, key)
            except Exception as exc:
                raise _unavailable(reader, 1, exc) from exc
            return self._answered(row, started)
        waiter = threading.Lock()
        waiter.acquire()
        batch = self._batch(items, waiter.release)
        batch.start()
        waiter.acquire()  # released on the driver's IO thread once every read answered
        return batch.result()

    async def read_async(self, items: Sequence[tuple[str, str]]) -> list[Any]:
        loop = asyncio.get_running_loop()
        unprepared = {view for view, _ in items if view not in self._readers}
        if unprepared:  # first use: preparing blocks, so keep it off the loop
            await loop.run_in_executor(None, self.prepare, unprepared)
        if len(items) == 1:
            view, key = items[0]
            reader = self.reader(view)
            started = time.perf_counter()
            try:
                row = await self._rows.read_async(view, key)
            except Exception as exc:
                raise _unavailable(reader, 1, exc) from exc
            return self._answered(row, started)
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, future)

        batch = self._batch(items, wake)
        batch.start()
        await future
        return batch.result()

    def _answered(self, row: Any, started: float) -> list[Any]:
        if self._on_read is not None:
            self._on_read(time.perf_counter() - started)
        return [row]

    def _batch(self, items: Sequence[tuple[str, str]], done: Callable[[], None]) -> _Batch:
        by_view: dict[str, list[str]] = {}
        for view, key in items:
            by_view.setdefault(view, []).append(key)
        slot = {item: i for i, item in enumerate(items)}
        reads: list[_Read] = []
        for view, keys in by_view.items():
            reader = self.reader(view)
            groups = reader.replica_groups(keys, self.in_batch) if len(keys) > 1 else [(None, keys)]
            reads += [(reader, group, host, [slot[(view, k)] for k in group]) for host, group in groups]
        return _Batch(reads, len(items), self.max_in_flight, self._on_read, done)

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
        self._rows.close()
        self._cluster.shutdown()


def _not_connected(error: Exception, contact_points: str, local_datacenter: str,
                   security: ConnectionSecurity) -> StoreUnavailableError:
    causes = list(error.errors.values()) if isinstance(error, NoHostAvailable) else [error]
    login = next((c for c in causes if isinstance(c, AuthenticationFailed)), None)
    if login is not None:
        who = f"user {security.username!r}" if security.authenticates else "a client without a username"
        return StoreUnavailableError(
            f"Cassandra at {contact_points} refused the login of {who}: {login}; "
            "check the cassandra username and password settings"
        )
    return StoreUnavailableError(
        f"cannot connect to Cassandra at {contact_points} (datacenter {local_datacenter}): {error}; "
        "is it running (`skewless stack status`)?"
    )


def _resolve(future: asyncio.Future[None], error: BaseException | None = None) -> None:
    if future.done():  # the awaiting request was cancelled (client gone)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


# (reader, keys, replica to send to or None, each key's slot in the batch's rows)
_Read = tuple[OnlineReader, list[str], Any, list[int]]


class _Batch:
    """Sends reads (one partition each, or an IN read of several), keeping at most `cap`
    in flight, and calls `done()` once all answered."""

    __slots__ = ("_reads", "_cap", "_on_read", "_done", "_rows", "_error", "_next", "_pending", "_lock")

    def __init__(
        self, reads: list[_Read], size: int, cap: int, on_read: ReadHook | None, done: Callable[[], None]
    ) -> None:
        self._reads = reads
        self._cap = cap
        self._on_read = on_read
        self._done = done
        self._rows: list[Any] = [None] * size
        self._error: BaseException | None = None
        self._next = 0
        self._pending = len(reads)
        self._lock = threading.Lock()

    def start(self) -> None:
        if not self._reads:
            self._done()
            return
        for _ in range(min(self._cap, len(self._reads))):
            self._send()

    def _send(self) -> None:
        with self._lock:
            index = self._next
            if index >= len(self._reads) or self._error is not None:
                return
            self._next += 1
        reader, keys, host, _ = self._reads[index]
        started = time.perf_counter()
        try:
            response = reader.start(keys[0]) if len(keys) == 1 else reader.start_many(keys, host)
        except Exception as exc:  # e.g. NoHostAvailable raised at send time
            self._answer(index, None, exc)
            return
        response.add_callbacks(
            self._ok, self._failed, callback_args=(index, started), errback_args=(index,)
        )

    def _ok(self, rows: list[Any], index: int, started: float) -> None:
        if self._on_read is not None:
            self._on_read(time.perf_counter() - started)
        self._answer(index, rows, None)
        self._send()

    def _failed(self, error: BaseException, index: int) -> None:
        self._answer(index, None, error)

    def _answer(self, index: int, rows: list[Any] | None, error: BaseException | None) -> None:
        _, keys, _, slots = self._reads[index]
        if rows and len(keys) == 1:
            self._rows[slots[0]] = rows[0]
        elif rows:  # an IN read: rows (key last) only for the keys that have one, in token order
            by_key = {row[-1]: row for row in rows}
            for key, slot in zip(keys, slots):
                self._rows[slot] = by_key.get(key)
        with self._lock:
            if error is not None and self._error is None:
                self._error = error
                unsent = len(self._reads) - self._next  # stop sending; count the unsent as answered
                self._next = len(self._reads)
                self._pending -= unsent
            self._pending -= 1
            last = self._pending == 0
        if last:
            self._done()

    def result(self) -> list[Any]:
        if self._error is not None:
            raise _unavailable(self._reads[0][0], len(self._rows), self._error) from self._error
        return self._rows


def _unavailable(reader: OnlineReader, partitions: int, error: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"reading {partitions} partitions from keyspace {reader.config.keyspace} failed: "
        f"{type(error).__name__}: {error}"
    )
