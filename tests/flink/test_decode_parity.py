"""The JVM decode stage (io.skewless.flink.DecodeRecordsFunction) against the Python one
(skewless.events.codec.EventCodec, then udfs.decode.decoded_columns), record by record.

Records: hypothesis-generated valid ones for the repo's schema and for an evolving
oldest-to-newest schema trio (type changes, [null, T] unions, nested, array, map, enum, fixed
and recursive fields that are not carried), corrupted copies of them (truncated, bytes
replaced, trailing bytes, wrong marker, unknown fingerprint, random bodies), random bytes, and
hand-made bodies for fastavro's leniencies (negative union and enum indexes, long varints,
negative block counts, non-0/1 booleans) and strictness (invalid UTF-8). One JVM (the
`DecodeReplay` harness) decodes them all; its rows must equal Python's, floats bit for bit, and
its dead letters must carry the same bytes and headers, the reason byte for byte except after
the corrupt-body prefix, where Python quotes fastavro's exception.

The last test runs the stage in a PyFlink mini-cluster job: main output and both ways of
taking the dead letters.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import subprocess
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import fastavro
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyflink.common import Row

from skewless.events.codec import (
    MAX_EVENT_TIME_MS,
    MIN_EVENT_TIME_MS,
    DecodeError,
    EventCodec,
    _strip_logical_types,
    single_object_header,
)
from skewless.stack.jars import repo_root
from udfs.dead_letters import dead_letter
from udfs.decode import Field, decoded_columns, record_fields

CORRUPT = "corrupt or truncated Avro body: "
NS = "io.skewless.test"
TS_MS = {"type": "long", "logicalType": "timestamp-millis"}

# The oldest schema of a topic: the event time may be anything, nothing else carried is new.
V0 = {
    "type": "record",
    "name": "Evt",
    "namespace": NS,
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "ts", "type": ["null", "string", "boolean", "long", "double"]},
        {"name": "amount", "type": "float"},
        {"name": "code", "type": "string"},
    ],
}
# Each field of V1 changes type in V2; older values that the newest column cannot carry are
# dead-lettered with their Python repr (floats, strings, bytes, lists, dicts).
V1 = {
    "type": "record",
    "name": "Evt",
    "namespace": NS,
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "user", "type": "string"},
        {"name": "ts", "type": TS_MS},
        {"name": "amount", "type": "float"},
        {"name": "count", "type": "int"},
        {"name": "score", "type": "long"},
        {"name": "flag", "type": ["null", "boolean"]},
        # Nullable, so that records fail at different fields (the first misfit names the reason).
        {"name": "code", "type": ["null", "string"]},
        {"name": "ratio", "type": ["null", "double"]},
        {"name": "level", "type": ["null", "long"]},
        {"name": "active", "type": ["null", "long"]},
        {"name": "kind", "type": ["null", {"type": "enum", "name": "Kind", "symbols": ["A", "B", "C"]}]},
        {"name": "blob", "type": ["null", "bytes"]},
        {"name": "tags", "type": ["null", {"type": "array", "items": "string"}]},
        {"name": "attrs", "type": ["null", {"type": "map", "values": "long"}]},
        {
            "name": "nested",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Inner",
                    "fields": [
                        {"name": "x", "type": "double"},
                        {"name": "y", "type": ["null", "string"]},
                        {"name": "z", "type": "float"},
                    ],
                },
            ],
        },
        {"name": "fx", "type": ["null", {"type": "fixed", "name": "Fx", "size": 3}]},
        {"name": "dropped", "type": "string"},
        {"name": "choice", "type": ["null", "long", "string"]},
        {"name": "f32", "type": "float"},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    ],
}
V2 = {
    "type": "record",
    "name": "Evt",
    "namespace": NS,
    "doc": "newest: what producers write now",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "user", "type": ["string", "null"]},
        {"name": "ts", "type": TS_MS},
        {"name": "amount", "type": "double"},
        {"name": "count", "type": "long"},
        {"name": "score", "type": "double"},
        {"name": "flag", "type": "boolean"},
        {"name": "code", "type": "long"},
        {"name": "ratio", "type": "long"},
        {"name": "level", "type": "string"},
        {"name": "active", "type": "boolean"},
        {"name": "kind", "type": "string"},
        {"name": "blob", "type": "string"},
        {"name": "tags", "type": ["null", "string"]},
        {"name": "attrs", "type": "long"},
        {"name": "nested", "type": "string"},
        {"name": "fx", "type": "string"},
        {"name": "choice", "type": ["null", "double"]},
        {"name": "f32", "type": "float"},
        {"name": "newonly", "type": ["null", "string"], "default": None},
        {"name": "vec", "type": {"type": "array", "items": "double"}},
        {
            "name": "chain",
            "type": {
                "type": "record",
                "name": "Link",
                "fields": [{"name": "v", "type": "long"}, {"name": "next", "type": ["null", "Link"]}],
            },
        },
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "m", "type": {"type": "map", "values": "string"}},
        {"name": "u3", "type": ["null", "string", "long"]},
        {"name": "nothing", "type": "null"},
        {"name": "nulls", "type": {"type": "array", "items": "null"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    ],
}
# Floats that a newer LONG column cannot carry: every reason quotes a float's repr.
FLOATS_OLD = {
    "type": "record",
    "name": "F",
    "fields": [
        {"name": "ts", "type": "long"},
        {"name": "x", "type": ["null", "double"]},
        {"name": "y", "type": "float"},
    ],
}
FLOATS_NEW = {
    "type": "record",
    "name": "F",
    "fields": [{"name": "ts", "type": "long"}, {"name": "x", "type": "long"}, {"name": "y", "type": "long"}],
}
# fastavro's leniencies, on a schema small enough to write bodies by hand.
QUIRKS = {
    "type": "record",
    "name": "Q",
    "fields": [
        {"name": "ts", "type": "long"},
        {"name": "u", "type": ["null", "long", "string"]},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "arr", "type": {"type": "array", "items": "long"}},
        {"name": "m", "type": {"type": "map", "values": "long"}},
        {"name": "nulls", "type": {"type": "array", "items": "null"}},
        {"name": "s", "type": "string"},
    ],
}


def _transactions() -> dict[str, Any]:
    return json.loads((repo_root() / "schemas" / "transactions.avsc").read_text())


def _harness_classpath(jar: str) -> str:
    from skewless.stack.flink_home import pyflink_home
    from skewless.stack.jars import classpath

    dist = sorted((pyflink_home() / "lib").glob("flink-dist-*.jar"))  # Row, ProcessFunction
    return ":".join([jar, classpath("flink"), *map(str, dist)])


# --- values -------------------------------------------------------------------------------------

# Strings that may be repr()-ed in a reason: characters whose printability Unicode 13 (Java 17)
# and 14 (Python 3.11) agree on, plus the escapes' corner cases.
SPECIAL = "'\"\\\t\n\r\x00\x1f\x7f\x80\x85\xa0\xad\u0378\u200b\u2028\u3000\ue000\uffff\U0001f600\U0010ffff"
SAFE_TEXT = st.text(st.characters(max_codepoint=0x7FF) | st.sampled_from(SPECIAL), max_size=6)
BLANKS = st.sampled_from(["", " ", "\t\n", "\u3000", "\x1c\x85", "\u200b", "x", " y "])
EVENT_TIMES = st.sampled_from(["valid"] * 8 + ["edge", "any"]).flatmap(
    lambda kind: {
        "valid": st.integers(MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS - 1),
        "edge": st.sampled_from([MIN_EVENT_TIME_MS - 1, MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS - 1, MAX_EVENT_TIME_MS, 0, -1]),
        "any": st.integers(-(2**63), 2**63 - 1),
    }[kind]
)
PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32),
    "double": st.floats(),
    "string": SAFE_TEXT,
    "bytes": st.binary(max_size=6),
}
# Fields whose values never reach a repr: any text at all.
FREE_TEXT = {"id", "user", "newonly"}


def values_of(avro: Any, named: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values fastavro writes for `avro` (logical types stripped)."""
    if isinstance(avro, str):
        if avro in PRIMITIVES:
            return PRIMITIVES[avro]
        target = named.get(avro) or named[f"{NS}.{avro}"]
        return values_of(target, named, depth + 1) if depth < 3 else st.nothing()
    if isinstance(avro, list):
        branches = [values_of(b, named, depth) for b in avro]
        return st.one_of([b for b in branches if not b.is_empty])
    kind = avro["type"]
    if isinstance(kind, (dict, list)) or kind in PRIMITIVES:
        return values_of(kind, named, depth)
    if kind == "enum":
        return st.sampled_from(avro["symbols"])
    if kind == "fixed":
        return st.binary(min_size=avro["size"], max_size=avro["size"])
    if kind == "array":
        return st.lists(values_of(avro["items"], named, depth), max_size=3)
    if kind == "map":
        return st.dictionaries(SAFE_TEXT, values_of(avro["values"], named, depth), max_size=3)
    named[avro["name"]] = avro
    fields = {}
    for f in avro["fields"]:
        fields[f["name"]] = values_of(f["type"], named, depth)
    return st.fixed_dictionaries(fields)


