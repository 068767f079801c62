"""CatalogConfig validation, the Flink DDL it renders, and pyiceberg's view of the catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.iceberg.catalog import (
    CatalogConfig,
    ensure_namespace,
    flink_catalog_ddl,
    flink_catalog_options,
    load_pyiceberg_catalog,
    pyiceberg_properties,
)
from connectors.iceberg.errors import IcebergError


def test_sql_defaults_live_under_the_state_dir(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    assert cfg.sqlite_path == tmp_path / "iceberg" / "catalog.db"
    assert cfg.warehouse == (tmp_path / "iceberg" / "warehouse").as_uri()
    assert cfg.uri == f"sqlite:///{tmp_path}/iceberg/catalog.db"


def test_relative_state_dir_is_made_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CatalogConfig(state_dir="rel").sqlite_path == tmp_path / "rel" / "iceberg" / "catalog.db"


def test_sqlite_ddl_settings(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path, busy_timeout_ms=1234)
    options = flink_catalog_options(cfg)
    assert options["catalog-impl"] == "org.apache.iceberg.jdbc.JdbcCatalog"
    assert options["uri"] == f"jdbc:sqlite:{tmp_path}/iceberg/catalog.db"
    assert options["jdbc.schema-version"] == "V0"
    assert options["jdbc.busy_timeout"] == "1234"
    assert options["default-database"] == "skewless"
    assert options["warehouse"].startswith("file:///")
    ddl = flink_catalog_ddl(cfg)
    assert ddl.startswith("CREATE CATALOG `skewless` WITH (") and "'type' = 'iceberg'" in ddl
    assert pyiceberg_properties(cfg)["uri"].endswith("catalog.db?timeout=1.234")


def test_flink_catalog_name_must_be_the_iceberg_catalog_name(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path, name="features")
    assert flink_catalog_ddl(cfg, "features").startswith("CREATE CATALOG `features`")
    with pytest.raises(IcebergError, match="must be named 'features'"):
        flink_catalog_ddl(cfg, "other")


def test_postgres_ddl_and_pyiceberg_url_keep_the_password_out_of_the_uri() -> None:
    cfg = CatalogConfig(uri="postgresql://ice@db.local:5433/iceberg?sslmode=require",
                        warehouse="s3://bucket/wh", password="p'w")
    options = flink_catalog_options(cfg)
    assert options["uri"] == "jdbc:postgresql://db.local:5433/iceberg?sslmode=require"
    assert options["jdbc.user"] == "ice" and options["jdbc.password"] == "p'w"
    assert "jdbc.busy_timeout" not in options
    assert "'jdbc.password' = 'p''w'" in flink_catalog_ddl(cfg)  # quotes escaped
    assert pyiceberg_properties(cfg)["uri"] == "postgresql+psycopg2://ice:p%27w@db.local:5433/iceberg?sslmode=require"
    assert "p'w" not in repr(cfg) and "p'w" not in cfg.describe()


def test_rest_catalog() -> None:
    cfg = CatalogConfig(kind="rest", uri="https://rest.example/api", warehouse="prod", token="t0k")
    assert flink_catalog_options(cfg) | {} == {
        "type": "iceberg", "default-database": "skewless", "cache-enabled": "false",
        "catalog-type": "rest", "uri": "https://rest.example/api", "warehouse": "prod", "token": "t0k",
    }
    assert pyiceberg_properties(cfg) == {
        "type": "rest", "uri": "https://rest.example/api", "warehouse": "prod", "token": "t0k",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uri": "sqlite:///relative.db"}, "four slashes"),
        ({"uri": "postgresql://u:secret@h/db"}, "password setting"),
        ({"uri": "postgresql://h"}, "needs a host and a database"),
        ({"uri": "mysql://h/db"}, "use sqlite"),
        ({"warehouse": "/abs/dir"}, "must be a URI"),
        ({"warehouse": "file://host/dir"}, "file:///abs/dir"),
        ({"kind": "rest"}, "http\\(s\\) uri"),
        ({"namespace": "a.b"}, "plain identifier"),
        ({"bogus": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_say_what_to_fix(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CatalogConfig(state_dir=tmp_path, **kwargs)


def test_config_is_frozen(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        CatalogConfig(state_dir=tmp_path).namespace = "x"  # type: ignore[misc]


def test_pyiceberg_catalog_uses_wal_and_lays_tables_out_like_java(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    catalog = load_pyiceberg_catalog(cfg)
    ensure_namespace(catalog, cfg)
    ensure_namespace(catalog, cfg)  # idempotent
    with sqlite3.connect(cfg.sqlite_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        props = dict(con.execute("SELECT property_key, property_value FROM iceberg_namespace_properties"))
        columns = [r[1] for r in con.execute("PRAGMA table_info(iceberg_tables)")]
    # JdbcCatalog's default table location is <warehouse>/<namespace>/<table>.
    assert props == {"exists": "true", "location": f"{cfg.warehouse}/skewless"}
    assert "iceberg_type" not in columns  # the V0 schema both sides share


def test_unreachable_catalog_is_an_iceberg_error(tmp_path: Path) -> None:
    (tmp_path / "iceberg").mkdir()
    (tmp_path / "iceberg" / "catalog.db").mkdir()  # a directory where the file should be
    with pytest.raises(IcebergError, match="cannot open the sql catalog"):
        load_pyiceberg_catalog(CatalogConfig(state_dir=tmp_path))


def test_from_settings_places_the_catalog_where_the_variables_say(tmp_path: Path, monkeypatch) -> None:
    from skewless.settings import load_settings

    db, warehouse = tmp_path / "elsewhere" / "catalog.db", (tmp_path / "wh").as_uri()
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKEWLESS_ICEBERG_URI", f"sqlite:///{db}")
    monkeypatch.setenv("SKEWLESS_ICEBERG_WAREHOUSE", warehouse)
    monkeypatch.setenv("SKEWLESS_ICEBERG_NAMESPACE", "team_a")
    cfg = CatalogConfig.from_settings(load_settings())
    assert (cfg.uri, cfg.warehouse, cfg.namespace) == (f"sqlite:///{db}", warehouse, "team_a")


def test_from_settings_names_the_variables_to_fix(tmp_path: Path, monkeypatch) -> None:
    from skewless.errors import ConfigError
    from skewless.settings import load_settings

    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    monkeypatch.setenv("SKEWLESS_ICEBERG_URI", "mysql://nowhere/db")
    with pytest.raises(ConfigError, match="SKEWLESS_ICEBERG_"):
        CatalogConfig.from_settings(load_settings())


def test_the_job_writes_to_the_catalog_the_readers_read(tmp_path: Path, monkeypatch) -> None:
    """The job's entry point derives its catalog from the same settings as training and verify."""
    import json

    import jobs.pipeline as pipeline
    from tests.conftest import register_example_repo

    home = tmp_path / "home"
    monkeypatch.setenv("SKEWLESS_HOME", str(home))
    monkeypatch.setenv("SKEWLESS_ICEBERG_URI", f"sqlite:///{tmp_path / 'shared.db'}")
    spec = tmp_path / "view.json"
    spec.write_text(json.dumps(register_example_repo(home).spec("user_transactions").to_dict()))
    seen = {}
    monkeypatch.setattr(pipeline, "run", lambda specs, settings, catalog, *rest: seen.update(catalog=catalog))
    assert pipeline.main(["--spec", str(spec), "--schema", str(spec), "--bounded"]) == 0
    assert seen["catalog"].uri == f"sqlite:///{tmp_path / 'shared.db'}"
