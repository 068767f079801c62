"""Brute-force point-in-time reference for training sets, and random histories to feed it.

Shares nothing with skewless.training but the rule from the design contract: the value
at t is the latest update with valid_from <= t (ties: highest written_at, then version;
known_time also needs written_at <= t), absent when older than the TTL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

BASE_MS = 1_700_000_000_000  # realistic epoch ms: labels are validated for plausibility


@dataclass(frozen=True)
class Update:
    key: Any
    valid_from: int  # epoch ms
    written_at: int  # epoch ms
    version: int
    features: tuple[Any, ...]


def oracle(history: list[Update], key: Any, ts: int, ttl_ms: int | None, as_of: str) -> tuple[Any, ...] | None:
    seen = [
        u for u in history
        if u.key == key and u.valid_from <= ts and (as_of == "event_time" or u.written_at <= ts)
    ]
    if not seen:
        return None
    best = max(seen, key=lambda u: (u.valid_from, u.written_at, u.version))
    if ttl_ms is not None and ts - best.valid_from > ttl_ms:
        return None
    return best.features


def random_history(rng: random.Random, keys: list[Any], n: int, span_ms: int) -> list[Update]:
    """Updates with many same-ms valid_from ties, late corrections (written well after
    valid_from) and versions that do not always follow written_at."""
    out: list[Update] = []
    used: set[tuple[Any, int, int, int]] = set()
    for version in range(n):
        key = rng.choice(keys)
        vf = BASE_MS + rng.randrange(0, span_ms)
        if out and rng.random() < 0.3:  # tie with an earlier update of some key
            vf = rng.choice(out).valid_from
        wa = vf + rng.choice([0, 0, 1, 5, rng.randrange(0, span_ms)])
        ver = rng.choice([version, n + rng.randrange(0, 3)])
        if (key, vf, wa, ver) in used:  # a genuine duplicate would make the answer ambiguous
            continue
        used.add((key, vf, wa, ver))
        avg = None if rng.random() < 0.15 else round(rng.uniform(-100, 100), 3)
        out.append(Update(key, vf, wa, ver, (avg, rng.randrange(0, 1000))))
    return out


def random_label_times(
    rng: random.Random, history: list[Update], ttl_ms: int | None, n: int, span_ms: int
) -> list[int]:
    """Label instants hitting the edges: at an update, 1 ms before it, exactly at TTL, 1 ms past."""
    times = []
    for _ in range(n):
        if history and rng.random() < 0.8:
            u = rng.choice(history)
            edge = [0, -1, 1, u.written_at - u.valid_from]
            if ttl_ms is not None:
                edge += [ttl_ms, ttl_ms + 1, ttl_ms - 1]
            times.append(u.valid_from + rng.choice(edge))
        else:
            times.append(BASE_MS + rng.randrange(-span_ms // 10, span_ms + span_ms // 10))
    return times
