"""Online reads: the latest live feature values per entity, one partition read each.

Lifecycle: `OnlineReader(config)` connects and prepares one statement; `get()` may be called
any number of times, from one thread; `close()` (or leaving a `with` block) disconnects.
Readers of several views may share one driver `Session` (`OnlineReader(config, session=s)`):
then the caller owns the session and `close()` leaves it open. `start()` and `live_row()`
are the non-blocking halves of `get()`, for callers that batch reads themselves (the
serving SDK); `start_many()` reads several partitions in one request (`key IN ?`), and
`replica_groups()` splits keys so that each such request stays on one replica.
"""

from __future__ import annotations

import functools
import operator
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from cassandra import ConsistencyLevel, cqltypes
from cassandra.concurrent import execute_concurrent_with_args
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.cassandra import cql
from connectors.cassandra.direct import (PROTOCOL_VERSION, AsyncDirectReads, CellDecoder, DirectReads,
                                         DirectUnavailable, column_decoders)
from connectors.cassandra.errors import CassandraConfigError, CassandraReadError
from connectors.cassandra.session import ConnectionSecurity, connect_cluster, parse_contact_points
from connectors.cassandra.ttl import is_live
from connectors.cassandra.views import view_table

if TYPE_CHECKING:
    from cassandra.cluster import ResponseFuture, Session
    from cassandra.pool import Host

    from skewless.settings import Settings
    from skewless.spec import ViewSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_MS = timedelta(milliseconds=1)
_INTEGER_KEYS = (cqltypes.Int32Type, cqltypes.LongType, cqltypes.IntegerType, cqltypes.ShortType, cqltypes.ByteType)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def epoch_ms(value: datetime) -> int:
    """cassandra-driver returns `timestamp` as naive UTC datetimes; integer math avoids float rounding."""
    if value.tzinfo is None:  # no replace(): this runs once per row served
        return (value - _NAIVE_EPOCH) // _ONE_MS
    return (value - _EPOCH) // _ONE_MS


class OnlineReaderConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_points: str = "127.0.0.1:9042"
    local_datacenter: str = "datacenter1"
    keyspace: str
    table: str
    key_column: str
    feature_columns: tuple[str, ...]
    list_features: tuple[str, ...] = Field(
        (),
        description="features of type list<double>: Cassandra stores an empty list as null, so a "
        "null cell of a live row reads as [] (the value the job wrote, and the history holds)",
    )
    ttl_ms: int = Field(0, description="the view's TTL; <= 0 means values never expire")
    valid_from_column: str = "valid_from"
    written_at_column: str | None = Field(None, description="also read when each row was written (serving metadata)")
    concurrency: int = Field(64, ge=1, description="partition reads in flight per get()")
    consistency: Literal["ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL"] = "LOCAL_QUORUM"

    @model_validator(mode="after")
    def _check(self) -> OnlineReaderConfig:
        parse_contact_points(self.contact_points)
        cql.render_select_by_key(self.keyspace, self.table, self.key_column, self.selected_columns)
        if not self.feature_columns:
            raise CassandraConfigError("feature_columns is empty: name at least one feature to read")
        unknown = [f for f in self.list_features if f not in self.feature_columns]
        if unknown:
            raise CassandraConfigError(f"list_features {unknown} are not among feature_columns {self.feature_columns}")
        return self

    @classmethod
    def for_view(cls, spec: ViewSpec, settings: Settings, **overrides: Any) -> OnlineReaderConfig:
        fields: dict[str, Any] = dict(
            contact_points=settings.cassandra.hosts,
            local_datacenter=settings.cassandra.local_dc,
            keyspace=settings.cassandra.keyspace,
            table=view_table(spec),
            key_column=spec.entity_key,
            feature_columns=tuple(spec.feature_names),
            ttl_ms=spec.ttl_ms,
            list_features=tuple(f.name for f in spec.features if f.value_type == "list<double>"),
        )
        return cls(**(fields | overrides))

    @property
    def selected_columns(self) -> tuple[str, ...]:
        """valid_from first (the TTL check needs it), then written_at if asked for, then the
        features, without repeats."""
        meta = (self.valid_from_column,) if self.written_at_column is None else (
            self.valid_from_column, self.written_at_column)
        return tuple(dict.fromkeys((*meta, *self.feature_columns)))


