"""The CLI against an empty state folder: nothing runs, so no JVM is involved."""

import socket
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner

from skewless.devstack.cli import stack


@pytest.fixture
def empty_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    with ExitStack() as sockets:
        ports = []
        for _ in range(4):
            sock = sockets.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    for variable, port in zip(
        ["SKEWLESS_KAFKA_PORT", "SKEWLESS_KAFKA_CONTROLLER_PORT", "SKEWLESS_CASSANDRA_PORT", "SKEWLESS_CASSANDRA_STORAGE_PORT"],
        ports,
    ):
        monkeypatch.setenv(variable, str(port))
    return tmp_path


def test_status_of_a_stopped_stack_fails(empty_stack: Path) -> None:
    result = CliRunner().invoke(stack, ["status"])
    assert result.exit_code == 1
    rows = [line.split() for line in result.output.splitlines()[1:]]
    assert [row[:3] for row in rows] == [["kafka", "stopped", "-"], ["cassandra", "stopped", "-"]]
    assert [row[4] for row in rows] == ["no", "no"]


def test_down_of_a_stopped_stack_is_a_no_op(empty_stack: Path) -> None:
    result = CliRunner().invoke(stack, ["down", "--purge"])
    assert result.exit_code == 0
    assert "kafka: not running" in result.output
    assert "cassandra: not running" in result.output


def test_bad_settings_are_reported_not_raised(empty_stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", "not-a-port")
    result = CliRunner().invoke(stack, ["status"])
    assert result.exit_code == 1
    assert result.output == "Error: SKEWLESS_KAFKA_PORT: must be an integer 1-65535, got 'not-a-port'\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)



def test_optional_services_are_stopped_by_down_and_named_by_up(empty_stack: Path) -> None:
    down = CliRunner().invoke(stack, ["down"])
    assert "prometheus: not running" in down.output
    unknown = CliRunner().invoke(stack, ["up", "--with", "grafana"])
    assert unknown.exit_code == 2
    assert "Invalid value for '--with': 'grafana'" in unknown.output
