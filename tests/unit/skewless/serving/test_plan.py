import pytest

from skewless.serving.errors import RequestError, RequestTooLargeError
from skewless.serving.plan import plan_request
from tests.unit.skewless.serving.conftest import VIEWS


def test_plain_ids_key_every_view_and_reads_are_distinct():
    plan = plan_request(["u1", "u2", "u1"], ["users:n_tx"], VIEWS, 10)
    assert plan.keys == [{"users": "u1"}, {"users": "u2"}, {"users": "u1"}]
    assert plan.reads == [("users", "u1"), ("users", "u2")]
    assert plan.entities == ["u1", "u2", "u1"]


def test_dict_entities_name_each_views_key():
    plan = plan_request([{"user_id": "u1", "merchant_id": "m1", "extra": 1}], ["users:*", "merchants:*"], VIEWS, 10)
    assert plan.keys == [{"users": "u1", "merchants": "m1"}]
    assert plan.reads == [("users", "u1"), ("merchants", "m1")]


def test_a_dict_entity_missing_a_views_key_says_which():
    with pytest.raises(RequestError, match=r"entities\[0\] has no 'merchant_id', the key of view 'merchants'"):
        plan_request([{"user_id": "u1"}], ["merchants:n_tx"], VIEWS, 10)


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (12, "send it as a string: '12'"),
        (1.5, "entity ids are strings"),
        (True, "entity ids are strings"),
        (None, "entity ids are strings"),
        (["u1"], "entity ids are strings"),
        ("", "empty string"),
        ("x" * 1025, "limit is 1024"),
        ({"user_id": 3}, r"entities\[0\].user_id is int"),
    ],
)
def test_bad_entity_ids_are_request_errors(entity, message):
    with pytest.raises(RequestError, match=message):
        plan_request([entity], ["users:n_tx"], VIEWS, 10)


def test_too_many_entities_is_413_and_says_the_limit():
    with pytest.raises(RequestTooLargeError, match="11 entities in one request; the limit is 10") as info:
        plan_request([f"u{i}" for i in range(11)], ["users:n_tx"], VIEWS, 10)
    assert info.value.status == 413


@pytest.mark.parametrize("entities", [[], "u1", {"user_id": "u1"}, None])
def test_entities_must_be_a_non_empty_list(entities):
    with pytest.raises(RequestError, match="entities"):
        plan_request(entities, ["users:n_tx"], VIEWS, 10)
