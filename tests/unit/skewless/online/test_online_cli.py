import pytest
from click.testing import CliRunner

from features import VIEWS
from skewless.errors import ConfigError
from skewless.online.cli import _reader_config, online
from skewless.online.settings import load_online_settings

SPEC = VIEWS["user_transactions"]


def test_defaults_come_from_the_view_and_the_environment(monkeypatch):
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "9555")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_KEYSPACE", "feat")
    config = _reader_config(load_online_settings(), None, (), None)
    assert config.contact_points == "127.0.0.1:9555"
    assert (config.keyspace, config.table, config.key_column) == ("feat", "user_transactions_v1", "user_id")
    assert config.feature_columns == tuple(SPEC.feature_names) and config.ttl_ms == SPEC.ttl_ms


def test_options_override_the_environment_and_the_view(monkeypatch):
    monkeypatch.setenv("SKEWLESS_CASSANDRA_HOST", "10.0.0.9")
    settings = load_online_settings(cassandra_port=9042, online_table="other")
    config = _reader_config(settings, "id", ("a", "b"), 0)
    assert (config.contact_points, config.table, config.key_column) == ("10.0.0.9:9042", "other", "id")
    assert (config.feature_columns, config.ttl_ms) == (("a", "b"), 0)


def test_bad_settings_and_unknown_views_are_config_errors(monkeypatch):
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="cassandra_port"):
        load_online_settings()
    monkeypatch.delenv("SKEWLESS_CASSANDRA_PORT")
    with pytest.raises(ConfigError, match="unknown view 'nope'"):
        _reader_config(load_online_settings(online_view="nope"), None, (), None)


def test_the_command_reports_errors_without_a_traceback():
    result = CliRunner().invoke(online, ["get", "u1", "--view", "nope"])
    assert result.exit_code == 1
    assert "unknown view 'nope'" in result.output and "Traceback" not in result.output