@dataclass(frozen=True, slots=True)
class LiveRow:
    """An entity's live update as read: feature values, plus when it became valid and was written (epoch ms)."""

    values: dict[str, Any]
    valid_from: int
    written_at: int | None = None


class OnlineReader:
    def __init__(
        self, config: OnlineReaderConfig, *, clock: Callable[[], int] = now_ms, session: Session | None = None,
        security: ConnectionSecurity | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        # With a caller's session the caller owns the connection; otherwise this reader does.
        self._cluster = None if session is not None else connect_cluster(
            config.contact_points, config.local_datacenter, consistency=config.consistency, security=security
        )
        try:
            self._session = session if session is not None else self._cluster.connect()  # type: ignore[union-attr]
            self._select = self._session.prepare(
                cql.render_select_by_key(config.keyspace, config.table, config.key_column, config.selected_columns)
            )
            # The same columns, then the key (rows of an IN read come back in token order).
            by_key = cql.render_select_by_key(
                config.keyspace, config.table, config.key_column, (*config.selected_columns, config.key_column))
            self._select_in = self._session.prepare(by_key.removesuffix(" = ?") + " IN ?")
        except Exception as exc:
            if self._cluster is not None:
                self._cluster.shutdown()
            raise CassandraReadError(
                f"cannot prepare reads of {config.keyspace}.{config.table} at {config.contact_points}: {exc}"
            ) from exc
        self._ttl_ms = config.ttl_ms if config.ttl_ms > 0 else None
        self._consistency = getattr(ConsistencyLevel, config.consistency)
        # live_row runs per entity served: the feature cells are taken with one slice when
        # they are contiguous (the usual layout), else by position.
        self._feature_names = config.feature_columns
        positions = [config.selected_columns.index(f) for f in config.feature_columns]
        contiguous = positions == list(range(positions[0], positions[0] + len(positions)))
        self._feature_cells: Callable[[Any], Sequence[Any]] = (
            operator.itemgetter(slice(positions[0], positions[-1] + 1)) if contiguous
            else lambda row: [row[p] for p in positions]
        )
        self._datetime_features = _maybe_datetime(self._select, config.feature_columns)
        self._list_features = tuple(config.list_features)
        self._written_at_position = (
            None if config.written_at_column is None else config.selected_columns.index(config.written_at_column)
        )

    def get(self, entity_ids: Iterable[Any]) -> dict[Any, dict[str, Any] | None]:
        """Latest values per entity; None for an entity with no row or whose latest update expired."""
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return {}
        now = self._clock()  # one instant for the whole batch: a consistent snapshot of liveness
        results = execute_concurrent_with_args(
            self._session,
            self._select,
            [(entity,) for entity in ids],
            concurrency=self.config.concurrency,
            raise_on_first_error=False,
        )
        out: dict[Any, dict[str, Any] | None] = {}
        for entity, (ok, result) in zip(ids, results):
            if not ok:
                where = f"{self.config.keyspace}.{self.config.table}"
                raise CassandraReadError(f"reading entity {entity!r} from {where} failed: {result}") from result
            out[entity] = self._live_values(result.one(), now)
        return out

    def _live_values(self, row: Any, now: int) -> dict[str, Any] | None:
        live = self.live_row(row, now)
        return None if live is None else live.values

    def start(self, entity: Any) -> ResponseFuture:
        """Send the read of one entity's partition without waiting; the driver's future answers."""
        return self._session.execute_async(self._select, (entity,))

    def read_direct(self, direct: DirectReads, entity: Any) -> Any:
        """The row (or None) of one entity's partition, read on the calling thread over
        `direct`'s connections to an up replica in the local datacenter (the one the
        token-aware policy would pick); DirectUnavailable when that path cannot answer, and
        `start()` should."""
        address, key = self._direct_target(entity)
        rows = direct.rows(address, self._select.query_id, [key], self._consistency, self._decoders)
        return rows[0] if rows else None

    async def read_direct_async(self, direct: AsyncDirectReads, entity: Any) -> Any:
        """`read_direct` on the running event loop."""
        address, key = self._direct_target(entity)
        rows = await direct.rows(address, self._select.query_id, [key], self._consistency, self._decoders)
        return rows[0] if rows else None

    @functools.cached_property
    def _decoders(self) -> tuple[CellDecoder, ...]:
        return column_decoders(self._select.result_metadata)

    def _direct_target(self, entity: Any) -> tuple[tuple[str, int], bytes]:
        """The replica address to read `entity` from, and its serialized key."""
        try:
            key = self._select.column_metadata[0].type.serialize(entity, PROTOCOL_VERSION)
        except Exception as exc:  # a key of the wrong type: the driver's path reports it as it always does
            raise DirectUnavailable(f"cannot serialize key {entity!r}: {exc}") from exc
        metadata = self._session.cluster.metadata
        if metadata.token_map is None:
            raise DirectUnavailable("no token map")
        local = self.config.local_datacenter
        replicas = [h for h in metadata.get_replicas(self.config.keyspace, key) if h.is_up and h.datacenter == local]
        if not replicas:
            raise DirectUnavailable(f"no up replica in {local}")
        host = replicas[0] if len(replicas) == 1 else random.choice(replicas)
        return host.endpoint.resolve(), key

    def start_many(self, keys: Sequence[Any], host: Host | None = None) -> ResponseFuture:
        """Send one read of several partitions (`key IN ?`), to `host` if given (see
        `replica_groups`). Its rows are those of `start()` with the key appended, in token
        order, only for keys that have a row."""
        return self._session.execute_async(self._select_in, (list(keys),), host=host)

    def replica_groups(self, keys: Sequence[Any], max_keys: int) -> list[tuple[Host | None, list[Any]]]:
        """`keys` split by the replica that holds them, at most `max_keys` a group: an IN read
        of one group is answered by that replica alone, with no fan-out by the coordinator.
        One node (or no token map yet): groups in order, each sent like any read (host None)."""
        metadata = self._session.cluster.metadata
        hosts = metadata.all_hosts()
        groups: dict[Any, list[Any]] = {}
        if len(hosts) <= 1 or metadata.token_map is None:
            groups[None] = list(keys)
        else:
            serialize = self._select.column_metadata[0].type.serialize
            version = self._session.cluster.protocol_version
            for key in keys:
                replicas = metadata.get_replicas(self.config.keyspace, serialize(key, version))
                host = next((h for h in replicas if h.is_up), None)
                groups.setdefault(host, []).append(key)
        return [(host, group[i:i + max_keys]) for host, group in groups.items() for i in range(0, len(group), max_keys)]

    def live_row(self, row: Any, now: int) -> LiveRow | None:
        """A row of `start()`'s or `start_many()`'s result (or None: no row) judged live at
        `now` by the TTL rule."""
        # A missing valid_from means the sink never wrote this row: treat it as absent.
        if row is None or row[0] is None:
            return None
        valid_from = epoch_ms(row[0])
        if not is_live(valid_from, now, self._ttl_ms):
            return None
        written = None if self._written_at_position is None else row[self._written_at_position]
        values = dict(zip(self._feature_names, self._feature_cells(row)))
        for feature in self._datetime_features:
            values[feature] = _aware(values[feature])
        for feature in self._list_features:
            if values[feature] is None:  # Cassandra cannot tell [] from null; the job never writes null lists
                values[feature] = []
        return LiveRow(
            values,
            valid_from,
            None if written is None else epoch_ms(written),
        )

    def parse_key(self, text: str) -> Any:
        """Turn a command-line entity id into the key column's Python type."""
        kind = self._select.column_metadata[0].type
        try:
            if issubclass(kind, _INTEGER_KEYS):
                return int(text)
            if issubclass(kind, (cqltypes.UUIDType, cqltypes.TimeUUIDType)):
                return uuid.UUID(text)
        except ValueError as exc:
            raise CassandraConfigError(f"entity id {text!r} is not a valid {kind.typename}") from exc
        return text

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()

    def __enter__(self) -> OnlineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _maybe_datetime(select: Any, features: tuple[str, ...]) -> tuple[str, ...]:
    """The features whose cells may be datetimes: the prepared statement's timestamp columns,
    or every feature when its metadata is not at hand."""
    try:
        kinds = {name: kind for _ks, _table, name, kind in select.result_metadata}
        return tuple(f for f in features if issubclass(kinds[f], cqltypes.DateType))
    except (AttributeError, KeyError, TypeError, ValueError):
        return features


def _aware(value: Any) -> Any:
    # Time is timezone-aware everywhere: the driver's naive UTC datetimes get their zone back.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
