"""The one Settings: its sections, their SKEWLESS_<SECTION>_<FIELD> variables and its errors."""

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from skewless.errors import ConfigError
from skewless.settings import REPO_ROOT, Settings, environment_names, load_settings, writable_home


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SKEWLESS_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_local_stack() -> None:
    settings = load_settings()
    assert settings.home == REPO_ROOT / ".skewless"
    assert (settings.kafka.bootstrap, settings.kafka.port, settings.kafka.controller_port) == ("127.0.0.1:9092", 9092, 9093)
    assert (settings.cassandra.hosts, settings.cassandra.port, settings.cassandra.storage_port) == ("127.0.0.1:9042", 9042, 7000)
    assert (settings.cassandra.local_dc, settings.cassandra.keyspace, settings.iceberg.namespace) == ("datacenter1", "skewless", "skewless")
    assert (settings.job.checkpoint_interval_ms, settings.job.checkpoints_retained, settings.job.parallelism) == (10_000, 3, 1)
    assert settings.registry.url.get_secret_value() == "" and settings.cassandra.tls_ca_file is None


def test_each_field_has_one_variable_named_by_section_and_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "SKEWLESS_HOME": str(tmp_path),
        "SKEWLESS_CASSANDRA_LOCAL_DC": "dc2",
        "SKEWLESS_CASSANDRA_HOSTS": "10.0.0.1:9142,10.0.0.2:9142",
        "SKEWLESS_ICEBERG_NAMESPACE": "feat",
        "SKEWLESS_REGISTRY_URL": "sqlite:////tmp/r.db",
        "SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS": "2000",
        "SKEWLESS_JOB_SOURCE_IDLE_TIMEOUT_MS": "5",
        "SKEWLESS_CASSANDRA_PASSWORD": "hunter2",
        "SKEWLESS_CASSANDRA_TLS_CA_FILE": "/etc/ca.pem",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.home == tmp_path
    assert (settings.cassandra.local_dc, settings.cassandra.hosts) == ("dc2", "10.0.0.1:9142,10.0.0.2:9142")
    assert (settings.iceberg.namespace, settings.registry.url.get_secret_value()) == ("feat", "sqlite:////tmp/r.db")
    assert (settings.job.checkpoint_interval_ms, settings.job.source_idle_timeout_ms) == (2000, 5)
    assert settings.cassandra.tls_ca_file == Path("/etc/ca.pem")
    assert "hunter2" not in repr(settings)
    assert set(values) <= set(environment_names())


def test_addresses_follow_the_stack_ports_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", "19092")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "19042")
    settings = load_settings()
    assert (settings.kafka.bootstrap, settings.cassandra.hosts) == ("127.0.0.1:19092", "127.0.0.1:19042")
    monkeypatch.setenv("SKEWLESS_KAFKA_BOOTSTRAP", "broker:9092")
    assert load_settings().kafka.bootstrap == "broker:9092"


def test_overrides_merge_with_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_CASSANDRA_HOSTS", "10.0.0.1:9042")
    settings = load_settings(cassandra={"keyspace": "demo"}, job={"checkpoint_interval_ms": 2_000}, home=None)
    assert (settings.cassandra.hosts, settings.cassandra.keyspace) == ("10.0.0.1:9042", "demo")
    assert settings.job.checkpoint_interval_ms == 2_000 and settings.job.parallelism == 1


def test_relative_home_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKEWLESS_HOME", "rel")
    assert load_settings().home == tmp_path.resolve() / "rel"


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_a_bad_port_is_named_by_its_variable_once(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"SKEWLESS_KAFKA_PORT: must be an integer 1-65535, got {value!r}"


def test_several_bad_values_make_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_JOB_PARALLELISM", "0")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_KEYSPACE", "a-b")
    monkeypatch.setenv("SKEWLESS_KAFKA_BOOTSTRAP", "nohost")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).split("; ") == [
        "SKEWLESS_KAFKA_BOOTSTRAP: must be host:port[,host:port...], got 'nohost'",
        "SKEWLESS_CASSANDRA_KEYSPACE: must be a letters/digits/underscore identifier, got 'a-b'",
        "SKEWLESS_JOB_PARALLELISM: must be greater than or equal to 1, got '0'",
    ]


def test_a_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PASSWORD", "hunter2")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)


def test_two_services_on_one_port_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "9092")
    with pytest.raises(ConfigError, match="^SKEWLESS_CASSANDRA_PORT and SKEWLESS_KAFKA_PORT are both 9092; give each"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("SKEWLESS_KAFKA_PROT", "SKEWLESS_KAFKA_PORT"),  # inside a section
        ("SKEWLESS_HOMEE", "SKEWLESS_HOME"),
        ("SKEWLESS_CHECKPOINT_INTERVAL_MS", "SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS"),  # the name before sections
        ("SKEWLESS_PARALLELISM", "SKEWLESS_JOB_PARALLELISM"),
        ("SKEWLESS_CASANDRA_HOSTS", "SKEWLESS_CASSANDRA_HOSTS"),
    ],
)
def test_a_misspelt_variable_names_the_setting_it_resembles(monkeypatch: pytest.MonkeyPatch, name: str, meant: str) -> None:
    monkeypatch.setenv(name, "1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"{name} is not a setting; did you mean {meant}?"


def test_other_skewless_variables_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_UPDATE_GOLDEN", "1")  # the golden-file tests' switch
    monkeypatch.setenv("SKEWLESS_STATE_DIR", "/tmp")
    monkeypatch.setenv("SKEWLESS_ICEBERG_URI", "sqlite:////tmp/c.db")
    assert load_settings().iceberg.uri == "sqlite:////tmp/c.db"


def test_to_environ_round_trips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, kafka={"port": 19092}, registry={"url": "sqlite:////x.db"})
    for name, value in settings.to_environ().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings
    assert settings.to_environ()["SKEWLESS_REGISTRY_URL"] == "sqlite:////x.db"


def test_settings_are_frozen_and_strict() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.kafka.port = 1  # type: ignore[misc]
    with pytest.raises(ConfigError, match="SKEWLESS_KAFKA_ZOOKEEPER_PORT is not a setting"):
        load_settings(kafka={"zookeeper_port": 2181})


def test_writable_home_creates_the_folder(tmp_path: Path) -> None:
    home = writable_home(Settings(home=tmp_path / "a" / "b"))
    assert home == tmp_path / "a" / "b" and home.is_dir()


def test_an_uncreatable_home_says_which_variable_to_fix(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as caught:
        writable_home(Settings(home=tmp_path / "file" / "home"))
    assert str(caught.value) == (
        f"SKEWLESS_HOME={tmp_path / 'file' / 'home'}: cannot create it (Not a directory); "
        "point SKEWLESS_HOME at a folder you can write"
    )
