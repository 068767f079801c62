"""The engine benchmark's workload: the event file, generated once, and the feature view.

The events come from `skewless.events.synthetic` (same seed, same events), written as
CSV (`user_id,event_time,amount`, no header) for Flink's filesystem connector. The file
is cached under `bench/out/` by its shape, so later runs and all three variants read
the very same bytes.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from skewless.progress import Meter
from skewless.events.synthetic import DAY_MS, StreamShape, transactions
from skewless.spec import FeatureSpec, ViewSpec

HOUR_MS = 3_600_000
OUT = Path(__file__).resolve().parent / "out"
# Arrival order is event time plus up to this delay; the source's watermark trails the
# newest event time by a little more, so no event is late for either engine.
DISORDER_MS = 30_000
WATERMARK_DELAY_MS = DISORDER_MS + 1_000

# The five features fixed by the issue, as the real ViewSpec the pipeline would run.
FEATURES = (
    FeatureSpec("avg_amount_30d", "avg", "amount", 30 * DAY_MS, DAY_MS),
    FeatureSpec("count_30d", "count", None, 30 * DAY_MS, DAY_MS),
    FeatureSpec("max_amount_7d", "max", "amount", 7 * DAY_MS, DAY_MS),
    FeatureSpec("sum_amount_1d", "sum", "amount", DAY_MS, HOUR_MS),
    FeatureSpec("count_1h", "count", None, HOUR_MS, HOUR_MS),
)


def view_spec() -> ViewSpec:
    return ViewSpec(
        name="bench_user_transactions",
        version=1,
        entity_key="user_id",
        source_topic="bench",
        event_time_field="event_time",
        features=FEATURES,
        ttl_ms=30 * DAY_MS,
        out_of_orderness_ms=WATERMARK_DELAY_MS,
    )


@dataclass(frozen=True)
class Workload:
    events: int = 3_000_000
    users: int = 10_000
    days: int = 60
    seed: int = 7

    @property
    def shape(self) -> StreamShape:
        return StreamShape(seed=self.seed, events=self.events, users=self.users, days=self.days, disorder_ms=DISORDER_MS)

    @property
    def end_ms(self) -> int:
        return self.shape.end_ms

    @property
    def path(self) -> Path:
        name = f"events-{self.events}-users-{self.users}-days-{self.days}-seed-{self.seed}-disorder-{DISORDER_MS}.csv"
        return OUT / "workload" / name

    def to_dict(self) -> dict[str, int]:
        return {"events": self.events, "users": self.users, "days": self.days, "seed": self.seed}


def empty_file() -> Path:
    """The input of the start-up measurement: same schema, no rows."""
    path = OUT / "workload" / "empty.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def ensure_file(workload: Workload) -> Path:
    """Return the cached event file, generating it (with a progress line) if absent."""
    path = workload.path
    if path.exists():
        print(f"workload: cached {path.relative_to(OUT.parent.parent)}", file=sys.stderr, flush=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    line = Meter("workload")
    # The generator draws and sorts the whole stream before yielding the first record
    # (about a minute and a few GB for 3M events); the writing then counts up.
    line.show(f"drawing {workload.events:,} events for {workload.users:,} users over {workload.days} days", force=True)
    partial = path.with_suffix(".partial")
    step = max(1, workload.events // 100)
    with partial.open("w", newline="") as f:
        out = csv.writer(f)
        for i, record in enumerate(transactions(workload.shape), start=1):
            out.writerow((record["user_id"], record["event_time"], record["amount"]))
            if i % step == 0:
                line.show(f"written {i:,}/{workload.events:,} events ({100 * i // workload.events}%)")
    os.replace(partial, path)  # a killed run leaves no half file under the cached name
    line.done(f"wrote {workload.events:,} events to {path.relative_to(OUT.parent.parent)}")
    return path
