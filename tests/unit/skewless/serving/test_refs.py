import pytest

from skewless.serving.errors import RequestError, UnknownFeatureError
from skewless.serving.refs import FeatureRef, resolve
from tests.unit.skewless.serving.conftest import VIEWS


def test_a_ref_names_a_view_and_a_feature():
    assert FeatureRef.parse("users:n_tx") == FeatureRef("users", "n_tx")
    assert str(FeatureRef("users", "n_tx")) == "users:n_tx"


@pytest.mark.parametrize("text", ["users", "users:", ":n_tx", "a:b:c", "", 7, None, ["users:n_tx"]])
def test_malformed_refs_are_request_errors(text):
    with pytest.raises(RequestError, match="view:feature"):
        FeatureRef.parse(text)


def test_wildcards_expand_in_definition_order_and_repeats_are_dropped():
    resolved = resolve(["users:max_amount", "users:*", "merchants:n_tx", "users:n_tx"], VIEWS)
    assert [str(r) for r in resolved.refs] == [
        "users:max_amount", "users:avg_amount", "users:n_tx", "merchants:n_tx",
    ]
    assert resolved.by_view == {"users": ("max_amount", "avg_amount", "n_tx"), "merchants": ("n_tx",)}


def test_an_unknown_view_lists_the_known_views():
    with pytest.raises(UnknownFeatureError, match="unknown view 'user'.*known views: merchants, users") as info:
        resolve(["user:n_tx"], VIEWS)
    assert info.value.known == ["merchants", "users"]
    assert info.value.code == "unknown_feature"


def test_an_unknown_feature_lists_the_views_features():
    with pytest.raises(UnknownFeatureError, match="no feature 'count'.*avg_amount, n_tx, max_amount") as info:
        resolve(["users:count"], VIEWS)
    assert info.value.known == ["users:avg_amount", "users:max_amount", "users:n_tx"]


@pytest.mark.parametrize("features", [[], "users:*", {"users": "*"}, None])
def test_features_must_be_a_non_empty_list(features):
    with pytest.raises(RequestError):
        resolve(features, VIEWS)
