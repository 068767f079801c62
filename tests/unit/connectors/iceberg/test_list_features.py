"""list<double> features (the `last_n` operation) in the history: Iceberg schema and
field ids, the Flink type mapping, and the point-in-time join carrying lists through."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyflink.common.typeinfo import Types
from pyflink.table import DataTypes

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.flink_sink import _data_type, update_row, update_row_type
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from skewless.training import join_history, point_in_time_join

VIEW = HistoryTable(
    "recent",
    keys=(Column("user_id", "string"),),
    features=(Column("last5", "list<double>"), Column("n", "long"), Column("last3", "list<double>")),
)


def _fields(schema) -> list[tuple]:
    out = []
    for f in schema.fields:
        t = f.field_type
        element = (t.element_id, str(t.element_type), t.element_required) if hasattr(t, "element_id") else None
        out.append((f.field_id, f.name, str(t), f.required, element))
    return out


EXPECTED = [
    (1, "user_id", "string", True, None),
    (2, "last5", "list<double>", False, (8, "double", False)),
    (3, "n", "long", False, None),
    (4, "last3", "list<double>", False, (9, "double", False)),
    (5, "valid_from", "timestamptz", True, None),
    (6, "written_at", "timestamptz", True, None),
    (7, "version", "long", True, None),
]


def test_schema_gives_lists_optional_double_elements_with_unique_ids() -> None:
    schema = VIEW.iceberg_schema()
    assert _fields(schema) == EXPECTED
    ids = [f.field_id for f in schema.fields] + [f.field_type.element_id for f in schema.fields
                                                  if hasattr(f.field_type, "element_id")]
    assert len(ids) == len(set(ids))


def test_views_without_lists_keep_their_field_ids() -> None:
    plain = HistoryTable("v", keys=(Column("k", "string"),), features=(Column("x", "double"),))
    assert [f.field_id for f in plain.iceberg_schema().fields] == [1, 2, 3, 4, 5]


def test_created_table_has_the_same_ids_and_round_trips(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    table = ensure_history_table(cfg, VIEW)
    assert _fields(table.schema()) == EXPECTED  # the catalog's fresh ids agree with ours
    assert HistoryTable.from_iceberg(table) == VIEW
    again = ensure_history_table(cfg, VIEW, load_pyiceberg_catalog(cfg))
    assert again.metadata_location == table.metadata_location
    as_double = HistoryTable("recent", keys=VIEW.keys, features=(Column("last5", "double"), *VIEW.features[1:]))
    with pytest.raises(IcebergError, match="now defines"):
        ensure_history_table(cfg, as_double)


def test_lists_of_required_elements_are_not_history_columns(tmp_path: Path) -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, ListType, NestedField

    cfg = CatalogConfig(state_dir=tmp_path)
    catalog = load_pyiceberg_catalog(cfg)
    catalog.create_namespace("skewless")
    fields = list(VIEW.iceberg_schema().fields)
    fields[1] = NestedField(2, "last5", ListType(8, DoubleType(), element_required=True), required=False)
    table = catalog.create_table(
        "skewless.recent_history", Schema(*fields),
        properties={"skewless.keys": "user_id", "skewless.view": "recent"},
    )
    with pytest.raises(IcebergError, match="column last5 has unsupported type"):
        HistoryTable.from_iceberg(table)
    with pytest.raises(IcebergError, match="now defines"):  # element nullability is part of the check
        ensure_history_table(cfg, VIEW, catalog)


def test_keys_cannot_be_lists() -> None:
    with pytest.raises(IcebergError, match="cannot be lists"):
        HistoryTable("v", keys=(Column("k", "list<double>"),), features=())


def test_flink_types_match_the_job_and_iceberg() -> None:
    # The job's aggregator emits Types.LIST(Types.DOUBLE()) (jobs/rows.py:flink_type).
    row_type = update_row_type(VIEW)
    assert row_type.get_field_names() == ["user_id", "last5", "n", "last3", "valid_from", "written_at", "version"]
    assert row_type.get_field_types()[1] == Types.LIST(Types.DOUBLE())
    array = _data_type("list<double>")
    assert repr(array) == repr(DataTypes.ARRAY(DataTypes.DOUBLE()))  # nullable elements, like the Iceberg column
    assert array._conversion_cls == "java.util.List"  # what the stream carries, not Object[]
    assert update_row(VIEW, user_id="u", last5=[], valid_from=1)["last5"] == []


# --- the point-in-time join -----------------------------------------------------------

def _history(list_type: pa.DataType) -> pa.Table:
    utc = pa.timestamp("us", "UTC")
    return pa.table({
        "user_id": pa.array(["a", "a", "a", "b", "c"], pa.large_string()),
        "last5": pa.array([[1.0], [], None, [2.0, 3.0], [4.0]], list_type),
        "valid_from": pa.array([10, 20, 30, 10, 10], pa.int64()).cast(utc),
        "written_at": pa.array([10, 20, 30, 10, 50], pa.int64()).cast(utc),
        "version": pa.array([1, 2, 3, 1, 1], pa.int64()),
    })


LABELS = pa.table({"user_id": pa.array(["a", "a", "a", "a", "b", "c", "z"], pa.large_string())})
TIMES = pa.array([5, 15, 25, 35, 100, 20, 1], pa.int64())


@pytest.mark.parametrize("list_type", [pa.list_(pa.float64()), pa.large_list(pa.float64())])
@pytest.mark.parametrize(
    ("as_of", "ttl_us", "expected"),
    [
        ("event_time", None, [None, [1.0], [], None, [2.0, 3.0], [4.0], None]),
        ("known_time", None, [None, [1.0], [], None, [2.0, 3.0], None, None]),
        ("event_time", 50, [None, [1.0], [], None, None, [4.0], None]),  # b's value expired
    ],
)
def test_join_carries_lists_through(list_type, as_of, ttl_us, expected) -> None:
    out = point_in_time_join(LABELS, TIMES, _history(list_type), ["user_id"], ["last5"], ttl_us, as_of)
    assert out.schema.field("last5").type == pa.list_(pa.float64())
    assert out.schema.field("last5").type.value_field.name == "item"
    assert out["last5"].to_pylist() == expected


def test_join_of_an_empty_history_gives_null_lists() -> None:
    out = point_in_time_join(LABELS, TIMES, _history(pa.large_list(pa.float64())).slice(0, 0),
                             ["user_id"], ["last5"], None, "known_time")
    assert out["last5"].type == pa.list_(pa.float64())
    assert out["last5"].to_pylist() == [None] * len(TIMES)


def test_historical_features_reads_lists_back_from_iceberg(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    table = ensure_history_table(cfg, VIEW)
    base_us = 1_700_000_000_000_000
    utc = pa.timestamp("us", "UTC")
    rows = pa.table({
        "user_id": ["a", "a", "b"],
        "last5": [[1.5, 2.5], [], None],
        "n": [2, 0, None],
        "last3": [None, [9.0], []],
        "valid_from": pa.array([base_us, base_us + 1000, base_us], pa.int64()).cast(utc),
        "written_at": pa.array([base_us, base_us + 1000, base_us], pa.int64()).cast(utc),
        "version": [1, 2, 1],
    }, schema=table.schema().as_arrow())
    table.append(rows)
    base_ms = base_us // 1000
    labels = pa.table({"user_id": ["a", "a", "b"], "timestamp": [base_ms, base_ms + 1, base_ms]})
    out = join_history(labels, "recent", cfg, None)
    assert out["last5"].to_pylist() == [[1.5, 2.5], [], None]
    assert out["last3"].to_pylist() == [None, [9.0], []]
    assert out["n"].to_pylist() == [2, 0, None]
