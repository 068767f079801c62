"""The ASGI app in memory, over a Cassandra-free store: routing, status codes, error bodies."""

import asyncio
import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skewless.serving.http import FeatureServer
from skewless.serving.metrics import ServingMetrics
from tests.unit.skewless.serving.conftest import FakeStore, asgi_call, json_of, started


def make_app(rows, **kwargs):
    store = FakeStore(rows)
    return FeatureServer(lambda: store, **kwargs), store


def post(app, body: bytes, headers=None):
    return asyncio.run(asgi_call(app, "POST", "/features", body, headers))


def ready_app(rows, **kwargs):
    app, store = make_app(rows, **kwargs)
    asyncio.run(started(app))
    return app, store


def test_features_answer_per_entity_per_feature_with_metadata(rows):
    app, _ = ready_app(rows)
    body = b'{"entities": ["u1", {"user_id": "nobody"}], "features": ["users:n_tx", "users:avg_amount"]}'
    status, headers, body = post(app, body)
    assert status == 200 and headers[b"content-type"] == b"application/json"
    data = json_of(body)
    assert data["served_at"] == 1_700_000_000_000
    assert data["features"] == ["users:n_tx", "users:avg_amount"]
    first, unknown = data["results"]
    assert first == {"entity": "u1", "features": {
        "users:n_tx": {"value": 4, "valid_from": 1_699_999_000_000},
        "users:avg_amount": {"value": 12.5, "valid_from": 1_699_999_000_000},
    }}
    assert unknown["entity"] == {"user_id": "nobody"}  # unknown entities are absent, not errors
    assert all(v == {"value": None, "valid_from": None} for v in unknown["features"].values())


def test_unknown_features_are_400_with_the_known_ones(rows):
    app, _ = ready_app(rows)
    status, _, body = post(app, b'{"entities": ["u1"], "features": ["users:nope"]}')
    assert status == 400
    error = json_of(body)["error"]
    assert error["code"] == "unknown_feature"
    assert "no feature 'nope'" in error["message"]
    assert error["known"] == ["users:avg_amount", "users:max_amount", "users:n_tx"]


def test_too_many_entities_is_413(rows):
    app, _ = ready_app(rows)
    body = orjson.dumps({"entities": [f"u{i}" for i in range(51)], "features": ["users:n_tx"]})
    status, _, out = post(app, body)
    assert status == 413 and json_of(out)["error"]["code"] == "too_large"


def test_an_oversized_body_is_413_before_it_is_read(rows):
    app, _ = ready_app(rows, max_body_bytes=100)
    status, _, out = post(app, b"{}" * 100, headers=[(b"content-length", b"200")])
    assert status == 413 and "at most 100 bytes" in json_of(out)["error"]["message"]
    status, _, _ = post(app, b" " * 101)  # no content-length: counted while read
    assert status == 413


def test_wrong_paths_and_methods(rows):
    app, _ = ready_app(rows)
    status, _, body = asyncio.run(asgi_call(app, "GET", "/nope"))
    assert status == 404 and "/features" in json_of(body)["error"]["message"]
    status, _, body = asyncio.run(asgi_call(app, "GET", "/features"))
    assert status == 405 and json_of(body)["error"]["code"] == "method_not_allowed"


def test_health_is_up_before_ready_and_ready_follows_the_store(rows):
    app, store = make_app(rows)
    assert asyncio.run(asgi_call(app, "GET", "/healthz"))[0] == 200
    status, _, body = asyncio.run(asgi_call(app, "GET", "/readyz"))
    assert status == 503 and json_of(body)["ready"] is False
    assert post(app, b'{"entities": ["u1"], "features": ["users:n_tx"]}')[0] == 503
    asyncio.run(started(app))
    status, _, body = asyncio.run(asgi_call(app, "GET", "/readyz"))
    assert status == 200 and json_of(body) == {"ready": True, "views": ["merchants", "users"]}
    store.client.down = True
    status, _, body = asyncio.run(asgi_call(app, "GET", "/readyz"))
    assert status == 503 and "down for the test" in json_of(body)["reason"]
    status, _, body = post(app, b'{"entities": ["u1"], "features": ["users:n_tx"]}')
    assert status == 503 and json_of(body)["error"]["code"] == "store_unavailable"


def test_shutdown_closes_the_store(rows):
    app, store = ready_app(rows)
    asyncio.run(app.shutdown())
    assert store.closed and app.store is None


def test_requests_are_counted_by_endpoint_and_status(rows):
    metrics = ServingMetrics()
    app, _ = ready_app(rows, metrics=metrics)
    post(app, b'{"entities": ["u1"], "features": ["users:n_tx"]}')
    post(app, b"{oops")
    asyncio.run(asgi_call(app, "GET", "/healthz"))
    status, headers, body = asyncio.run(asgi_call(app, "GET", "/metrics"))
    assert status == 200 and headers[b"content-type"].startswith(b"text/plain")
    text = body.decode()
    assert 'skewless_requests_total{endpoint="/features",status="200"} 1.0' in text
    assert 'skewless_requests_total{endpoint="/features",status="400"} 1.0' in text
    assert 'skewless_request_errors_total{code="malformed_json",endpoint="/features"} 1.0' in text
    assert 'skewless_request_duration_seconds_count{endpoint="/healthz"} 1.0' in text


# -- fuzz: whatever the body, the answer is 200 or a 4xx with a JSON error, never a 500 --

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
refs = st.sampled_from(["users:n_tx", "users:*", "merchants:n_tx", "users:nope", "nope:x", "users", ":", "a:b:c"])
entities = st.one_of(
    st.text(max_size=12),
    st.fixed_dictionaries({"user_id": st.text(max_size=8)}),
    st.fixed_dictionaries({"user_id": json_values, "merchant_id": json_values}),
    json_values,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({
        "entities": st.one_of(st.lists(entities, max_size=60), json_values),
        "features": st.one_of(st.lists(refs | json_values, max_size=5), json_values),
    }).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


@pytest.fixture
def served(rows):
    app, _ = ready_app(rows)
    return app


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_body_gets_a_500(served, body):
    status, _, out = post(served, body)
    assert status == 200 or 400 <= status < 500, (status, body, out)
    if status != 200:
        error = json_of(out)["error"]
        assert error["code"] and error["message"]
