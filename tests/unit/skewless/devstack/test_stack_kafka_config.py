import base64
from pathlib import Path

import pytest

from skewless.devstack.kafka import CLUSTER_ID, Kafka, render_server_properties
from skewless.settings import Settings


def parse(properties: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in properties.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture
def props(tmp_path: Path) -> dict[str, str]:
    return parse(render_server_properties(port=19092, controller_port=19093, data_dir=tmp_path / "data"))


def test_single_node_kraft_with_broker_and_controller(props: dict[str, str], tmp_path: Path) -> None:
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "data")


def test_listens_on_loopback_only(props: dict[str, str]) -> None:
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"


def test_internal_topics_fit_one_broker_so_transactions_work(props: dict[str, str]) -> None:
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    # Flink's exactly-once sink asks for a one-hour transaction timeout by default.
    assert int(props["transaction.max.timeout.ms"]) >= 3_600_000


def test_dev_choices(props: dict[str, str]) -> None:
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_cluster_id_is_a_valid_kafka_uuid() -> None:
    assert len(CLUSTER_ID) == 22
    assert len(base64.urlsafe_b64decode(CLUSTER_ID + "==")) == 16


def test_service_layout_follows_settings(tmp_path: Path) -> None:
    kafka = Kafka(Settings(home=tmp_path, kafka={"port": 19092, "controller_port": 19093}))
    assert dict(kafka.ports) == {"SKEWLESS_KAFKA_PORT": 19092, "SKEWLESS_KAFKA_CONTROLLER_PORT": 19093}
    assert kafka.port == 19092
    assert kafka.bootstrap_servers == "127.0.0.1:19092"
    assert kafka.process.pid_file == tmp_path / "stack" / "pids" / "kafka.pid"
    assert kafka.process.log_file == tmp_path / "stack" / "logs" / "kafka.log"
    assert kafka.process.marker == f"{tmp_path / 'stack' / 'kafka'}/"
