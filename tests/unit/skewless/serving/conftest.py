"""Doubles for serving's pure logic: two views, a Cassandra-free store and an in-memory ASGI client."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from connectors.cassandra.reader import LiveRow
from skewless.serving.errors import StoreUnavailableError
from skewless.serving.plan import plan_request
from skewless.serving.refs import Resolver
from skewless.serving.result import OnlineResponse, ViewRead, build_response
from skewless.spec import FeatureSpec, ViewSpec

DAY = 86_400_000
USERS = ViewSpec(
    name="users", version=1, entity_key="user_id", source_topic="tx", event_time_field="t",
    features=(
        FeatureSpec("avg_amount", "avg", "amount", window_ms=30 * DAY, hop_ms=DAY),
        FeatureSpec("n_tx", "count", None, window_ms=30 * DAY, hop_ms=DAY),
        FeatureSpec("max_amount", "max", "amount", window_ms=7 * DAY, hop_ms=DAY),
    ),
    ttl_ms=30 * DAY,
)
MERCHANTS = ViewSpec(
    name="merchants", version=2, entity_key="merchant_id", source_topic="tx", event_time_field="t",
    features=(FeatureSpec("n_tx", "count", None, window_ms=DAY, hop_ms=DAY),),
    ttl_ms=DAY,
)
VIEWS = {v.name: v for v in (USERS, MERCHANTS)}


class FakeClient:
    def __init__(self) -> None:
        self.down = False

    async def ping_async(self) -> None:
        if self.down:
            raise StoreUnavailableError("Cassandra did not answer: down for the test")


class FakeStore:
    """FeatureStore's request surface over an in-memory table: {(view, key): LiveRow}."""

    def __init__(self, rows: dict[tuple[str, str], LiveRow], served_at: int = 1_700_000_000_000,
                 max_entities: int = 50) -> None:
        self.views = VIEWS
        self.rows = rows
        self.served_at = served_at
        self.max_entities = max_entities
        self.client = FakeClient()
        self.resolver = Resolver(VIEWS)
        self.closed = False

    def prepare(self) -> None:
        if self.client.down:
            raise StoreUnavailableError("cannot prepare: down for the test")

    async def get_online_features_async(self, entities: Any, features: Any) -> OnlineResponse:
        plan = plan_request(entities, features, self.views, self.max_entities, self.resolver)
        if self.client.down:
            raise StoreUnavailableError("reading 1 partitions failed: down for the test")
        found = {r: ViewRead(r[1], self.rows.get(r)) for r in plan.reads}
        reads = [{view: found[(view, key)] for view, key in k.items()} for k in plan.keys]
        return build_response(self.served_at, plan.refs, plan.entities, reads, plan.columns)

    def close(self) -> None:
        self.closed = True


def live(valid_from: int, **values: Any) -> LiveRow:
    return LiveRow(values, valid_from, valid_from + 5)


@pytest.fixture
def rows() -> dict[tuple[str, str], LiveRow]:
    return {
        ("users", "u1"): live(1_699_999_000_000, avg_amount=12.5, n_tx=4, max_amount=30.0),
        ("merchants", "m1"): live(1_699_999_500_000, n_tx=9),
    }


async def asgi_call(app: Any, method: str, path: str, body: bytes = b"",
                    headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP request through an ASGI app, in memory: (status, headers, body)."""
    scope = {"type": "http", "method": method, "path": path, "headers": headers or [], "query_string": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    out: dict[str, Any] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], dict(message["headers"])
        else:
            out["body"] = out.get("body", b"") + message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["headers"], out["body"]


async def started(app: Any) -> None:
    """Run the app's warm-up (what lifespan startup launches) to completion."""
    await app._warm_up()


def json_of(body: bytes) -> Any:
    return orjson.loads(body)
