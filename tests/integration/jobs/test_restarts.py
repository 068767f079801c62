"""An unbounded job killed and restarted, as an operator would: from the newest checkpoint by
default, from an older one on request. The history stays a set, equal to the oracle."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from features.transactions import USER_TRANSACTIONS
from skewless.checkpoints import Lineage
from skewless.errors import SkewlessError
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape, transactions
from skewless.runner import run_job
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from tests.integration.test_pipeline import history_rows
from tests.oracle import values_agree

HOUR_MS = 3_600_000


class LiveJob:
    """`skewless run --unbounded` for one view in a thread; kill() is a kill -9 of the job process."""

    def __init__(self, spec: ViewSpec, settings: Settings, savepoint: str | None = None) -> None:
        self.lineage = Lineage(settings.home, spec.source_topic, [spec.uid])
        self.error: Exception | None = None

        def target() -> None:
            try:
                run_job(spec, settings, bounded=False, until=None, savepoint=savepoint)
            except SkewlessError as exc:  # the expected end of a killed job
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

        def started() -> bool:
            if not self.thread.is_alive():
                pytest.fail(f"the job ended before it started: {self.error}")
            return self.lineage.running() is not None

        wait_for(started, 180, "the job to start")

    def kill(self) -> None:
        running = self.lineage.running()
        assert running is not None, "the job is not running"
        os.kill(int(running["pid"]), signal.SIGKILL)  # type: ignore[arg-type]
        self.thread.join(60)
        self.lineage.clear_running()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(1)


def instants(rows: list[dict], key: str) -> set[tuple[str, int]]:
    return {(r[key], int(r["valid_from"].timestamp() * 1000)) for r in rows}


def all_rows(spec: ViewSpec, settings: Settings) -> list[dict]:
    from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog

    catalog = CatalogConfig.from_settings(settings)
    table = load_pyiceberg_catalog(catalog).load_table(f"{settings.iceberg.namespace}.{spec.name}_history")
    return table.scan().to_arrow().to_pylist()


def test_restarts_from_newest_and_from_an_older_checkpoint_keep_the_history_a_set(unique_name: str) -> None:
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{unique_name}.transactions")
    # Every checkpoint retained: the test restores an older one on purpose.
    settings = load_settings(cassandra={"keyspace": unique_name}, iceberg={"namespace": unique_name}, job={"checkpoint_interval_ms": 1_000, "checkpoints_retained": 1_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    shapes = [StreamShape(seed=s, events=1_500, users=20, days=20, end_ms=end - (3 - s) * 20 * 86_400_000, disorder_ms=0) for s in (1, 2, 3)]
    expected: set[tuple[str, int]] = set()

    def caught_up() -> bool:
        return expected <= instants(history_rows(spec, settings), spec.entity_key)

    def produce_part(shape: StreamShape) -> None:
        produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=2, progress=False)
        expected.update((r["user_id"], r["event_time"]) for r in transactions(shape))

    produce_part(shapes[0])
    job = LiveJob(spec, settings)
    wait_for(caught_up, 240, "the first part in the history")
    wait_for(lambda: len(job.lineage.restore_points()) > 0, 60, "a checkpoint")
    older = job.lineage.newest()
    assert older is not None
    produce_part(shapes[1])
    wait_for(caught_up, 240, "the second part in the history")
    job.kill()

    # Restoring the older checkpoint replays the second part: its commits are rolled back first.
    job = LiveJob(spec, settings, savepoint=str(older.path))
    produce_part(shapes[2])
    wait_for(caught_up, 240, "the third part after a restore from the older checkpoint")
    job.kill()

    # A plain restart resumes from the newest checkpoint: nothing replayed twice, nothing lost.
    job = LiveJob(spec, settings)
    time.sleep(8)
    job.kill()

    rows = all_rows(spec, settings)
    keys = Counter((r[spec.entity_key], r["valid_from"], r["version"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []
    events: dict[str, list] = {}
    for shape in shapes:
        for r in transactions(shape):
            events.setdefault(r["user_id"], []).append((r["event_time"], r))
    for row in history_rows(spec, settings):
        user, t = row[spec.entity_key], int(row["valid_from"].timestamp() * 1000)
        got = tuple(row[f] for f in spec.feature_names)
        assert values_agree(spec.features, got, sorted(events[user], key=lambda e: e[0]), t), (user, t, got)
