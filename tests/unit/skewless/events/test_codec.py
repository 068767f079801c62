"""The wire format of events: Avro single-object encoding as the specification defines it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skewless.events.codec import MARKER, DecodeError, EventCodec, single_object_header

SCHEMA = Path(__file__).resolve().parents[4] / "schemas" / "transactions.avsc"
# CRC-64-AVRO of the schema's parsing canonical form, as Avro's Java library computes it
# (org.apache.avro.SchemaNormalization.parsingFingerprint64): an independent oracle.
TRANSACTIONS_FINGERPRINT = 0x79B0ECDF0E18EB6A
EVENT = {
    "event_id": "e1",
    "user_id": "u1",
    "merchant_id": "m1",
    "amount": 12.5,
    "currency": "EUR",
    "event_time": 1_700_000_000_000,
}


@pytest.fixture
def codec() -> EventCodec:
    return EventCodec([SCHEMA], key_field="user_id", time_field="event_time")


def test_header_carries_the_fingerprint_little_endian_as_the_spec_says(codec):
    header = MARKER + TRANSACTIONS_FINGERPRINT.to_bytes(8, "little")
    assert single_object_header(json.loads(SCHEMA.read_text())) == header
    assert codec.encode(EVENT)[:10] == header


def test_round_trip(codec):
    assert codec.decode(codec.encode(EVENT)) == EVENT


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty record value"),
        (b"\x00\x01" + bytes(20), "not Avro single-object encoding: missing the C3 01 marker"),
        (MARKER + (1).to_bytes(8, "little") + b"\x00", "unknown writer schema fingerprint 0000000000000001"),
    ],
)
def test_bad_framing_is_a_decode_error_with_the_reason(codec, data, reason):
    with pytest.raises(DecodeError) as caught:
        codec.decode(data)
    assert caught.value.reason == reason


def test_trailing_bytes_and_absurd_times_are_refused(codec):
    with pytest.raises(DecodeError, match="1 trailing bytes after the Avro body"):
        codec.decode(codec.encode(EVENT) + b"\x00")
    with pytest.raises(DecodeError, match="absurd event time event_time=1700000000"):
        codec.decode(codec.encode(EVENT | {"event_time": 1_700_000_000}))


def test_an_older_record_is_read_as_the_newest_schema():
    newest = json.loads(SCHEMA.read_text())
    older = {**newest, "fields": [f for f in newest["fields"] if f["name"] != "currency"] + [{"name": "gone", "type": "int"}]}
    newest["fields"] = [{**f, "default": "XXX"} if f["name"] == "currency" else f for f in newest["fields"]]
    old_event = {k: v for k, v in EVENT.items() if k != "currency"} | {"gone": 1}
    written = EventCodec([older], key_field="user_id", time_field="event_time").encode(old_event)
    codec = EventCodec([older, newest], key_field="user_id", time_field="event_time")
    assert codec.decode(written) == EVENT | {"currency": "XXX"}
    assert codec.decode(codec.encode(EVENT)) == EVENT
