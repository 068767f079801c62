"""The catalogue: the one way commands and the SDK look views up."""

import pytest
from click.testing import CliRunner

from skewless.cli import main
from skewless.registry.catalogue import NO_VIEWS, Catalogue
from skewless.registry.errors import RegistryError
from skewless.registry.store import default_url


def test_latest_versions_topics_and_specs(example_catalogue: Catalogue):
    assert list(example_catalogue.latest()) == ["merchant_activity", "user_transactions"]
    spec = example_catalogue.spec("user_transactions@1")
    assert spec == example_catalogue.spec("user_transactions")
    assert (spec.entity_key, spec.ttl_ms, spec.source_topic) == ("user_id", 30 * 86_400_000, "transactions")
    assert [s.name for s in example_catalogue.of_topic("transactions")] == ["merchant_activity", "user_transactions"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: c.spec("nope"), "no view 'nope' is registered; registered views: merchant_activity, user_transactions"),
    (lambda c: c.spec("user_transactions@2"), "view user_transactions has no version 2; registered versions: [1]"),
    (lambda c: c.spec("user_transactions@x"), "write NAME or NAME@VERSION"),
    (lambda c: c.of_topic("payments"), "no registered view reads topic 'payments'; registered views read: transactions"),
    (lambda c: c.features("user_transactions:nope"), "view user_transactions-v1 has no feature 'nope'; its features: avg_amount_30d"),
    (lambda c: c.features("user_transactions"), "must look like view:feature or view:*"),
    (lambda c: c.job(("user_transactions",), "transactions"), "give either --view"),
    (lambda c: c.job((), None), "give either --view"),
    (lambda c: c.only(None), "several views are registered (merchant_activity, user_transactions); choose one with --view"),
])
def test_wrong_refs_say_what_is_known(example_catalogue: Catalogue, call, message):
    with pytest.raises(RegistryError) as err:
        call(example_catalogue)
    assert message in str(err.value)


def test_feature_refs(example_catalogue: Catalogue):
    spec, names = example_catalogue.features("merchant_activity:*")
    assert spec.name == "merchant_activity" and names == tuple(spec.feature_names)
    assert example_catalogue.features("user_transactions@1:count_30d")[1] == ("count_30d",)


def test_a_job_is_the_views_of_one_topic_with_their_schemas(example_catalogue: Catalogue):
    by_topic = example_catalogue.job((), "transactions")
    by_views = example_catalogue.job(("user_transactions", "merchant_activity@1"), None)
    assert sorted(s.uid for s in by_views.specs) == [s.uid for s in by_topic.specs]
    assert by_topic.topic == "transactions" and len(by_topic.schema_texts) == 1


def test_an_empty_registry_is_one_line(tmp_path):
    catalogue = Catalogue(default_url(tmp_path))
    assert catalogue.names() == []
    for call in (catalogue.latest, lambda: catalogue.spec("user_transactions"), lambda: catalogue.job((), "transactions")):
        with pytest.raises(RegistryError, match=f"^{NO_VIEWS}$"):
            call()


@pytest.mark.parametrize("args", [["checkpoints", "--topic", "transactions"], ["run", "--view", "user_transactions"],
                                  ["stop", "--topic", "transactions"]])
def test_job_commands_resolve_views_through_the_catalogue(tmp_path, monkeypatch, args):
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.output) == (1, f"error: {NO_VIEWS}\n")


def test_checkpoints_name_the_same_lineage_by_topic_or_by_views(example_catalogue):
    by_topic = CliRunner().invoke(main, ["checkpoints", "--topic", "transactions"])
    by_views = CliRunner().invoke(main, ["checkpoints", "--view", "user_transactions", "--view", "merchant_activity"])
    assert by_topic.exit_code == by_views.exit_code == 0
    assert by_topic.output == by_views.output == (
        "transactions--merchant_activity-v1+user_transactions-v1: no checkpoint or savepoint yet\n")
