"""Responses: values(), features and the JSON shape agree, for one view and across views."""

from connectors.cassandra.reader import LiveRow
from skewless.serving.refs import Resolver
from skewless.serving.result import FeatureValue, ViewRead, build_response
from tests.unit.skewless.serving.conftest import VIEWS


def respond(features, reads):
    resolved, columns = Resolver(VIEWS)(features)
    return build_response(1, resolved.refs, ["x"] * len(reads), reads, columns)


def test_one_view_values_features_and_json_agree():
    row = LiveRow({"avg_amount": 2.5, "n_tx": 3, "max_amount": 9.0}, 100, 105)
    response = respond(["users:n_tx", "users:avg_amount"], [{"users": ViewRead("u1", row)}, {"users": ViewRead("u2", None)}])
    live, absent = response
    assert list(live.values().items()) == [("users:n_tx", 3), ("users:avg_amount", 2.5)]  # column order kept
    assert absent.values() == {"users:n_tx": None, "users:avg_amount": None}
    assert live.features["users:n_tx"] == FeatureValue(3, 100)
    assert response.to_dict()["results"][1]["features"]["users:n_tx"] == {"value": None, "valid_from": None}
    single = respond(["users:n_tx"], [{"users": ViewRead("u1", row)}])
    assert single[0].values() == {"users:n_tx": 3}


def test_columns_across_views_keep_their_order():
    users = LiveRow({"avg_amount": 2.5, "n_tx": 3, "max_amount": 9.0}, 100, 105)
    response = respond(["merchants:n_tx", "users:n_tx"], [{"users": ViewRead("u1", users), "merchants": ViewRead("m1", None)}])
    assert list(response[0].values().items()) == [("merchants:n_tx", None), ("users:n_tx", 3)]
    assert response[0].features["merchants:n_tx"] == FeatureValue(None, None)
