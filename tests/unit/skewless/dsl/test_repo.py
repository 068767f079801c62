"""load_repo: import every module of a folder, collect definitions, leave sys.modules as it was."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from skewless.dsl import load_repo
from skewless.errors import SpecError

HEADER = """
from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window
SCHEMA = {schema!r}
user = Entity("user", keys="user_id")
payments = Source("payments", topic="payments", schema=SCHEMA, event_time="ts")
"""

VIEW = """
{name} = FeatureView(name="{name}", version={version}, entity=user, source=payments, ttl="1d",
    aggregations=[Aggregation("amount", "{op}", windows=[Window("1d", hop="1h")])])
"""


def write(folder: Path, module: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(body))


@pytest.fixture
def repo(tmp_path: Path, schema_path: Path) -> Path:
    folder = tmp_path / "feature_repo_x"
    write(folder, "__init__", "")
    write(folder, "payments", HEADER.format(schema=str(schema_path)) + VIEW.format(name="spend", version=1, op="sum"))
    return folder


def test_collects_views_entities_and_sources(repo: Path, schema_path: Path) -> None:
    write(repo / "sub", "__init__", "")
    write(repo / "sub", "more", HEADER.format(schema=str(schema_path)) + VIEW.format(name="peak", version=2, op="max"))
    loaded = load_repo(repo)
    assert sorted(loaded.views) == [("peak", 2), ("spend", 1)]
    assert list(loaded.entities) == ["user"] and list(loaded.sources) == ["payments"]
    assert loaded.origin(loaded.views[("peak", 2)]) == "feature_repo_x.sub.more"


def test_plain_folders_without_init_load_too(tmp_path: Path, schema_path: Path) -> None:
    folder = tmp_path / "plain_repo"
    write(folder, "defs", HEADER.format(schema=str(schema_path)) + VIEW.format(name="spend", version=1, op="sum"))
    assert list(load_repo(folder).views) == [("spend", 1)]


def test_each_load_reads_the_files_afresh_and_restores_sys_modules(repo: Path, schema_path: Path) -> None:
    before = set(sys.modules)
    assert load_repo(repo).views[("spend", 1)].aggregations[0].op == "sum"
    write(repo, "payments", HEADER.format(schema=str(schema_path)) + VIEW.format(name="spend", version=1, op="max"))
    assert load_repo(repo).views[("spend", 1)].aggregations[0].op == "max"  # same size, same second: still fresh
    assert not {m for m in set(sys.modules) - before if m.startswith("feature_repo_x")}
    assert not list(repo.rglob("*.pyc"))


def test_loading_the_example_repo_keeps_the_imported_package(tmp_path: Path) -> None:
    import features

    from skewless.settings import REPO_ROOT

    load_repo(REPO_ROOT / "features")
    assert sys.modules["features"] is features


def test_equal_definitions_in_two_modules_are_one(repo: Path, schema_path: Path) -> None:
    write(repo, "again", HEADER.format(schema=str(schema_path)))
    assert list(load_repo(repo).sources) == ["payments"]


def test_conflicting_definitions_name_both_modules(repo: Path, schema_path: Path) -> None:
    write(repo, "other", HEADER.format(schema=str(schema_path)) + VIEW.format(name="spend", version=1, op="max"))
    with pytest.raises(SpecError) as err:
        load_repo(repo)
    message = str(err.value)
    assert "two different feature views named spend version 1" in message
    assert "feature_repo_x.other" in message and "feature_repo_x.payments" in message and "bump its version" in message


def test_import_failures_name_the_module(repo: Path) -> None:
    write(repo, "broken", "x = 1 / 0\n")
    with pytest.raises(SpecError, match=r"importing feature_repo_x.broken failed: ZeroDivisionError"):
        load_repo(repo)


def test_definition_errors_name_the_module(repo: Path) -> None:
    write(repo, "bad", "from skewless.dsl import Window\nw = Window('30d', hop='7d')\n")
    with pytest.raises(SpecError, match=r"feature_repo_x.bad: Window\('30d', hop='7d'\): the hop 7d must divide"):
        load_repo(repo)


def test_folder_problems_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is not a folder"):
        load_repo(tmp_path / "missing")
    (tmp_path / "my-features").mkdir()
    with pytest.raises(SpecError, match="must be a valid Python package name"):
        load_repo(tmp_path / "my-features")
    (tmp_path / "json").mkdir()
    with pytest.raises(SpecError, match="has the name of the module 'json'"):
        load_repo(tmp_path / "json")
