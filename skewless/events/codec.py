"""Avro events on the wire, and the checks every event must pass before it is aggregated.

Wire format: Avro single-object encoding (marker C3 01, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema, then the binary body). The fingerprint
names the writer schema, so the decoder knows exactly which known schema wrote a
record and rejects bytes from an unknown one instead of misreading them.

This is the producer's codec (fastavro). The job decodes in the JVM with Apache Avro's
reader (io.skewless.flink.EventDecoder); both resolve an older record to the newest schema,
and tests/flink/test_decode_producer.py holds the JVM to what this codec writes.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from skewless.errors import SkewlessError

MARKER = b"\xc3\x01"
# Event times outside this range are taken for unit mistakes (seconds, microseconds).
MIN_EVENT_TIME_MS = 946_684_800_000  # 2000-01-01
MAX_EVENT_TIME_MS = 4_102_444_800_000  # 2100-01-01


class DecodeError(SkewlessError):
    """A record that cannot become an event; `reason` is what goes to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ASCII_WHITESPACE = " \t\n\v\f\r"


def is_missing_key(key: Any) -> bool:
    """No key: None, or a string that is empty or only ASCII whitespace (the job's rule too,
    io.skewless.flink.ViewEventsFunction.isBlank)."""
    return key is None or (isinstance(key, str) and not key.strip(ASCII_WHITESPACE))


def kind_of(value: Any) -> str:
    """What a value is, for a dead letter's reason, without the value itself (it may be personal data)."""
    if value is None:
        return "null"
    return {str: "a string", bool: "a boolean", int: "a long", float: "a double"}.get(type(value), f"a {type(value).__name__}")


def _strip_logical_types(node: Any) -> Any:
    """Read timestamp-millis as the plain long it is on the wire: epoch ms at every boundary."""
    if isinstance(node, dict):
        return {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


class EventCodec:
    """Encode and decode one event type; `key_field` and `time_field` are checked on decode."""

    def __init__(self, schemas: Sequence[Path | dict[str, Any]], key_field: str, time_field: str) -> None:
        """`schemas`: the writer schemas oldest first, as .avsc paths or parsed JSON."""
        if not schemas:
            raise SkewlessError("EventCodec needs at least one .avsc schema")
        self.key_field = key_field
        self.time_field = time_field
        self._readers: dict[bytes, Any] = {}
        writer = None
        for schema in schemas:
            raw = schema if isinstance(schema, dict) else json.loads(Path(schema).read_text())
            parsed = fastavro.parse_schema(_strip_logical_types(raw))
            fp = _wire_fingerprint(raw)
            self._readers[fp] = parsed
            writer = (fp, parsed)
        # The newest schema (last given) is the one producers write, and older records are read as.
        self._writer_fp, self._writer = writer  # type: ignore[misc]

    def encode(self, record: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(MARKER)
        out.write(self._writer_fp)
        fastavro.schemaless_writer(out, self._writer, record)
        return out.getvalue()

    def decode(self, data: bytes | None) -> dict[str, Any]:
        if not data:
            raise DecodeError("empty record value")
        if len(data) < 10 or data[:2] != MARKER:
            raise DecodeError("not Avro single-object encoding: missing the C3 01 marker")
        fp = bytes(data[2:10])
        schema = self._readers.get(fp)
        if schema is None:
            # Shown as the 64-bit number (most significant digit first), as Avro tools print it.
            raise DecodeError(f"unknown writer schema fingerprint {fp[::-1].hex()}")
        body = io.BytesIO(data[10:])
        try:
            reader = None if fp == self._writer_fp else self._writer  # resolve older records to the newest
            record = fastavro.schemaless_reader(body, schema, reader)
        except Exception as exc:  # fastavro raises many types for corrupt input
            raise DecodeError(f"corrupt or truncated Avro body: {type(exc).__name__}: {exc}") from exc
        if body.tell() != len(data) - 10:
            raise DecodeError(f"{len(data) - 10 - body.tell()} trailing bytes after the Avro body")
        self.validate(record)
        return record

    def validate(self, record: dict[str, Any]) -> None:
        key = record.get(self.key_field)
        if is_missing_key(key):
            raise DecodeError(f"missing entity key '{self.key_field}'")
        ts = record.get(self.time_field)
        if not isinstance(ts, int):
            raise DecodeError(f"missing event time {self.time_field!r}")
        if not MIN_EVENT_TIME_MS <= ts < MAX_EVENT_TIME_MS:
            raise DecodeError(
                f"absurd event time {self.time_field}={ts}: expected epoch milliseconds between 2000 and 2100"
            )
        for name, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise DecodeError(f"field {name!r} is {value}, not a finite number")


def _wire_fingerprint(schema_json: Any) -> bytes:
    """The 8 fingerprint bytes as the Avro specification puts them on the wire: little-endian.

    fastavro's hex string is already those bytes in wire order (it is not the number's hex).
    """
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema_json), "CRC-64-AVRO"))


def single_object_header(schema_json: dict[str, Any]) -> bytes:
    """The 10-byte prefix for records written with `schema_json` (for tools and tests)."""
    return MARKER + _wire_fingerprint(schema_json)


__all__ = ["DecodeError", "EventCodec", "single_object_header"]
