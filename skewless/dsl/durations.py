"""Durations in definitions: "30d", "1h30m", "90s", "250ms" or a timedelta, always to whole milliseconds."""

from __future__ import annotations

import re
from datetime import timedelta

from skewless.errors import SpecError

_UNITS_MS = {"w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")
# Largest unit first, so a duration is written the way a person would ("1d", not "24h").
_LABEL_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1))

Duration = str | timedelta


def to_ms(value: Duration, what: str, *, allow_zero: bool = False) -> int:
    """Whole milliseconds of `value`; SpecError naming `what` when it is malformed or out of range."""
    if isinstance(value, timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        if micros % 1_000:
            raise SpecError(f"{what}: {value!r} is not a whole number of milliseconds")
        ms = micros // 1_000
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise SpecError(
                f"{what}: cannot read duration {value!r}; write e.g. '30d', '1h', '1h30m', '90s' or '250ms'"
            )
        ms = sum(int(n) * _UNITS_MS[u] for n, u in parts)
    else:
        raise SpecError(
            f"{what}: expected a duration string like '30d' or a timedelta, got {type(value).__name__} {value!r}"
        )
    if ms < 0 or (ms == 0 and not allow_zero):
        raise SpecError(f"{what}: duration {value!r} must be {'>= 0' if allow_zero else 'positive'}")
    return ms


def label(ms: int) -> str:
    """The shortest exact label: 30 days -> "30d", 90 s -> "90s", 36 h -> "36h"."""
    for unit, size in _LABEL_UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"  # not reached: the last unit is 1 ms
