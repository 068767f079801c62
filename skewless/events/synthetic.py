"""A deterministic synthetic transaction stream: same seed, same events, same order.

Users get a spending level and an activity rate of their own, so averages and counts
differ between users. Events are generated in event-time order, then each is delayed by
a random amount up to `disorder_ms`, which puts some of them out of order within that bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

from skewless.options import SMALLEST_EPOCH_MS

DAY_MS = 86_400_000
CURRENCIES = ("EUR", "USD", "GBP", "CHF")


@dataclass(frozen=True)
class StreamShape:
    seed: int = 7
    events: int = 20_000
    users: int = 200
    days: int = 60
    end_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    disorder_ms: int = 30_000

    def __post_init__(self) -> None:
        for name in ("events", "users", "days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.disorder_ms < 0:
            raise ValueError("disorder_ms must be >= 0")
        if self.end_ms < SMALLEST_EPOCH_MS:  # the click type's rule, for callers of the API
            raise ValueError(f"end_ms {self.end_ms} is not epoch milliseconds (seconds?)")

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.days * DAY_MS


def user_id(i: int) -> str:
    return f"user-{i:06d}"


def transactions(shape: StreamShape) -> Iterator[dict]:
    """Yield records in arrival order (event time plus a bounded delay)."""
    rng = random.Random(shape.seed)
    levels = [rng.lognormvariate(3.5, 0.8) for _ in range(shape.users)]
    weights = [rng.paretovariate(1.5) for _ in range(shape.users)]
    span = shape.end_ms - shape.start_ms
    times = sorted(shape.start_ms + rng.randrange(span) for _ in range(shape.events))
    owners = rng.choices(range(shape.users), weights=weights, k=shape.events)
    records = []
    for seq, (ts, u) in enumerate(zip(times, owners)):
        amount = round(levels[u] * rng.lognormvariate(0, 0.5), 2)
        arrival = ts + (rng.randrange(shape.disorder_ms + 1) if shape.disorder_ms else 0)
        records.append(
            (
                arrival,
                seq,
                {
                    "event_id": f"evt-{shape.seed}-{seq:09d}",
                    "user_id": user_id(u),
                    "merchant_id": f"merchant-{rng.randrange(500):04d}",
                    "amount": amount,
                    "currency": CURRENCIES[u % len(CURRENCIES)],
                    "event_time": ts,
                },
            )
        )
    records.sort(key=lambda r: (r[0], r[1]))
    for _, _, record in records:
        yield record
