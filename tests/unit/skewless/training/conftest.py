from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from tests.unit.skewless.training.pit_oracle import Update

USER_STATS = HistoryTable(
    "user_stats",
    keys=(Column("user_id", "string"),),
    features=(Column("avg_amount", "double"), Column("n_events", "long")),
)


def history_arrow(table, updates: list[Update], history: HistoryTable) -> pa.Table:
    """Updates as an Arrow table in the Iceberg table's own schema (times in us)."""
    schema = table.schema().as_arrow()
    columns: dict[str, list] = {k: [] for k in schema.names}
    for u in updates:
        keys = u.key if isinstance(u.key, tuple) else (u.key,)
        for name, value in zip(history.key_names, keys):
            columns[name].append(value)
        for name, value in zip(history.feature_names, u.features):
            columns[name].append(value)
        columns["valid_from"].append(u.valid_from * 1000)
        columns["written_at"].append(u.written_at * 1000)
        columns["version"].append(u.version)
    arrays = []
    for field in schema:
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(columns[field.name], pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(columns[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


STATS_SCHEMA = """{"type": "record", "name": "Event", "fields": [
  {"name": "user_id", "type": "string"}, {"name": "amount", "type": "double"},
  {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}"""
STATS_REPO = """from pathlib import Path

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

events = Source(name="events", topic="events", schema=Path(__file__).parent / "events.avsc", event_time="t")
user_stats = FeatureView(
    name="user_stats", version=1, entity=Entity("user", keys="user_id"), source=events, ttl="2h",
    aggregations=[
        Aggregation("amount", "avg", windows=[Window("1d", hop="1h")], name="avg_amount"),
        Aggregation(None, "count", windows=[Window("1d", hop="1h")], name="n_events"),
    ],
)
"""


@pytest.fixture
def catalog_cfg(tmp_path: Path) -> CatalogConfig:
    return CatalogConfig(state_dir=tmp_path / "state")


@pytest.fixture
def stats_view(tmp_path: Path, catalog_cfg: CatalogConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """SKEWLESS_HOME is catalog_cfg's state folder, whose registry holds view user_stats (TTL 2 h),
    the view USER_STATS is the history table of."""
    from skewless.registry.store import Registry, default_url

    repo = tmp_path / "stats_repo"
    repo.mkdir()
    (repo / "events.avsc").write_text(STATS_SCHEMA)
    (repo / "__init__.py").write_text(STATS_REPO)
    with Registry(default_url(catalog_cfg.state_dir)) as registry:
        assert not registry.apply(repo).refused
    monkeypatch.setenv("SKEWLESS_HOME", str(catalog_cfg.state_dir))
    monkeypatch.delenv("SKEWLESS_REGISTRY_URL", raising=False)


@pytest.fixture
def write_history(catalog_cfg: CatalogConfig) -> Callable[..., object]:
    """Create the view's history table in a fresh SQLite catalog and append updates,
    one Iceberg commit per batch (as Flink commits once per checkpoint)."""
    catalog = load_pyiceberg_catalog(catalog_cfg)

    def write(updates: list[Update], history: HistoryTable = USER_STATS, batches: int = 1):
        table = ensure_history_table(catalog_cfg, history, catalog)
        size = max(1, -(-len(updates) // batches))
        for start in range(0, len(updates), size):
            table.append(history_arrow(table, updates[start : start + size], history))
        return catalog.load_table(history.identifier(catalog_cfg.namespace))

    return write
