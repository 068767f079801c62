from prometheus_client.parser import text_string_to_metric_families

from skewless.serving.metrics import CONTENT_TYPE, LATENCY_BUCKETS, ServingMetrics


def test_latency_buckets_are_fine_from_sub_ms_to_50_ms():
    assert LATENCY_BUCKETS[0] <= 0.0001
    sub_ms = [b for b in LATENCY_BUCKETS if b < 0.001]
    to_50 = [b for b in LATENCY_BUCKETS if 0.001 <= b <= 0.05]
    assert len(sub_ms) >= 3 and len(to_50) >= 10
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_exposition_parses_and_carries_each_series():
    metrics = ServingMetrics()
    metrics.observe_request("/features", 200, 0.0004)
    metrics.observe_request("/features", 400, 0.0002, "unknown_feature")
    metrics.observe_read(0.0007)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    latency = families["skewless_request_duration_seconds"]
    buckets = {s.labels["le"]: s.value for s in latency.samples if s.name.endswith("_bucket")}
    assert buckets["0.0001"] == 0 and buckets["0.0005"] == 2 and buckets["+Inf"] == 2
    requests = {(s.labels["endpoint"], s.labels["status"]): s.value
                for s in families["skewless_requests"].samples if s.name.endswith("_total")}
    assert requests == {("/features", "200"): 1.0, ("/features", "400"): 1.0}
    errors = [s for s in families["skewless_request_errors"].samples if s.name.endswith("_total")]
    assert [(s.labels["code"], s.value) for s in errors] == [("unknown_feature", 1.0)]
    reads = families["skewless_cassandra_read_duration_seconds"]
    assert [s.value for s in reads.samples if s.name.endswith("_count")] == [1.0]


def test_content_type_is_prometheus_text():
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_each_server_has_its_own_registry():
    a, b = ServingMetrics(), ServingMetrics()
    a.observe_request("/healthz", 200, 0.001)
    assert b"/healthz" not in b.render()
