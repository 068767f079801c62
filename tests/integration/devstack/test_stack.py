"""`skewless stack up|down|status` against real Kafka and Cassandra JVMs.

This is the one test that starts services itself. It runs a second stack in its own
SKEWLESS_HOME on free ports, so the shared development stack (default home and ports)
keeps running, and it checks that `down` never touches that stack either.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cassandra.cluster import Cluster
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from skewless.devstack.process import is_alive, read_pid
from skewless.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PORT_VARIABLES = (
    "SKEWLESS_KAFKA_PORT",
    "SKEWLESS_KAFKA_CONTROLLER_PORT",
    "SKEWLESS_CASSANDRA_PORT",
    "SKEWLESS_CASSANDRA_STORAGE_PORT",
)


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def stack_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from skewless.devstack.cli import stack; stack()", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("stack-home")
    environment = {**os.environ, "SKEWLESS_HOME": str(home)}
    environment.update(zip(PORT_VARIABLES, map(str, free_ports(len(PORT_VARIABLES)))))
    yield environment
    stack_cli(environment, "down", "--purge")


def pids(env: dict[str, str]) -> dict[str, int | None]:
    pid_dir = Path(env["SKEWLESS_HOME"]) / "stack" / "pids"
    return {name: read_pid(pid_dir / f"{name}.pid") for name in ("kafka", "cassandra")}


def shared_stack_pids() -> list[int]:
    """Live pids of the default-home stack, which this test must leave alone."""
    pid_dir = REPO_ROOT / ".skewless" / "stack" / "pids"
    found = (read_pid(pid_dir / f"{name}.pid") for name in ("kafka", "cassandra"))
    return [pid for pid in found if pid is not None and is_alive(pid)]


def test_up_twice_then_status_reports_up(env: dict[str, str]) -> None:
    first = stack_cli(env, "up")
    assert first.returncode == 0, first.stderr
    assert "kafka: answering" in first.stderr
    assert "cassandra: answering" in first.stderr

    second = stack_cli(env, "up")
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("already running") == 2

    status = stack_cli(env, "status")
    assert status.returncode == 0, status.stdout
    lines = status.stdout.splitlines()
    kafka_pid, cassandra_pid = pids(env).values()
    assert any(line.split()[:5] == ["kafka", "running", str(kafka_pid), env["SKEWLESS_KAFKA_PORT"], "yes"] for line in lines)
    assert any(
        line.split()[:5] == ["cassandra", "running", str(cassandra_pid), env["SKEWLESS_CASSANDRA_PORT"], "yes"]
        for line in lines
    )


def test_kafka_commits_transactions(env: dict[str, str]) -> None:
    bootstrap = f"127.0.0.1:{env['SKEWLESS_KAFKA_PORT']}"
    topic = f"stack-tx-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-producer")
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(topic, b"committed")
        producer.commit_transaction()
        producer.begin_transaction()
        producer.send(topic, b"aborted")
        producer.abort_transaction()
        producer.close()
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-group",
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            consumer_timeout_ms=10_000,
        )
        assert [message.value for message in consumer] == [b"committed"]
        consumer.close()
    finally:
        admin.close()


def test_cassandra_serves_cql(env: dict[str, str]) -> None:
    cluster = Cluster(["127.0.0.1"], port=int(env["SKEWLESS_CASSANDRA_PORT"]))
    try:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version.startswith("5.0")
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS stack_test"
            " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute("CREATE TABLE IF NOT EXISTS stack_test.kv (k text PRIMARY KEY, v int)")
        session.execute("INSERT INTO stack_test.kv (k, v) VALUES ('a', 1)")
        assert session.execute("SELECT v FROM stack_test.kv WHERE k = 'a'").one().v == 1
    finally:
        cluster.shutdown()


def test_down_stops_only_its_own_processes(env: dict[str, str]) -> None:
    ours = pids(env)
    shared = shared_stack_pids()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        down = stack_cli(env, "down")
        assert down.returncode == 0, down.stderr
        assert all(pid is not None and not is_alive(pid) for pid in ours.values()), down.stderr
        assert pids(env) == {"kafka": None, "cassandra": None}
        assert bystander.poll() is None
        assert all(is_alive(pid) for pid in shared), "down stopped the shared stack"

        # A stale pid file naming a live process we did not start: removed, not signalled.
        pid_file = Path(env["SKEWLESS_HOME"]) / "stack" / "pids" / "kafka.pid"
        pid_file.write_text(f"{bystander.pid}\n")
        again = stack_cli(env, "down")
        assert again.returncode == 0, again.stderr
        assert "kafka: not running" in again.stderr
        assert bystander.poll() is None
        assert not pid_file.exists()

        assert stack_cli(env, "status").returncode == 1
    finally:
        bystander.kill()
        bystander.wait()


def test_up_again_keeps_the_data(env: dict[str, str]) -> None:
    up = stack_cli(env, "up")
    assert up.returncode == 0, up.stderr
    cluster = Cluster(["127.0.0.1"], port=int(env["SKEWLESS_CASSANDRA_PORT"]))
    try:
        assert cluster.connect().execute("SELECT v FROM stack_test.kv WHERE k = 'a'").one().v == 1
    finally:
        cluster.shutdown()


def test_up_refuses_a_port_held_by_another_process(env: dict[str, str]) -> None:
    assert stack_cli(env, "down").returncode == 0
    port = int(env["SKEWLESS_CASSANDRA_STORAGE_PORT"])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        up = stack_cli(env, "up")
    assert up.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in up.stderr
    assert "SKEWLESS_CASSANDRA_STORAGE_PORT" in up.stderr
    # Checked before anything was spawned: no half-started stack.
    assert pids(env) == {"kafka": None, "cassandra": None}
