"""`FeatureStore`: online features for entities by `view:feature` refs, sync or asyncio.

    store = FeatureStore.from_settings()  # settings from SKEWLESS_*, views from the registry
    response = store.get_online_features(["u1", "u2"], ["user_transactions:*"])
    response[0].values()  # {"user_transactions:avg_amount_30d": 41.5, ...}
    # or: await store.get_online_features_async(...)

Unknown views or features raise `UnknownFeatureError` naming the known ones; an entity
with no live value gets None values (absent), never an error. The TTL rule is applied by
`OnlineReader.live_row`, i.e. `connectors.cassandra.ttl.is_live`, at `served_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from connectors.cassandra.reader import now_ms
from connectors.cassandra.session import ConnectionSecurity
from skewless.serving import defaults
from skewless.serving.client import DEFAULT_IN_BATCH, OnlineClient, ReadHook
from skewless.serving.plan import ReadPlan, plan_request
from skewless.serving.refs import Resolver
from skewless.serving.result import OnlineResponse, ViewRead, build_response
from skewless.spec import ViewSpec

if TYPE_CHECKING:
    from skewless.serving.log import ServingLog
    from skewless.settings import Settings

DEFAULT_MAX_ENTITIES = defaults.MAX_ENTITIES


class FeatureStore:
    def __init__(
        self,
        views: Mapping[str, ViewSpec] | Iterable[ViewSpec],
        *,
        contact_points: str = "127.0.0.1:9042",
        local_datacenter: str = "datacenter1",
        keyspace: str = "skewless",
        consistency: str = "LOCAL_QUORUM",
        request_timeout_s: float = defaults.READ_TIMEOUT_MS / 1000,
        max_in_flight: int = 256,
        in_batch: int = DEFAULT_IN_BATCH,
        max_entities: int = DEFAULT_MAX_ENTITIES,
        clock: Callable[[], int] = now_ms,
        log: ServingLog | None = None,
        on_read: ReadHook | None = None,
        direct_reads: bool = True,
        security: ConnectionSecurity | None = None,
    ) -> None:
        self.views: dict[str, ViewSpec] = dict(views) if isinstance(views, Mapping) else {v.name: v for v in views}
        self.max_entities = max_entities
        self._resolver = Resolver(self.views)
        self._clock = clock
        self._log = log
        self.client = OnlineClient(
            self.views,
            contact_points=contact_points,
            local_datacenter=local_datacenter,
            keyspace=keyspace,
            consistency=consistency,
            request_timeout_s=request_timeout_s,
            max_in_flight=max_in_flight,
            in_batch=in_batch,
            on_read=on_read,
            direct_reads=direct_reads,
            security=security,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        views: Mapping[str, ViewSpec] | Iterable[ViewSpec] | None = None,
        **options: Any,
    ) -> FeatureStore:
        """Cassandra's location from `Settings` (from the environment when not given); views
        default to the latest version of every view in the settings' registry."""
        if settings is None:
            from skewless.settings import load_settings

            settings = load_settings()
        if views is None:
            from skewless.registry.catalogue import Catalogue

            views = Catalogue.from_settings(settings).latest()
        return cls(
            views,
            contact_points=settings.cassandra.hosts,
            local_datacenter=settings.cassandra.local_dc,
            keyspace=settings.cassandra.keyspace,
            **({"security": ConnectionSecurity.from_settings(settings.cassandra)} | options),
        )

    # -- the read path -------------------------------------------------------------

    def plan(self, entities: Sequence[Any], features: Sequence[str]) -> ReadPlan:
        """Validate a request without touching Cassandra (RequestError says what is wrong)."""
        return plan_request(entities, features, self.views, self.max_entities, self._resolver)

    def get_online_features(self, entities: Sequence[Any], features: Sequence[str]) -> OnlineResponse:
        plan = self.plan(entities, features)
        rows = self.client.read(plan.reads)
        return self._respond(plan, rows)

    async def get_online_features_async(self, entities: Sequence[Any], features: Sequence[str]) -> OnlineResponse:
        plan = self.plan(entities, features)
        rows = await self.client.read_async(plan.reads)
        return self._respond(plan, rows)

    def _respond(self, plan: ReadPlan, rows: list[Any]) -> OnlineResponse:
        # After every read answered: each row served was written before this instant,
        # and the TTL is judged at it (the instant verify replays).
        served_at = self._clock()
        live = {view: self.client.reader(view).live_row for view in plan.keys[0]}
        found: dict[tuple[str, str], ViewRead] = {}
        for (view, key), row in zip(plan.reads, rows, strict=True):
            found[(view, key)] = ViewRead(key, live[view](row, served_at))
        reads = [{view: found[(view, key)] for view, key in by_view.items()} for by_view in plan.keys]
        response = build_response(served_at, plan.refs, plan.entities, reads, plan.columns)
        if self._log is not None:
            self._log.record(response)
        return response

    # -- lifecycle -----------------------------------------------------------------

    def prepare(self, views: Iterable[str] | None = None) -> None:
        self.client.prepare(views)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
