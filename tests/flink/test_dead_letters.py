"""io.skewless.flink.DeadLetters: a letter never outgrows what Kafka accepts, and one letter
names every view that refused its record.

Called straight through the gateway (no job): the stages build every letter with these calls.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from jobs.sources import DEAD_LETTER_MAX_REQUEST_BYTES

BIG = 1_048_400  # a record the broker takes (message.max.bytes 1048588), too big to send back with headers
# Kafka's per-record overhead, headers included, is well under this (batch header 61 bytes,
# record header at most 21, two varints per header).
OVERHEAD = 4_096


@pytest.fixture(scope="module")
def jvm(jar: str) -> Any:
    from pyflink.java_gateway import get_gateway

    from skewless.devstack import flink_home

    flink_home.apply_to_environ()
    return get_gateway().jvm


def letter_of(jvm: Any, value: bytes, reason: str) -> tuple[bytes, dict[str, bytes]]:
    row = jvm.io.skewless.flink.DeadLetters.of(value, reason, "decode", "events", 2, 77, None)
    headers = row.getField(1)
    return bytes(row.getField(0)), {k: bytes(headers.get(k)) for k in headers.keySet()}


def size(value: bytes, headers: dict[str, bytes]) -> int:
    return len(value) + sum(len(k.encode()) + len(v) for k, v in headers.items())


def test_an_oversize_value_is_truncated_to_fit_with_its_size_and_digest(jvm: Any) -> None:
    limit = jvm.io.skewless.flink.DeadLetters.MAX_BYTES
    assert limit + OVERHEAD <= DEAD_LETTER_MAX_REQUEST_BYTES <= 1_048_588
    original = bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256)
    value, headers = letter_of(jvm, original, "not Avro single-object encoding: missing the C3 01 marker")
    assert size(value, headers) <= limit
    assert size(value, headers) >= limit - 8  # cut only as much as needed
    assert original.startswith(value)
    assert headers["skewless.truncated"] == b"true"
    assert headers["skewless.original-size"] == str(BIG).encode()
    assert headers["skewless.sha256"] == hashlib.sha256(original).hexdigest().encode()
    assert headers["skewless.reason-code"] == b"not_avro"
    assert headers["skewless.source.offset"] == b"77"


def test_a_value_that_fits_is_kept_whole_without_truncation_headers(jvm: Any) -> None:
    value, headers = letter_of(jvm, b"\x00" * 900_000, "empty record value")
    assert value == b"\x00" * 900_000
    assert not {"skewless.truncated", "skewless.original-size", "skewless.sha256"} & set(headers)


def test_a_reason_quoting_data_is_capped_at_a_character_boundary(jvm: Any) -> None:
    cap = jvm.io.skewless.flink.DeadLetters.MAX_TEXT_BYTES
    reason = "field 'note' is '" + "é€\U0001f600" * 300_000 + "', which its LONG column (newest schema) cannot carry"
    value, headers = letter_of(jvm, b"y" * BIG, reason)
    text = headers["skewless.reason"].decode()  # still valid UTF-8
    assert len(headers["skewless.reason"]) <= cap
    assert text.startswith("field 'note' is '") and text.endswith(f"... [cut, {len(reason.encode())} bytes]")
    assert headers["skewless.reason-code"] == b"bad_field"
    assert size(value, headers) <= jvm.io.skewless.flink.DeadLetters.MAX_BYTES


def test_one_letter_names_every_refusing_view_with_its_reason_and_code(jvm: Any) -> None:
    DeadLetters = jvm.io.skewless.flink.DeadLetters
    Rejection = getattr(jvm.io.skewless.flink, "DeadLetters$Rejection")
    rejections = jvm.java.util.ArrayList()
    rejections.add(Rejection("a@1", "row_logic", 'derived column "r" "x / y": division by zero'))
    rejections.add(Rejection("b@2", "late", "late event: event_time 5 is 10 ms behind the watermark"))
    row = DeadLetters.of(b"raw", "logic", rejections, "events", 0, 9)
    headers = {k: bytes(row.getField(1).get(k)).decode() for k in row.getField(1).keySet()}
    assert headers["skewless.views"] == "a@1,b@2"
    assert headers["skewless.reason-code"] == "row_logic,late"
    assert headers["skewless.reason"] == (
        'a@1: derived column "r" "x / y": division by zero; b@2: late event: event_time 5 is 10 ms behind the watermark'
    )
    assert headers["skewless.stage"] == "logic"


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("unknown writer schema fingerprint 00ff", "unknown_schema"),
        ("corrupt or truncated Avro body: EOF", "corrupt_avro"),
        ("3 trailing bytes after the Avro body", "trailing_bytes"),
        ("missing event time 'ts'", "missing_event_time"),
        ("absurd event time ts=12 (must be epoch ms in [2000, 2100))", "absurd_event_time"),
        ("event time ahead of the clock: ts=1 is 2 ms ahead of the clock; the bound is 1 ms", "future_event_time"),
        ("something new", "decode"),
    ],
)
def test_topic_stage_reason_codes(jvm: Any, reason: str, code: str) -> None:
    assert jvm.io.skewless.flink.DeadLetters.topicCode(reason, "decode") == code
