import pydantic
import pytest

from connectors.cassandra.config import CassandraSinkConfig
from connectors.cassandra.reader import OnlineReaderConfig
from connectors.cassandra.session import parse_contact_points
from connectors.cassandra.views import view_columns, view_table
from skewless.settings import Settings

COLUMNS = ("user_id", "valid_from", "version", "score")


def sink_config(**overrides) -> CassandraSinkConfig:
    return CassandraSinkConfig(**({"keyspace": "ks", "table": "t", "columns": COLUMNS} | overrides))


def test_indexes_and_statement_follow_the_columns():
    config = sink_config()
    assert (config.valid_from_index, config.version_index) == (1, 2)
    assert config.statement.startswith('INSERT INTO "ks"."t" ("user_id", "valid_from", "version", "score")')


@pytest.mark.parametrize(("ttl_ms", "seconds"), [(0, 0), (-5, 0), (1, 1), (1000, 1), (1001, 2), (86_400_000, 86_400)])
def test_ttl_is_rounded_up_to_whole_seconds_for_cassandra(ttl_ms, seconds):
    assert sink_config(ttl_ms=ttl_ms).ttl_seconds == seconds


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"columns": ("user_id", "version")}, "valid_from_field 'valid_from' is not among columns"),
        ({"version_field": "valid_from"}, "must be different"),
        ({"columns": (*COLUMNS, "score")}, "repeat a name"),
        ({"contact_points": "127.0.0.1:port"}, "bad contact point"),
        ({"table": "Bad-Name"}, "lowercase snake case"),
        ({"max_in_flight": 0}, "greater than or equal to 1"),
        ({"ttl_ms": 10**15}, "less than or equal to"),
        ({"consistency": "MOST"}, "LOCAL_QUORUM"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_sink_config_fails_with_a_clear_message(overrides, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        sink_config(**overrides)


def test_sink_config_is_frozen():
    with pytest.raises(pydantic.ValidationError):
        sink_config().table = "other"  # type: ignore[misc]


def test_view_config_matches_the_rows_the_job_emits(example_catalogue):
    from pyflink.common import Types

    from jobs.rows import update_type

    SPEC = example_catalogue.spec("user_transactions")
    row_type = update_type(SPEC)
    columns = view_columns(SPEC)
    assert [name for name, _ in columns] == row_type.get_field_names()
    # LONGs are epoch ms (timestamp) or counts and versions (bigint).
    allowed = [(Types.STRING(), {"text"}), (Types.LONG(), {"timestamp", "bigint"}), (Types.DOUBLE(), {"double"})]
    for (name, cql_type), field_type in zip(columns, row_type.get_field_types()):
        assert any(field_type == t and cql_type in cql for t, cql in allowed), (name, field_type, cql_type)


def test_for_view_uses_settings_and_the_view(example_catalogue):
    SPEC = example_catalogue.spec("user_transactions")
    settings = Settings(cassandra={"hosts": "10.0.0.1:9142", "keyspace": "feat"})
    sink = CassandraSinkConfig.for_view(SPEC, settings)
    assert (sink.contact_points, sink.keyspace, sink.table) == ("10.0.0.1:9142", "feat", "user_transactions_v1")
    assert sink.ttl_ms == SPEC.ttl_ms
    reader = OnlineReaderConfig.for_view(SPEC, settings)
    assert reader.table == view_table(SPEC) and reader.feature_columns == tuple(SPEC.feature_names)
    assert reader.selected_columns[0] == "valid_from"


def test_contact_points_default_to_port_9042():
    assert parse_contact_points("a:1, b") == [("a", 1), ("b", 9042)]


def test_the_sink_checks_row_field_names_before_touching_the_jvm():
    from pyflink.common import Types

    from connectors.cassandra.errors import CassandraConfigError
    from connectors.cassandra.sink import cassandra_sink

    swapped = Types.ROW_NAMED(
        ["user_id", "version", "valid_from", "score"], [Types.STRING(), Types.LONG(), Types.LONG(), Types.DOUBLE()]
    )
    with pytest.raises(CassandraConfigError, match="differ from sink columns"):
        cassandra_sink(sink_config(), swapped)
    with pytest.raises(CassandraConfigError, match="ROW_NAMED"):
        cassandra_sink(sink_config(), Types.PICKLED_BYTE_ARRAY())
