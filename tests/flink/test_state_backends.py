"""The tile operator gives the same updates on every keyed-state backend.

On the heap backend it keeps each entity's state as a live object and writes it back only
when created; RocksDB hands out deserialized copies, so there every change must be written
back. A job on each backend over the same events must emit the same updates (all but
written_at, the wall clock).
"""

from __future__ import annotations

import random

import pytest
from pyflink.common import Configuration, Row
from pyflink.datastream import StreamExecutionEnvironment

from features.transactions import USER_TRANSACTIONS
from jobs.operators import JvmJob, job_document
from jobs.rows import event_type, update_type

DAY_MS = 86_400_000
T0 = 1_700_000_000_000


def events() -> list[Row]:
    rng = random.Random(5)
    out = []
    for offset in range(3_000):
        t = T0 + rng.randrange(10 * DAY_MS)
        out.append(Row(f"u{rng.randrange(25)}", t, round(rng.uniform(1, 500), 2), "payments", 0, offset))
    out.sort(key=lambda r: r[1])  # in order: no late events, the watermark plays no part
    return out


def run(backend: str) -> list[tuple]:
    conf = Configuration()
    conf.set_string("state.backend.type", backend)
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)
    stream = env.from_collection(events(), type_info=event_type(USER_TRANSACTIONS))
    updates = JvmJob(job_document((), [USER_TRANSACTIONS])).aggregate(USER_TRANSACTIONS, stream)
    written_at = update_type(USER_TRANSACTIONS).get_field_names().index("written_at")
    rows = (tuple(v for i, v in enumerate(row) if i != written_at) for row in updates.execute_and_collect())
    return sorted(rows, key=repr)


@pytest.mark.parametrize("backend", ["rocksdb"])
def test_the_operator_emits_the_same_updates_on_every_backend(jar: str, backend: str) -> None:
    from skewless.devstack import flink_home

    flink_home.apply_to_environ()
    heap = run("hashmap")
    assert len(heap) > 3_000  # every event, plus the tile expiries
    assert run(backend) == heap
