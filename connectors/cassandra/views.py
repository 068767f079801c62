"""How a feature view maps onto its Cassandra table (names and column types).

The update rows the job emits (`jobs.rows.update_type`) are
`(entity_key, *features, valid_from, written_at, version)`; the table has exactly these
columns, in this order, so each row field binds to the column of the same position.
"""

from __future__ import annotations

from skewless.spec import ViewSpec

# valid_from / written_at: epoch ms stored as CQL timestamps; version: the write's USING TIMESTAMP.
META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("valid_from", "timestamp"),
    ("written_at", "timestamp"),
    ("version", "bigint"),
)


def view_table(spec: ViewSpec) -> str:
    """One table per view version: a new version may change columns and must not mix with the old."""
    return f"{spec.name}_v{spec.version}"


def view_columns(spec: ViewSpec) -> list[tuple[str, str]]:
    """(name, CQL type) in update-row order; the entity key comes first."""
    return [(spec.entity_key, "text"), *((f.name, f.cql_type) for f in spec.features), *META_COLUMNS]
