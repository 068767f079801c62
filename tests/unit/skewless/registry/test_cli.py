"""The CLI: plan, apply, registry list/show, register-consumer, lineage, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skewless.cli import main
from skewless.settings import REPO_ROOT
from tests.unit.skewless.registry.conftest import MAX, SUM, COUNT, WriteRepo, view


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"SKEWLESS_HOME": str(tmp_path / "home"), "SKEWLESS_REGISTRY_URL": ""}

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_plan_then_apply_the_example_repo(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = str(REPO_ROOT / "features")
    planned = run("plan", "--repo", repo)
    assert planned.exit_code == 0, planned.output
    assert "create  view user_transactions@1" in planned.output
    applied = run("apply", "--repo", repo)
    assert applied.exit_code == 0 and applied.output.splitlines()[-1].endswith("; applied")
    assert (tmp_path / "home" / "registry.db").exists()
    again = json.loads(run("plan", "--repo", repo, "--json").output)
    assert {i["action"] for i in again["items"]} == {"unchanged"} and again["applied"] is False


def test_registry_list_and_show(run) -> None:  # type: ignore[no-untyped-def]
    run("apply", "--repo", str(REPO_ROOT / "features"))
    listing = run("registry", "list")
    assert listing.exit_code == 0
    assert "  user_transactions@1  entity=user  source=transactions  features=4  owner=risk-ml" in listing.output
    assert "  transactions  topic=transactions  schema versions=1" in listing.output
    data = json.loads(run("registry", "list", "--json").output)
    assert [v["name"] for v in data["views"]] == ["merchant_activity", "user_transactions"]
    shown = run("registry", "show", "user_transactions@1")
    assert json.loads(shown.output)["features"][0]["name"] == "avg_amount_30d"


def test_register_a_model_and_ask_lineage_both_ways(run) -> None:  # type: ignore[no-untyped-def]
    run("apply", "--repo", str(REPO_ROOT / "features"))
    registered = run("register-consumer", "--kind", "model", "--name", "fraud-v3",
                     "--features", "user_transactions:avg_amount_30d,count_30d")
    assert registered.exit_code == 0
    assert registered.output.strip() == (
        "registered model:fraud-v3 reading user_transactions@1:avg_amount_30d, user_transactions@1:count_30d"
    )
    down = run("lineage", "topic:transactions", "--downstream")
    assert down.exit_code == 0
    assert "        feature:user_transactions.avg_amount_30d\n          model:fraud-v3\n" in down.output
    up = json.loads(run("lineage", "model:fraud-v3", "--upstream", "--json").output)
    assert up["direction"] == "upstream"
    assert up["impact"]["topic"] == ["topic:transactions"]
    assert up["impact"]["view"] == ["view:user_transactions@1"]


def test_a_refused_plan_exits_non_zero_and_applies_nothing(run, write_repo: WriteRepo) -> None:  # type: ignore[no-untyped-def]
    run("apply", "--repo", str(write_repo()))
    repo = str(write_repo(view(aggregations=(SUM, COUNT, MAX))))
    for command in ("plan", "apply"):
        result = run(command, "--repo", repo)
        assert result.exit_code == 1
        assert "refused    view spend@1" in result.output
        assert "set version=2 to register the new computation alongside it" in result.output
    assert "features=2" in run("registry", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lineage", "view:nope@1"), "error: no view 'nope@1' in the registry"),
        (("lineage", "nope"), "error: node 'nope' must be typed"),
        (("register-consumer", "--kind", "model", "--name", "m", "--features", "x"), "error: feature 'x' needs its view"),
        (("registry", "show", "nope"), "error: no view 'nope' in the registry"),
        (("plan", "--repo", "/no/such/folder"), "error: feature repo /no/such/folder is not a folder"),
    ],
)
def test_errors_are_one_readable_line(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(message), result.stderr
    assert "Traceback" not in result.output


def test_the_registry_url_setting_is_used(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    env = {"SKEWLESS_HOME": str(tmp_path / "home"), "SKEWLESS_REGISTRY_URL": url}
    result = CliRunner().invoke(main, ["apply", "--repo", str(REPO_ROOT / "features")], env=env)
    assert result.exit_code == 0
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "home" / "registry.db").exists()
