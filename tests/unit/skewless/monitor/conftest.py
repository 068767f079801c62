"""A view's history written day by day into a tmp SQLite catalog, as the job appends it.

The catalog and registry fixtures are training's (tests/unit/skewless/training/conftest.py):
one way to write a history table in unit tests."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from connectors.iceberg.history import Column, HistoryTable
from tests.unit.skewless.training.conftest import catalog_cfg, stats_view, write_history  # noqa: F401 (fixtures)
from tests.unit.skewless.training.pit_oracle import Update

DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a day boundary
WITH_LIST = HistoryTable(
    "user_stats",
    keys=(Column("user_id", "string"),),
    features=(Column("avg_amount", "double"), Column("n_events", "long"), Column("recent", "list<double>")),
)


def day_updates(day: int, *, users: int = 40, per_user: int = 5, shift: float = 0.0, null_every: int = 0,
                seed: int = 0, with_list: bool = False) -> list[Update]:
    """Updates within day `day` after START_MS: avg_amount ~ N(10 + shift, 2), n_events in 1..5,
    every `null_every`-th avg_amount null."""
    rng = random.Random(seed * 1000 + day)
    out = []
    for i in range(users * per_user):
        t = START_MS + day * DAY_MS + rng.randrange(DAY_MS)
        avg = None if null_every and i % null_every == 0 else rng.gauss(10 + shift, 2)
        features: tuple = (avg, rng.randint(1, 5))
        if with_list:
            features += ([1.0] * rng.randint(0, 3),)
        out.append(Update(f"u{i % users}", t, t, i, features))
    return out


@pytest.fixture
def daily_history(write_history) -> Callable[..., object]:  # noqa: F811
    """Write days [0, days) (one commit per day, so one file per day partition) with the
    window's days (from `window_from`) shifted by `shift`; return the table."""

    def write(days: int = 9, window_from: int = 8, shift: float = 0.0, window_nulls: int = 0,
              history: HistoryTable | None = None):
        updates = []
        for day in range(days):
            late = day >= window_from
            updates += day_updates(day, shift=shift if late else 0.0, null_every=window_nulls if late else 0,
                                   with_list=history is WITH_LIST)
        return write_history(updates, *(() if history is None else (history,)), batches=days)

    return write
