"""plan / apply: create, unchanged, metadata updates in place, computation changes need a new version."""

from __future__ import annotations

import json

from skewless.dsl import load_repo
from skewless.registry import Action, Plan, Registry
from tests.unit.skewless.registry.conftest import COUNT, MAX, SUM, WriteRepo, schema_with, view


def actions(plan: Plan) -> dict[str, str]:
    return {f"{i.kind} {i.name}": str(i.action) for i in plan.items}


def details(plan: Plan, key: str) -> str:
    return "\n".join(next(i for i in plan.items if f"{i.kind} {i.name}" == key).details)


def test_a_new_repo_plans_creations_and_plan_writes_nothing(registry: Registry, write_repo: WriteRepo) -> None:
    repo = write_repo()
    first = registry.plan(repo)
    assert actions(first) == {
        "entity user": "create", "source payments": "create", "schema payments@1": "create", "view spend@1": "create",
    }
    assert registry.plan(repo) == first
    assert registry.listing().views == ()


def test_apply_registers_the_compiled_spec_then_nothing_changes(registry: Registry, write_repo: WriteRepo) -> None:
    repo = write_repo()
    applied = registry.apply(repo)
    assert applied.applied and not applied.refused
    assert set(actions(registry.plan(repo)).values()) == {"unchanged"}
    assert registry.view_spec("spend") == load_repo(repo).views[("spend", 1)].compile()
    assert [json.loads(t)["name"] for t in registry.schema_texts("payments")] == ["Payment"]
    (info,) = registry.listing().views
    assert info.features == ("sum_amount_1d", "count_7d") and info.created_at.tzinfo is not None


