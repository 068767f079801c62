from pathlib import Path

import pytest
from pydantic import ValidationError

from skewless.errors import ConfigError
from skewless.stack.settings import StackSettings, load_settings, repo_root

ENV = (
    "SKEWLESS_HOME",
    "SKEWLESS_KAFKA_PORT",
    "SKEWLESS_KAFKA_CONTROLLER_PORT",
    "SKEWLESS_CASSANDRA_PORT",
    "SKEWLESS_CASSANDRA_STORAGE_PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_standard_ports_and_a_state_folder_in_the_repo() -> None:
    settings = load_settings()
    assert (settings.kafka_port, settings.kafka_controller_port) == (9092, 9093)
    assert (settings.cassandra_port, settings.cassandra_storage_port) == (9042, 7000)
    assert settings.home == repo_root() / ".skewless"
    assert (repo_root() / "jvm" / "kafka" / "pom.xml").is_file()


def test_environment_overrides_ports_and_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", "19092")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "19042")
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path / "state"))
    settings = load_settings()
    assert settings.kafka_port == 19092
    assert settings.cassandra_port == 19042
    assert settings.home == tmp_path / "state"
    assert settings.pids_dir == tmp_path / "state" / "stack" / "pids"
    assert settings.logs_dir == tmp_path / "state" / "stack" / "logs"
    assert settings.jars_dir == tmp_path / "state" / "jars"


def test_relative_home_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKEWLESS_HOME", "rel")
    assert load_settings().home == tmp_path.resolve() / "rel"


def test_two_services_on_one_port_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "9092")
    with pytest.raises(ConfigError, match="SKEWLESS_CASSANDRA_PORT and SKEWLESS_KAFKA_PORT are both 9092"):
        load_settings()


@pytest.mark.parametrize("value", ["0", "70000", "ninety"])
def test_invalid_port_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", value)
    with pytest.raises(ConfigError, match="kafka_port"):
        load_settings()


def test_settings_are_frozen_and_strict() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.kafka_port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        StackSettings(zookeeper_port=2181)  # type: ignore[call-arg]
