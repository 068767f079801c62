"""Lineage both ways: topic -> schema -> source -> view -> feature -> consumer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from skewless.registry import FeatureRef, Registry, RegistryError
from tests.unit.skewless.registry.conftest import MAX, SUM, Clock, WriteRepo, repo_writer, schema_with, view


def populate(registry: Registry, write_repo: WriteRepo) -> Registry:
    registry.apply(write_repo(view(1)))
    evolved = schema_with({"name": "channel", "type": "string", "default": "web"})
    registry.apply(write_repo(view(1), view(2, aggregations=(SUM, MAX)), schema=evolved))
    registry.register_consumer("model", "fraud-v3", FeatureRef.parse_list("spend@1:sum_amount_1d,count_7d"))
    registry.register_consumer("training-set", "q3", FeatureRef.parse_list("spend:max_amount_1d"))
    return registry


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Shared by the read-only tests of this module; tests that write build their own."""
    tmp = tmp_path_factory.mktemp("lineage")
    with Registry(f"sqlite:///{tmp / 'registry.db'}", clock=Clock()) as registry:
        yield populate(registry, repo_writer(tmp))


def test_downstream_of_a_topic_is_everything_its_schema_change_can_break(populated: Registry) -> None:
    tree = populated.lineage("topic:payments", "downstream")
    assert tree.impact() == {
        "schema": ["schema:payments@1", "schema:payments@2"],
        "source": ["source:payments"],
        "view": ["view:spend@1", "view:spend@2"],
        "feature": ["feature:spend.count_7d", "feature:spend.max_amount_1d", "feature:spend.sum_amount_1d"],
        "model": ["model:fraud-v3"],
        "training-set": ["training-set:q3"],
    }


def test_upstream_of_a_model_reaches_the_topic(populated: Registry) -> None:
    tree = populated.lineage("model:fraud-v3", "upstream")
    assert tree.impact() == {
        "topic": ["topic:payments"],
        "schema": ["schema:payments@1", "schema:payments@2"],
        "source": ["source:payments"],
        "entity": ["entity:user"],
        "view": ["view:spend@1", "view:spend@2"],  # sum_amount_1d is in both versions
        "feature": ["feature:spend.count_7d", "feature:spend.sum_amount_1d"],
    }


def test_a_view_version_answers_both_ways(populated: Registry) -> None:
    down = populated.lineage("view:spend@2", "downstream").impact()
    assert down == {
        "feature": ["feature:spend.max_amount_1d", "feature:spend.sum_amount_1d"],
        "model": ["model:fraud-v3"],
        "training-set": ["training-set:q3"],
    }
    assert populated.lineage("view:spend@2", "upstream").impact()["entity"] == ["entity:user"]


def test_the_tree_renders_indented_and_marks_repeats(populated: Registry) -> None:
    text = populated.lineage("feature:spend.sum_amount_1d", "upstream").render()
    lines = text.splitlines()
    assert lines[0] == "feature:spend.sum_amount_1d"
    assert "  view:spend@1" in lines and "  view:spend@2" in lines
    assert "      schema:payments@1" in lines
    assert any(line.endswith("(see above)") for line in lines)
    assert lines[-1].startswith("reaches: 1 topic, 2 schemas, 1 source, 1 entity, 2 views")


def test_the_tree_serializes_for_machines(populated: Registry) -> None:
    data = populated.lineage("source:payments").to_dict()
    assert data["node"] == "source:payments" and data["kind"] == "source"
    assert [c["node"] for c in data["children"]] == ["view:spend@1", "view:spend@2"]


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("payments", "node 'payments' must be typed, '<kind>:<name>'"),
        ("table:payments", "must be typed"),
        ("view:spend", "no view 'spend' in the registry; did you mean view:spend@1, view:spend@2?"),
        ("topic:payment", "no topic 'payment' in the registry; did you mean topic:payments?"),
        ("model:nope", "no model 'nope' in the registry; known: model:fraud-v3"),
    ],
)
def test_unknown_nodes_suggest_what_exists(populated: Registry, node: str, message: str) -> None:
    with pytest.raises(RegistryError) as err:
        populated.lineage(node)
    assert message in str(err.value)


def test_consumers_resolve_versions_and_reregistering_replaces(registry: Registry, write_repo: WriteRepo) -> None:
    populated = populate(registry, write_repo)
    (model, training) = sorted(populated.listing().consumers, key=lambda c: c.kind)
    assert model.features == ("spend@1:sum_amount_1d", "spend@1:count_7d")
    assert training.features == ("spend@2:max_amount_1d",)  # no version: the latest
    populated.register_consumer("model", "fraud-v3", FeatureRef.parse_list("spend@2:max_amount_1d"))
    assert "model:fraud-v3" not in populated.lineage("feature:spend.count_7d").impact().get("model", [])


@pytest.mark.parametrize(
    ("kind", "features", "message"),
    [
        ("model", "spend:count_7d", "view spend@2 has no feature 'count_7d'; it has: sum_amount_1d, max_amount_1d"),
        ("model", "spend@9:count_7d", "view spend has no version 9; registered versions: [1, 2]"),
        ("model", "nope:x", "no view 'nope' in the registry; known: spend"),
        ("robot", "spend:max_amount_1d", "consumer kind 'robot' is not one of model, training-set"),
    ],
)
def test_consumer_errors_say_what_exists(populated: Registry, kind: str, features: str, message: str) -> None:
    with pytest.raises(RegistryError) as err:
        populated.register_consumer(kind, "m", FeatureRef.parse_list(features))
    assert message in str(err.value)


def test_a_feature_dropped_in_v2_traces_back_to_v1_only(populated: Registry) -> None:
    assert populated.lineage("feature:spend.count_7d", "upstream").impact()["view"] == ["view:spend@1"]
