"""The producer's records (skewless.events.codec, fastavro) through the JVM decode stage
(io.skewless.flink.EventSource's decoding, then DecodeRecordsFunction) in a PyFlink
mini-cluster job: the rows must be the records the producer wrote, resolved to the newest
schema, and each malformed kind must make one dead letter with its reason code.

The decoder's own cases (each refusal, corrupt bodies, resolution rules) are JUnit tests:
jvm/flink/src/test/java/io/skewless/flink/EventDecoderTest.java.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from pyflink.common import Row

from skewless.events.codec import EventCodec
from skewless.events.producer import MALFORMED_KINDS, SCHEMA, malformed_value, transaction_codec
from skewless.events.synthetic import StreamShape, transactions

TRANSACTIONS = json.loads(SCHEMA.read_text())
# An older writer: amount was a float, no currency yet, and a field since removed.
OLD = {
    **TRANSACTIONS,
    "fields": [
        *[f for f in TRANSACTIONS["fields"] if f["name"] not in ("currency", "amount")],
        {"name": "amount", "type": "float"},
        {"name": "legacy", "type": "string"},
    ],
}
# The newest: currency gets a default for the old records, and an optional field is added.
NEWEST = {
    **TRANSACTIONS,
    "fields": [
        *[{**f, "default": "XXX"} if f["name"] == "currency" else f for f in TRANSACTIONS["fields"]],
        {"name": "channel", "type": ["null", "string"], "default": None},
    ],
}
SCHEMAS = [OLD, TRANSACTIONS, NEWEST]
# What the decode stage makes of each malformed kind: a dead letter's code, or a row (a blank
# key is the views' to refuse, in the row-logic stage).
EXPECTED_CODES = {
    "garbage": "not_avro",
    "truncated": "corrupt_avro",
    "unknown_schema": "unknown_schema",
    "missing_key": None,
    "seconds_not_ms": "absurd_event_time",
}


def as_bytes(value: bytes | list[int]) -> bytes:
    """BYTES as collected from a job: PyFlink hands a JVM byte[] over as a list of signed ints."""
    return value if isinstance(value, bytes) else bytes(b & 0xFF for b in value)


def float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def cases() -> tuple[list[bytes], list[tuple[Any, ...] | str]]:
    """The records, and for each the decoded row's columns (newest schema order) or the code
    of its dead letter."""
    codec = transaction_codec()
    old = EventCodec([OLD], key_field="user_id", time_field="event_time")
    produced = list(transactions(StreamShape(events=120, users=9, days=2)))
    values: list[bytes] = []
    expected: list[tuple[Any, ...] | str] = []
    for i, record in enumerate(produced):
        unicode = {**record, "merchant_id": f"café-☕-{i}", "user_id": f"usér-\U0001f600-{i % 3}"}
        for r in (record, unicode):
            values.append(codec.encode(r))
            expected.append((*(r[f["name"]] for f in TRANSACTIONS["fields"]), None))
        values.append(old.encode({**record, "legacy": "gone"}))
        expected.append((record["event_id"], record["user_id"], record["merchant_id"], float32(record["amount"]), "XXX",
                         record["event_time"], None))
    for kind in MALFORMED_KINDS:
        bad = malformed_value(kind, codec, produced[0])
        values.append(bad)
        code = EXPECTED_CODES[kind]
        blank_key = {**produced[0], "user_id": ""}  # what malformed_value("missing_key") wrote
        expected.append(code if code else (*(blank_key[f["name"]] for f in TRANSACTIONS["fields"]), None))
    assert list(EXPECTED_CODES) == list(MALFORMED_KINDS)  # a new kind needs its expectation here
    return values, expected


def test_the_producers_records_decode_in_the_jvm_to_what_it_wrote(jar: str) -> None:
    from pyflink.common import Configuration, Types
    from pyflink.datastream import DataStream, StreamExecutionEnvironment
    from jobs.operators import JvmJob, job_document
    from jobs.rows import record_fields
    from skewless.errors import SpecError
    from skewless.devstack import flink_home

    flink_home.apply_to_environ()  # our jar and Avro on the gateway's classpath, before it starts
    texts = [json.dumps(s) for s in SCHEMAS]
    fields = record_fields(texts)
    assert [f.name for f in fields] == [f["name"] for f in NEWEST["fields"]]
    values, expected = cases()
    raw_type = Types.ROW_NAMED(
        ["value", "topic", "partition", "offset"],
        [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.STRING(), Types.INT(), Types.LONG()],
    )
    raw_rows = [Row(v, "transactions", 0, offset) for offset, v in enumerate(values)]
    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)

    job = JvmJob(job_document(texts, topic="transactions", time_field="event_time"))

    def decoded() -> DataStream:
        return job.decode(job.decode_rows(env.from_collection(raw_rows, type_info=raw_type), 2**62))

    n = len(fields)
    rows = [(tuple(r[:n]), as_bytes(r[n]), r[n + 3]) for r in decoded().execute_and_collect()]
    want_rows = [(want, values[offset], offset) for offset, want in enumerate(expected) if isinstance(want, tuple)]
    assert len(rows) == len(want_rows)
    for got, want in zip(rows, want_rows):
        assert got == want, f"offset {want[2]}"

    letters = {}
    for letter in job.dead_letters(decoded()).execute_and_collect():
        headers = {k: as_bytes(v).decode() for k, v in letter[1].items()}
        assert headers["skewless.stage"] == "decode" and headers["skewless.source.topic"] == "transactions"
        letters[int(headers["skewless.source.offset"])] = (headers["skewless.reason-code"], as_bytes(letter[0]))
    want_letters = {offset: (code, values[offset]) for offset, code in enumerate(expected) if isinstance(code, str)}
    assert letters == want_letters

    no_default = [json.dumps(OLD), json.dumps(TRANSACTIONS)]  # the old records have no currency
    with pytest.raises(SpecError, match=r"writer schema #0 cannot be resolved to the newest schema: .* at currency: "):
        JvmJob(job_document(no_default, time_field="event_time"))
