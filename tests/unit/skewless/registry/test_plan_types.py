"""`skewless plan` / `apply` refuse type errors in a view's row logic and aggregation inputs, which
would otherwise dead-letter every event at run time."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from skewless.cli import main
from skewless.registry import Registry
from tests.unit.skewless.registry.conftest import WriteRepo, view

DISTINCT_CURRENCIES = 'Aggregation("currency", "count_distinct", windows=[Window("1d", hop="1h")])'
DISTINCT_QTY = 'Aggregation("qty", "count_distinct", windows=[Window("1d", hop="1h")])'


def test_plan_refuses_an_aggregation_over_a_string_column(tmp_path: Path, write_repo: WriteRepo) -> None:
    repo = str(write_repo(view(aggregations=(DISTINCT_CURRENCIES,))))
    env = {"SKEWLESS_HOME": str(tmp_path / "home"), "SKEWLESS_REGISTRY_URL": ""}
    for command in ("plan", "apply"):
        result = CliRunner().invoke(main, [command, "--repo", repo], env=env, catch_exceptions=False)
        assert result.exit_code == 1
        assert "refused  view spend@1" in result.output
        assert "aggregation count_distinct(currency) of view spend needs a numeric column; currency is a string" in result.output


def test_plan_accepts_count_distinct_over_a_number(registry: Registry, write_repo: WriteRepo) -> None:
    plan = registry.plan(write_repo(view(aggregations=(DISTINCT_QTY,))))
    assert not plan.refused


def test_plan_refuses_a_filter_that_is_not_a_boolean(registry: Registry, write_repo: WriteRepo) -> None:
    plan = registry.plan(write_repo(filter="qty * 2"))
    assert plan.refused
    text = "\n".join(line for item in plan.items for line in item.details)
    assert 'filter "qty * 2" must be a boolean, but it is always a long' in text


def test_plan_points_method_calls_at_the_function(registry: Registry, write_repo: WriteRepo) -> None:
    plan = registry.plan(write_repo(filter="currency.startswith('E')"))
    text = "\n".join(line for item in plan.items for line in item.details)
    assert "attribute access is not part of the language; use startswith(currency, ...)" in text
