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
