import pytest

from connectors.cassandra import cql
from connectors.cassandra.errors import CassandraConfigError, CassandraError
from connectors.cassandra.schema import render_create_keyspace, render_create_table


def test_upsert_binds_columns_then_timestamp_and_ttl():
    assert cql.render_upsert("ks", "user_v1", ["user_id", "valid_from", "version"]) == (
        'INSERT INTO "ks"."user_v1" ("user_id", "valid_from", "version") VALUES (?, ?, ?) '
        "USING TIMESTAMP ? AND TTL ?"
    )


def test_keywords_are_usable_as_column_names_because_names_are_quoted():
    assert '"ttl"' in cql.render_upsert("ks", "t", ["key", "ttl", "timestamp"])


def test_select_reads_one_partition_by_key():
    assert cql.render_select_by_key("ks", "t", "user_id", ["valid_from", "avg"]) == (
        'SELECT "valid_from", "avg" FROM "ks"."t" WHERE "user_id" = ?'
    )


@pytest.mark.parametrize("name", ["", "User", "1abc", "a-b", 'a"; DROP TABLE x; --', "a b", None])
def test_bad_identifiers_are_rejected_with_the_name(name):
    with pytest.raises(CassandraConfigError, match="lowercase snake case"):
        cql.identifier(name, "column")


def test_keyspace_names_are_limited_to_48_characters():
    cql.keyspace_name("k" * 48)
    with pytest.raises(CassandraConfigError, match="longer than 48"):
        cql.keyspace_name("k" * 49)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("double", "double"),
        ("BIGINT", "bigint"),
        ("list<float>", "list<float>"),
        ("map<text,  frozen<list<int>>>", "map<text, frozen<list<int>>>"),
        ("vector<float, 3>", "vector<float, 3>"),
    ],
)
def test_cql_types_are_validated_and_normalised(text, normalised):
    assert cql.cql_type(text) == normalised


@pytest.mark.parametrize(
    "text",
    ["", "string", "list<>", "list<float", "map<text>", "vector<float, 0>", "vector<float>", "double; DROP", "int)"],
)
def test_unsupported_cql_types_are_rejected(text):
    with pytest.raises(CassandraConfigError, match="unsupported CQL type"):
        cql.cql_type(text)


def test_keyspace_ddl_is_idempotent_simple_strategy():
    assert render_create_keyspace("ks", 3) == (
        "CREATE KEYSPACE IF NOT EXISTS \"ks\" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"
    )


@pytest.mark.parametrize("rf", [0, -1, True, 1.5])
def test_replication_factor_must_be_a_positive_integer(rf):
    with pytest.raises(CassandraConfigError, match="replication_factor"):
        render_create_keyspace("ks", rf)


def test_table_ddl_makes_the_entity_key_the_partition_key():
    columns = [("user_id", "text"), ("valid_from", "timestamp"), ("avg", "double")]
    ddl = render_create_table("ks", "t", columns, "user_id")
    assert ddl == (
        'CREATE TABLE IF NOT EXISTS "ks"."t" ("user_id" text, "valid_from" timestamp, "avg" double, '
        'PRIMARY KEY ("user_id"))'
    )


def test_table_ddl_rejects_a_missing_key_and_duplicate_columns():
    with pytest.raises(CassandraConfigError, match="key column 'id' is not among"):
        render_create_table("ks", "t", [("user_id", "text")], "id")
    with pytest.raises(CassandraConfigError, match="duplicate columns in table 't': a"):
        render_create_table("ks", "t", [("a", "text"), ("a", "int")], "a")


def test_errors_share_one_root():
    assert issubclass(CassandraConfigError, CassandraError)
