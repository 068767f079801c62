import pytest

from skewless.serving.errors import RequestError, RequestTooLargeError
from skewless.serving.request import parse_feature_request


def test_a_well_formed_body_parses():
    assert parse_feature_request(b'{"entities": ["u1"], "features": ["users:*"]}') == (["u1"], ["users:*"])


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"", "malformed_json", "body is empty"),
        (b"{not json", "malformed_json", "not valid JSON"),
        (b"\xff\xfe", "malformed_json", "not valid JSON"),
        (b"[1, 2]", "bad_request", "JSON list"),
        (b'"u1"', "bad_request", "JSON str"),
        (b'{"entities": ["u1"]}', "bad_request", r"missing fields \['features'\]"),
        (b'{"entities": ["u1"], "features": ["users:*"], "ttl": 3}', "bad_request", r"unknown fields \['ttl'\]"),
        (b'{"entities": "u1", "features": ["users:*"]}', "bad_entity", "entities is a str"),
        (b'{"entities": ["u1"], "features": "users:*"}', "bad_feature_ref", "features is a str"),
    ],
)
def test_malformed_bodies_say_what_to_fix(body, code, message):
    with pytest.raises(RequestError, match=message) as info:
        parse_feature_request(body)
    assert info.value.code == code
    assert info.value.status == 400


def test_too_many_feature_refs_is_413():
    body = b'{"entities": ["u1"], "features": [' + b",".join([b'"users:n_tx"'] * 501) + b"]}"
    with pytest.raises(RequestTooLargeError, match="501 feature refs; the limit is 500"):
        parse_feature_request(body)
