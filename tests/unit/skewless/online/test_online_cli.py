import pytest
from click.testing import CliRunner

from skewless.cli import main
from skewless.errors import SkewlessError
from skewless.online.cli import reader_config
from skewless.settings import load_settings


def test_table_key_features_and_ttl_come_from_the_view_and_cassandra_from_the_settings(example_catalogue, monkeypatch):
    monkeypatch.setenv("SKEWLESS_CASSANDRA_PORT", "9555")
    monkeypatch.setenv("SKEWLESS_CASSANDRA_KEYSPACE", "feat")
    spec = example_catalogue.spec("user_transactions")
    config = reader_config(spec, load_settings(), ())
    assert config.contact_points == "127.0.0.1:9555"
    assert (config.keyspace, config.table, config.key_column) == ("feat", "user_transactions_v1", "user_id")
    assert config.feature_columns == tuple(spec.feature_names) and config.ttl_ms == spec.ttl_ms


def test_every_registered_view_can_be_read_not_only_user_transactions(example_catalogue):
    spec = example_catalogue.only("merchant_activity")
    config = reader_config(spec, load_settings(), ("large_payments_1d", "last_n5_amount_eur_lifetime"))
    assert (config.table, config.key_column, config.ttl_ms) == ("merchant_activity_v1", "merchant_id", spec.ttl_ms)
    assert config.feature_columns == ("large_payments_1d", "last_n5_amount_eur_lifetime")
    assert config.list_features == ("last_n5_amount_eur_lifetime",)


def test_an_unknown_feature_names_the_views_features(example_catalogue):
    with pytest.raises(SkewlessError, match="view user_transactions-v1 has no feature 'nope'; its features: avg_amount_30d"):
        reader_config(example_catalogue.spec("user_transactions"), load_settings(), ("nope",))


@pytest.mark.parametrize(("args", "message"), [
    (["u1"], "several views are registered (merchant_activity, user_transactions); choose one with --view"),
    (["u1", "--view", "nope"], "no view 'nope' is registered; registered views: merchant_activity, user_transactions"),
    (["u1", "--view", "user_transactions@7"], "view user_transactions has no version 7; registered versions: [1]"),
])
def test_wrong_views_are_one_line_errors_that_say_what_is_registered(example_catalogue, args, message):
    result = CliRunner().invoke(main, ["online", "get", *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_an_empty_registry_says_how_to_fill_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["online", "get", "u1"])
    assert (result.exit_code, result.output) == (1, "Error: no views are registered; run skewless apply --repo features/\n")


@pytest.mark.parametrize("option", [["--ttl-ms", "-5"], ["--ttl-ms", "0"], ["--table", "t"], ["--key-column", "k"]])
def test_what_the_view_defines_is_no_option(example_catalogue, option):
    result = CliRunner().invoke(main, ["online", "get", "u1", "--view", "user_transactions", *option])
    assert result.exit_code == 2 and "No such option" in result.output