def test_a_computation_change_without_a_version_bump_is_refused(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    repo = write_repo(view(aggregations=(SUM, COUNT, MAX)), filter="amount > 0")
    plan = registry.apply(repo)
    assert not plan.applied
    assert actions(plan)["view spend@1"] == "refused"
    text = details(plan, "view spend@1")
    assert "features added: max_amount_1d" in text
    assert "filter: None -> 'amount > 0'" in text
    assert "version 1 is registered and its computation cannot change in place; set version=2" in text
    assert registry.view_spec("spend").feature_names == ["sum_amount_1d", "count_7d"]  # nothing written
    assert "nothing applied" in plan.render()


def test_changed_windows_and_removed_features_are_named(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    other_sum = 'Aggregation("amount", "sum", windows=[Window("1d", hop="2h")])'
    text = details(registry.plan(write_repo(view(aggregations=(other_sum,)))), "view spend@1")
    assert "features removed: count_7d" in text and "features changed: sum_amount_1d" in text


def test_metadata_changes_update_in_place(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    before = registry.listing().views[0]
    repo = write_repo(view(owner="fraud", description="new words", tags=("pii",)))
    plan = registry.apply(repo)
    assert plan.applied and actions(plan)["view spend@1"] == "update"
    assert details(plan, "view spend@1") == "description changed\nowner changed\ntags changed"
    after = registry.listing().views[0]
    assert (after.owner, after.tags, after.created_at) == ("fraud", ("pii",), before.created_at)
    assert after.updated_at > before.updated_at and after.content_hash != before.content_hash
    compiled = load_repo(repo).views[("spend", 1)].compile()
    assert registry.view_spec("spend").computation_hash() == compiled.computation_hash()


def test_a_changed_slo_or_drift_threshold_updates_in_place(registry: Registry, write_repo: WriteRepo) -> None:
    def watched(slo: str, psi: float) -> str:
        return view().replace("tags=[],", f"tags=[], freshness_slo={slo!r}, drift={{'psi': {psi}}},")

    registry.apply(write_repo(watched("p99 < 2s", 0.2)))
    before = registry.view_spec("spend")
    plan = registry.apply(write_repo(watched("p99.9 < 5s", 0.3)))
    assert plan.applied and actions(plan)["view spend@1"] == "update"  # no version bump demanded
    assert details(plan, "view spend@1") == "freshness_slo changed\ndrift changed"
    after = registry.view_spec("spend")
    assert (after.version, after.uid, after.computation_hash()) == (before.version, before.uid, before.computation_hash())
    assert after.freshness_slo == {"quantile": 0.999, "max_ms": 5000} and after.drift["psi"] == 0.3
    # Dropping them is a metadata change too.
    assert actions(registry.apply(write_repo()))["view spend@1"] == "update"


def test_a_new_version_registers_alongside_the_old(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    repo = write_repo(view(1), view(2, aggregations=(SUM, COUNT, MAX)))
    plan = registry.apply(repo)
    assert plan.applied
    assert actions(plan)["view spend@1"] == "unchanged" and actions(plan)["view spend@2"] == "new-version"
    assert registry.view_spec("spend").version == 2
    assert registry.view_spec("spend", 1).feature_names == ["sum_amount_1d", "count_7d"]
    assert [(v.name, v.version) for v in registry.listing().views] == [("spend", 1), ("spend", 2)]
    # Dropping v1 from the repo never deletes it from the registry.
    assert set(actions(registry.apply(write_repo(view(2, aggregations=(SUM, COUNT, MAX))))).values()) == {"unchanged"}
    assert registry.view_spec("spend", 1).version == 1


def test_an_invalid_definition_is_refused_with_the_compile_error(registry: Registry, write_repo: WriteRepo) -> None:
    bad = 'Aggregation("amout", "sum", windows=[Window("1d", hop="1h")])'
    plan = registry.apply(write_repo(view(aggregations=(bad,))))
    assert actions(plan)["view spend@1"] == "refused"
    expected = "sum column 'amout' is not a schema field or derived column (did you mean 'amount'?)"
    assert expected in details(plan, "view spend@1")
    assert registry.listing().entities == ()  # all or nothing: the valid entity was not written either


def test_entity_keys_and_source_topics_cannot_move_under_views(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    renamed = schema_with({"name": "account", "type": "string"})
    plan = registry.plan(write_repo(view(2), schema=renamed, keys="account"))
    assert actions(plan)["entity user"] == "refused"
    assert "keys changed from ['user_id'] to ['account'] while spend@1 use it" in details(plan, "entity user")
    plan = registry.plan(write_repo(view(2), topic="payments.v2"))
    assert actions(plan)["source payments"] == "refused"
    assert "topic changed from payments to payments.v2 while spend@1 read it" in details(plan, "source payments")


def test_row_logic_changes_update_the_source_and_refuse_the_view(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    plan = registry.plan(write_repo(filter="qty > 0"))
    assert actions(plan)["source payments"] == "update"
    assert "filter: None -> 'qty > 0'" in details(plan, "source payments")
    assert actions(plan)["view spend@1"] == "refused"
    plan = registry.apply(write_repo(view(2), filter="qty > 0"))
    assert plan.applied
    assert (registry.view_spec("spend", 1).filter, registry.view_spec("spend", 2).filter) == (None, "qty > 0")


def test_a_compatible_schema_change_registers_a_new_schema_version(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    evolved = schema_with({"name": "channel", "type": "string", "default": "web"}, change={"qty": "long"})
    plan = registry.apply(write_repo(schema=evolved))
    assert plan.applied
    assert actions(plan)["schema payments@2"] == "new-version" and actions(plan)["view spend@1"] == "unchanged"
    assert len(registry.schema_texts("payments")) == 2
    # Going back to a registered schema is not a new version.
    assert actions(registry.plan(write_repo()))["schema payments@1"] == "unchanged"


def test_an_incompatible_schema_change_is_refused_naming_the_field(registry: Registry, write_repo: WriteRepo) -> None:
    registry.apply(write_repo())
    broken = schema_with({"name": "channel", "type": "string"}, change={"amount": "string"})
    plan = registry.apply(write_repo(view(), schema=broken))
    assert not plan.applied and actions(plan)["schema payments@2"] == "refused"
    text = details(plan, "schema payments@2")
    assert "cannot read data written with version 1: channel: field added without a default" in text
    assert "amount: type changed from double to string, which Avro cannot promote" in text
    assert len(registry.schema_texts("payments")) == 1


def test_plan_renders_one_line_per_item_and_a_summary(registry: Registry, write_repo: WriteRepo) -> None:
    text = registry.plan(write_repo()).render()
    assert text.splitlines()[0] == "create  entity user"
    assert text.splitlines()[-1] == "plan: 4 create"
    assert Action.REFUSED.value == "refused"
