from __future__ import annotations

import json
from pathlib import Path

import pytest

from skewless.dsl import Entity, Source

SCHEMA = {
    "type": "record",
    "name": "Payment",
    "namespace": "test",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "customer", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "qty", "type": ["null", "int"], "default": None},
        {"name": "currency", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["CARD", "CASH"]}},
        {"name": "flagged", "type": "boolean"},
        {"name": "blob", "type": "bytes"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_int", "type": "int"},
    ],
}


@pytest.fixture
def schema_path(tmp_path: Path) -> Path:
    path = tmp_path / "payment.avsc"
    path.write_text(json.dumps(SCHEMA))
    return path


@pytest.fixture
def user() -> Entity:
    return Entity("user", keys="user_id")


@pytest.fixture
def source(schema_path: Path) -> Source:
    return Source("payments", topic="payments", schema=schema_path, event_time="ts")
