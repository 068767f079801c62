"""The compose file offers the same stack as `skewless stack up`: same versions, loopback only."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[3] / "docker" / "compose.yaml"
POMS = Path(__file__).resolve().parents[3] / "jvm"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_ports_bind_to_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_images_match_the_versions_the_local_stack_runs() -> None:
    kafka_pom = (POMS / "kafka" / "pom.xml").read_text()
    cassandra_pom = (POMS / "cassandra" / "pom.xml").read_text()
    kafka_tag = services()["kafka"]["image"].split(":")[1]
    cassandra_tag = services()["cassandra"]["image"].split(":")[1]
    assert f"<kafka.version>{kafka_tag}</kafka.version>" in kafka_pom
    assert f"<cassandra.version>{cassandra_tag}</cassandra.version>" in cassandra_pom


def test_every_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        assert "healthcheck" in service, name


FLINK = ("jobmanager", "taskmanager-1", "taskmanager-2")
PROM_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"


def flink_properties(service: dict) -> dict:
    return yaml.safe_load(service["environment"]["FLINK_PROPERTIES"])


def test_a_flink_cluster_of_one_jobmanager_and_two_taskmanagers() -> None:
    found = services()
    assert [found[name]["command"] for name in FLINK] == ["jobmanager", "taskmanager", "taskmanager"]
    for name in FLINK:
        assert found[name]["image"].endswith("flink:2.1-java17}"), f"{name}: the official image by default"
        properties = flink_properties(found[name])
        assert properties["jobmanager.rpc.address"] == "jobmanager", name
        assert properties["metrics.reporter.prom.factory.class"] == PROM_FACTORY, name
        assert properties["metrics.reporter.prom.port"] == 9249, name
    for name in FLINK[1:]:
        assert found[name]["depends_on"]["jobmanager"]["condition"] == "service_healthy"


def test_only_the_flink_ui_and_prometheus_are_published() -> None:
    found = services()
    assert found["jobmanager"]["ports"] == ["127.0.0.1:8081:8081"]
    assert found["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    for name in FLINK[1:]:
        assert "ports" not in found[name], f"{name}: Prometheus scrapes it inside the compose network"


def test_prometheus_reads_the_config_and_rules_beside_this_file() -> None:
    prometheus = services()["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    mounts = {v.split(":")[0]: v.split(":")[1] for v in prometheus["volumes"]}
    assert mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_jobs_in_containers_reach_kafka_by_its_service_name() -> None:
    kafka = services()["kafka"]["environment"]
    assert "INTERNAL://kafka:19092" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    for name in FLINK:
        assert services()[name]["environment"]["SKEWLESS_KAFKA_BOOTSTRAP"] == "kafka:19092"
