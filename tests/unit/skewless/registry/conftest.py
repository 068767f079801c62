from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from skewless.registry import Registry

SCHEMA: dict = {
    "type": "record",
    "name": "Payment",
    "namespace": "test",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "qty", "type": "int"},
        {"name": "currency", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}

HEADER = """
from pathlib import Path
from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

HERE = Path(__file__).parent
user = Entity("user", keys={keys!r})
payments = Source("payments", topic={topic!r}, schema=HERE / "payments.avsc", event_time="ts", filter={filter!r})
"""

VIEW = """
spend_v{version} = FeatureView(
    name="spend", version={version}, entity=user, source=payments, ttl="30d",
    owner={owner!r}, description={description!r}, tags={tags!r},
    aggregations=[{aggregations}],
)
"""

SUM = 'Aggregation("amount", "sum", windows=[Window("1d", hop="1h")])'
COUNT = 'Aggregation(None, "count", windows=[Window("7d", hop="1d")])'
MAX = 'Aggregation("amount", "max", windows=[Window("1d", hop="1h")])'


def view(version: int = 1, aggregations: tuple[str, ...] = (SUM, COUNT), owner: str = "risk", description: str = "d",
         tags: tuple[str, ...] = ()) -> str:
    return VIEW.format(version=version, aggregations=", ".join(aggregations), owner=owner, description=description,
                       tags=list(tags))


def schema_with(*fields: dict, drop: tuple[str, ...] = (), change: dict | None = None) -> dict:
    schema = copy.deepcopy(SCHEMA)
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in drop] + list(fields)
    for f in schema["fields"]:
        if change and f["name"] in change:
            f["type"] = change[f["name"]]
    return schema


WriteRepo = Callable[..., Path]


def repo_writer(tmp_path: Path) -> WriteRepo:
    """Write the feature repo `tmp/featrepo` (overwriting): a schema file and one module of definitions."""
    folder = tmp_path / "featrepo"

    def write(*views: str, schema: dict = SCHEMA, topic: str = "payments", keys: str = "user_id",
              filter: str | None = None, extra: str = "") -> Path:
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "payments.avsc").write_text(json.dumps(schema))
        body = HEADER.format(keys=keys, topic=topic, filter=filter) + "".join(views or (view(),)) + textwrap.dedent(extra)
        (folder / "defs.py").write_text(body)
        return folder

    return write


@pytest.fixture
def write_repo(tmp_path: Path) -> WriteRepo:
    return repo_writer(tmp_path)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(f"sqlite:///{tmp_path / 'state' / 'registry.db'}", clock=Clock()) as reg:
        yield reg