def records_of(schema: dict[str, Any], time_field: str) -> st.SearchStrategy[dict[str, Any]]:
    named: dict[str, Any] = {}
    fields = {}
    for f in schema["fields"]:
        if f["name"] == time_field and _strip_logical_types(f["type"]) in ("long", {"type": "long"}):
            fields[f["name"]] = EVENT_TIMES
        elif f["name"] == time_field:
            fields[f["name"]] = st.one_of(values_of(f["type"], named), EVENT_TIMES, BLANKS)
        elif f["name"] in FREE_TEXT and "string" in json.dumps(f["type"]):
            fields[f["name"]] = st.one_of(st.none(), st.text(max_size=8)) if isinstance(f["type"], list) else st.text(max_size=8)
        else:
            fields[f["name"]] = values_of(f["type"], named)
    return st.fixed_dictionaries(fields)


def encode(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(_strip_logical_types(schema)), record)
    return single_object_header(schema) + body.getvalue()


def valid_records(schemas: list[dict[str, Any]], time_field: str) -> st.SearchStrategy[bytes]:
    return st.one_of([records_of(s, time_field).map(lambda r, s=s: encode(s, r)) for s in schemas])


@st.composite
def corrupted(draw: Callable[..., Any], valid: st.SearchStrategy[bytes]) -> bytes:
    raw = draw(valid)
    how = draw(st.sampled_from(["truncate", "replace", "append", "marker", "fingerprint", "body"]))
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if how == "replace":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            if len(data) > 10:
                data[draw(st.integers(10, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "append":
        return raw + draw(st.binary(min_size=1, max_size=5))
    if how == "marker":
        return draw(st.binary(min_size=2, max_size=2).filter(lambda m: m != b"\xc3\x01")) + raw[2:]
    if how == "fingerprint":
        return raw[:2] + draw(st.binary(min_size=8, max_size=8)) + raw[10:]
    return raw[:10] + draw(st.binary(max_size=40))


def draw_many(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """n examples of `strategy`, the same ones every run."""
    seen: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(x: Any) -> None:
        seen.append(x)

    collect()
    return seen


# --- hand-made bodies ---------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Zig-zag varint of a signed 64-bit value."""
    z = ((n << 1) ^ (n >> 63)) & (2**64 - 1)
    out = bytearray()
    while True:
        if z < 0x80:
            return bytes(out + bytes([z]))
        out.append((z & 0x7F) | 0x80)
        z >>= 7


def text_bytes(data: bytes) -> bytes:
    return varint(len(data)) + data


def quirks(**parts: bytes) -> bytes:
    """A QUIRKS record with the given raw field encodings, valid defaults for the others."""
    default = {
        "ts": varint(1_700_000_000_000),
        "u": varint(1) + varint(5),
        "e": varint(1),
        "b": b"\x01",
        "i": varint(7),
        "arr": varint(1) + varint(3) + varint(0),
        "m": varint(0),
        "nulls": varint(0),
        "s": text_bytes(b"ok"),
    }
    body = b"".join(parts.get(name, default[name]) for name in default)
    return single_object_header(QUIRKS) + body + parts.get("tail", b"")


def hand_made() -> list[bytes]:
    ts = varint(1_700_000_000_000)
    cases = [
        quirks(),
        quirks(u=varint(-1) + text_bytes(b"last")),  # union index -1: the last branch
        quirks(u=varint(-3)),  # -3: the first (null)
        quirks(u=varint(-4)),
        quirks(u=varint(3) + varint(1)),
        quirks(u=varint(2**62)),
        quirks(e=varint(-1)),
        quirks(e=varint(-3)),
        quirks(e=varint(-4)),
        quirks(e=varint(3)),
        quirks(b=b"\x02"),
        quirks(b=b"\xff"),
        quirks(b=b"\x00"),
        quirks(i=varint(2**40)),  # an Avro int beyond 32 bits: fastavro does not check
        quirks(i=varint(-(2**63))),
        quirks(ts=ts[:-1] + bytes([ts[-1] | 0x80]) + b"\x80\x80\x80\x80\x80\x00"),  # padded varint: same value
        quirks(ts=b"\x80" * 9 + b"\x02"),  # bit 64 wraps away: 0
        quirks(ts=b"\xff" * 10 + b"\x01"),  # 11 bytes
        quirks(ts=b"\x80" * 20 + b"\x01"),  # shift 140 wraps to 12
        quirks(ts=b"\x80" * 9),  # unterminated
        quirks(arr=varint(-2) + varint(99) + varint(1) + varint(2) + varint(0)),  # negative count, bogus size
        quirks(arr=varint(-(2**63)) + varint(4) + varint(1) + varint(9) + varint(0)),  # MIN_VALUE count: no items
        quirks(arr=varint(2**62) + varint(1)),  # more items than bytes
        quirks(arr=varint(1) + varint(1)),  # no end of array
        quirks(m=varint(2) + text_bytes(b"k") + varint(1) + text_bytes(b"k") + varint(2) + varint(0)),
        quirks(m=varint(-1) + varint(3) + text_bytes(b"a") + varint(1) + varint(0)),
        quirks(m=varint(3) + text_bytes(b"a") + varint(1)),
        quirks(nulls=varint(50_000) + varint(0)),  # zero-byte items
        quirks(nulls=varint(-3) + varint(0) + varint(0)),
        quirks(s=text_bytes("\U0001f600 é".encode())),
        quirks(s=text_bytes(b"\xff")),
        quirks(s=text_bytes(b"\xc0\x80")),  # overlong
        quirks(s=text_bytes(b"\xed\xa0\x80")),  # surrogate
        quirks(s=text_bytes(b"\xf4\x90\x80\x80")),  # beyond U+10FFFF
        quirks(s=text_bytes(b"\xe2\x82")),  # cut sequence
        quirks(s=varint(-1) + b"abc"),
        quirks(s=varint(2**62) + b"abc"),
        quirks(s=varint(5) + b"ab"),
        quirks(tail=b"\x00"),
        quirks(tail=b"\x01\x02\x03"),
        quirks(ts=varint(MIN_EVENT_TIME_MS - 1)),
        quirks(ts=varint(MAX_EVENT_TIME_MS)),
        single_object_header(QUIRKS),  # no body
        single_object_header(QUIRKS)[:9],
        b"",
        b"\xc3",
        b"\xc3\x01",
        b"\xc3\x01" + bytes(8),
        b"\x00\x01" + quirks()[2:],
        b"\xc3\x02" + quirks()[2:],
    ]
    # V0's event time as every type it may hold, and non-finite floats at the top level.
    for ts_value in (None, "", " \u3000", "\x1c", "\u200b", "soon", True, False, 1.7e12, float("nan"), 1_700_000_000_000):
        cases.append(encode(V0, {"id": "a", "ts": ts_value, "amount": 1.5, "code": "x"}))
    for amount in (float("nan"), float("inf"), float("-inf"), 3.4028234663852886e38, 1e-45):
        cases.append(encode(V0, {"id": "a", "ts": 1_700_000_000_000, "amount": amount, "code": "x"}))
    return cases


# --- the two stages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PythonStage:
    """The decode stage's contract in Python: EventCodec (its key check pointed at the event
    time, as the JVM stage checks no key), then udfs.decode.decoded_columns."""

    codec: EventCodec
    fields: list[Field]

    def outcome(self, raw: bytes | None, topic: str, partition: int, offset: int) -> tuple[str, Row]:
        try:
            columns = decoded_columns(self.codec.decode(raw), self.fields)
        except DecodeError as exc:
            letter = dead_letter(raw or b"", exc.reason, "decode", topic, partition, offset)
            letter[1]["skewless.reason-code"] = REASON_CODES[family_of(exc.reason)].encode()
            return "dead", letter
        return "row", Row(*columns, raw, topic, partition, offset)


def python_stage(schemas: list[dict[str, Any]], time_field: str) -> tuple[PythonStage, list[Field]]:
    fields = list(record_fields([json.dumps(s) for s in schemas]))
    return PythonStage(EventCodec(schemas, key_field=time_field, time_field=time_field), fields), fields


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def row_cells(row: Row, fields: list[Field]) -> list[str]:
    """A Python row as the harness prints rows; DOUBLE columns hold floats in the JVM."""
    cells = []
    for f, v in zip(fields, row):
        if v is None:
            cells.append("~")
        elif f.type == "STRING":
            cells.append("s:" + b64(v.encode()))
        elif f.type == "BOOLEAN":
            cells.append(f"b:{str(v).lower()}")
        elif f.type == "LONG":
            cells.append(f"l:{v}")
        else:
            cells.append("d:" + format(struct.unpack("<Q", struct.pack("<d", float(v)))[0], "x"))
    value, topic, partition, offset = row[len(fields) :]
    return cells + ["y:" + b64(value), "s:" + b64(topic.encode()), f"i:{partition}", f"l:{offset}"]


def compare(java: str, python: tuple[str, Row], fields: list[Field]) -> str | None:
    """None when the JVM's outcome is Python's, else what differs."""
    kind, *cells = java.split(" ")
    if python[0] == "row":
        expected = row_cells(python[1], fields)
        if kind != "row":
            return f"python row, java dead letter: {java_headers(cells[1:]).get('skewless.reason')!r}"
        return None if cells == expected else f"rows differ:\n  java   {cells}\n  python {expected}"
    letter = python[1]
    want = {k: v.decode() for k, v in letter[1].items()}
    if kind != "dead":
        return f"python dead letter {want['skewless.reason']!r}, java row"
    got = java_headers(cells[1:])
    if cells[0] != "y:" + b64(letter[0]):
        return "dead-letter values differ"
    if want["skewless.reason"].startswith(CORRUPT):  # after the prefix, Python quotes fastavro
        if not got.get("skewless.reason", "").startswith(CORRUPT):
            return f"reasons differ: java {got.get('skewless.reason')!r}, python {want['skewless.reason']!r}"
        got["skewless.reason"] = want["skewless.reason"]
    return None if got == want else f"dead letters differ:\n  java   {got}\n  python {want}"


def java_headers(cells: list[str]) -> dict[str, str]:
    headers = {}
    for cell in cells:
        name, value = cell[2:].split(",", 1)
        headers[base64.b64decode(name).decode()] = base64.b64decode(value).decode()
    return headers


# The decode stage's reason families, with the skewless.reason-code each gets (io.skewless.flink.DeadLetters).
REASON_CODES = {
    "empty record value": "empty_value",
    "not Avro single-object": "not_avro",
    "unknown writer schema": "unknown_schema",
    CORRUPT: "corrupt_avro",
    "trailing bytes": "trailing_bytes",
    "missing entity key": "missing_key",
    "missing event time": "missing_event_time",
    "absurd event time": "absurd_event_time",
    "not a finite number": "bad_field",
    "cannot carry": "bad_field",
}


def family_of(reason: str) -> str:
    return next((family for family in REASON_CODES if family in reason), reason)


def reason_family(outcome: tuple[str, Row]) -> str:
    if outcome[0] == "row":
        return "row"
    return family_of(outcome[1][1]["skewless.reason"].decode())


def decoder_commands(schemas: list[dict[str, Any]], fields: list[Field], time_field: str) -> list[str]:
    lines = [f"decoder {b64(time_field.encode())} {len(schemas)} {len(fields)}"]
    lines += [b64(json.dumps(s).encode()) for s in schemas]
    lines += [f"{b64(f.name.encode())} {f.type}" for f in fields]
    return lines


def record_command(raw: bytes | None, topic: str, partition: int, offset: int) -> str:
    return f"record {'-' if raw is None else b64(raw)} {b64(topic.encode())} {partition} {offset}"


def run_harness(jar: str, lines: list[str]) -> list[str]:
    done = subprocess.run(
        ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", _harness_classpath(jar), "io.skewless.flink.DecodeReplay"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def case_sets() -> Iterator[tuple[str, list[dict[str, Any]], str, list[bytes | None]]]:
    """(name, writer schemas oldest first, time field, records)."""
    tx = _transactions()
    tx_valid = valid_records([tx], "event_time")
    yield "transactions", [tx], "event_time", [
        *draw_many(tx_valid, 250),
        *draw_many(corrupted(tx_valid), 250),
        *draw_many(st.binary(max_size=40), 100),
        None,
    ]
    evolved = [V0, V1, V2]
    evolved_valid = valid_records(evolved, "ts")
    yield "evolved", evolved, "ts", [
        *draw_many(records_of(V0, "ts").map(lambda r: encode(V0, r)), 200),
        *draw_many(records_of(V1, "ts").map(lambda r: encode(V1, r)), 600),
        *draw_many(records_of(V2, "ts").map(lambda r: encode(V2, r)), 400),
        *draw_many(corrupted(evolved_valid), 400),
        *draw_many(st.binary(min_size=10, max_size=60).map(lambda b: single_object_header(V2) + b[10:]), 150),
    ]
    yield "floats", [FLOATS_OLD, FLOATS_NEW], "ts", draw_many(records_of(FLOATS_OLD, "ts").map(lambda r: encode(FLOATS_OLD, r)), 300)
    yield "quirks", [QUIRKS], "ts", hand_made()


def test_java_decode_equals_python_decode(jar: str) -> None:
    lines: list[str] = []
    expected: list[tuple[str, tuple[str, Row], list[Field]]] = []
    for name, schemas, time_field, records in case_sets():
        stage, fields = python_stage(schemas, time_field)
        lines += decoder_commands(schemas, fields, time_field)
        expected.append(("decoder", ("ok", Row()), fields))
        for offset, raw in enumerate(records):
            lines.append(record_command(raw, name, offset % 3, offset))
            expected.append((f"{name} #{offset} {raw!r}", stage.outcome(raw, name, offset % 3, offset), fields))
    answers = run_harness(jar, lines)
    assert len(answers) == len(expected)
    mismatches = []
    families: Counter[str] = Counter()
    for answer, (where, outcome, fields) in zip(answers, expected):
        if where == "decoder":
            assert answer == "ok", base64.b64decode(answer.split(" ")[1]).decode()
            continue
        families[reason_family(outcome)] += 1
        problem = compare(answer, outcome, fields)
        if problem:
            mismatches.append(f"{where}: {problem}")
    assert not mismatches, f"{len(mismatches)} of {len(expected)} differ:\n" + "\n".join(mismatches[:15])
    # Every check of the stage was exercised, not just the easy ones.
    wanted = {"row", "empty record value", "not Avro single-object", "unknown writer schema", CORRUPT, "trailing bytes",
              "missing entity key", "missing event time", "absurd event time", "not a finite number", "cannot carry"}
    assert wanted <= set(families), f"not exercised: {wanted - set(families)}; seen {dict(families)}"
    assert families["row"] >= 300 and families["cannot carry"] >= 50, dict(families)


def test_factory_rejects_bad_input_by_name(jar: str) -> None:
    good = json.dumps(QUIRKS)
    bad = {
        "at least one writer schema": ([], [("ts", "LONG")], "ts"),
        "not a valid Avro schema": (["{"], [("ts", "LONG")], "ts"),
        "must be a record": (['"string"'], [("ts", "LONG")], "ts"),
        "type must be one of": ([good], [("ts", "INT")], "ts"),
        "names must be unique": ([good], [("ts", "LONG"), ("ts", "LONG")], "ts"),
        "timeField (the event-time field) is required": ([good], [("ts", "LONG")], ""),
        "is a field of no writer schema": ([good], [("ts", "LONG")], "when"),
    }
    lines = []
    for texts, fields, time_field in bad.values():
        lines.append(f"decoder {b64(time_field.encode())} {len(texts)} {len(fields)}")
        lines += [b64(t.encode()) for t in texts] + [f"{b64(n.encode())} {t}" for n, t in fields]
    answers = run_harness(jar, lines)
    for needle, answer in zip(bad, answers):
        assert answer.startswith("error "), (needle, answer)
        assert needle in base64.b64decode(answer.split(" ")[1]).decode(), needle


def as_bytes(value: bytes | list[int]) -> bytes:
    """BYTES as collected from a job: PyFlink hands a JVM byte[] over as a list of signed ints."""
    return value if isinstance(value, bytes) else bytes(b & 0xFF for b in value)


def letter_key(letter: Row) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """A dead letter, comparable: a corrupt body's reason cut after the common prefix."""
    headers = {k: as_bytes(v) for k, v in letter[1].items()}
    if headers["skewless.reason"].startswith(CORRUPT.encode()):
        headers["skewless.reason"] = CORRUPT.encode()
    return as_bytes(letter[0]), tuple(sorted(headers.items()))


def test_java_decode_in_a_pyflink_job(jar: str) -> None:
    from pyflink.common import Configuration, Types
    from pyflink.datastream import DataStream, StreamExecutionEnvironment
    from pyflink.java_gateway import get_gateway
    from pyflink.util.java_utils import to_jarray

    from skewless.errors import SpecError
    from skewless.stack import flink_home
    from udfs.dead_letters import DEAD_LETTER_TYPE
    from udfs.decode import dead_letters_of, decode_records, record_type

    flink_home.apply_to_environ()  # our jar and Avro on the gateway's classpath, before it starts
    schemas = [V0, V1, V2]
    texts = [json.dumps(s) for s in schemas]
    stage, fields = python_stage(schemas, "ts")
    records = [
        *draw_many(valid_records(schemas, "ts"), 40),
        *draw_many(corrupted(valid_records(schemas, "ts")), 20),
        None,
        b"",
    ]
    raw_rows = [Row(raw, "events", 1, offset) for offset, raw in enumerate(records)]
    raw_type = Types.ROW_NAMED(
        ["value", "topic", "partition", "offset"],
        [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.STRING(), Types.INT(), Types.LONG()],
    )
    expected = [stage.outcome(raw, "events", 1, offset) for offset, raw in enumerate(records)]
    want_rows = [row_cells(r, fields) for kind, r in expected if kind == "row"]
    want_dead = sorted(letter_key(r) for kind, r in expected if kind == "dead")
    assert want_rows and want_dead

    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)

    def decoded() -> Any:
        # The rows the Kafka source makes of these records (io.skewless.flink.EventSource).
        raw = env.from_collection(raw_rows, type_info=raw_type)
        jvm = get_gateway().jvm
        source_rows = jvm.io.skewless.flink.EventSource.decodeRows(
            raw._j_data_stream,
            to_jarray(jvm.String, texts),
            to_jarray(jvm.String, [f.name for f in fields]),
            to_jarray(jvm.String, [f.type for f in fields]),
            "ts",
            2**62,
        )
        return decode_records(DataStream(source_rows), texts, fields, "ts")

    rows = [Row(*r[:-4], as_bytes(r[-4]), *r[-3:]) for r in decoded().execute_and_collect()]
    assert [row_cells(r, fields) for r in rows] == want_rows
    assert decoded()._j_data_stream.getType().equals(record_type(fields).get_java_type_info())

    stream = decoded()
    # Taken in the JVM (PyFlink's get_side_output would add a Python map, whose worker marks
    # this process as a UDF worker); its type is the one the other stages' letters have.
    letters = dead_letters_of(stream)
    assert letters._j_data_stream.getType().equals(DEAD_LETTER_TYPE.get_java_type_info())
    got = sorted(letter_key(r) for r in letters.execute_and_collect())
    assert got == sorted(want_dead)

    with pytest.raises(SpecError, match="type must be one of"):
        decode_records(env.from_collection(raw_rows, type_info=raw_type), texts, [Field("ts", "INT")], "ts")
