"""Aggregations as small pure objects: init / add / merge / result.

An accumulator is a plain, picklable value. Tiles hold one accumulator per feature;
`merge` combines tiles into a window value, so every operation here must be
associative and have `init()` as its identity. No Flink imports.
"""

from __future__ import annotations

import math
from typing import Any, Protocol


class Aggregation(Protocol):
    name: str

    def init(self) -> Any: ...

    def add(self, acc: Any, value: float, ts: int) -> Any: ...

    def merge(self, a: Any, b: Any) -> Any: ...

    def result(self, acc: Any) -> float | int | None: ...


class Count:
    name = "count"

    def init(self) -> int:
        return 0

    def add(self, acc: int, value: float, ts: int) -> int:
        return acc + 1

    def merge(self, a: int, b: int) -> int:
        return a + b

    def result(self, acc: int) -> int:
        return acc


class Sum:
    """Sum with Neumaier compensation, so tile order does not change the result's digits."""

    name = "sum"

    def init(self) -> tuple[float, float]:
        return (0.0, 0.0)

    def add(self, acc: tuple[float, float], value: float, ts: int) -> tuple[float, float]:
        return _neumaier(acc, value)

    def merge(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        total, comp = _neumaier(a, b[0])
        return (total, comp + b[1])

    def result(self, acc: tuple[float, float]) -> float:
        return acc[0] + acc[1]


class Avg:
    name = "avg"

    def init(self) -> tuple[float, float, int]:
        return (0.0, 0.0, 0)

    def add(self, acc: tuple[float, float, int], value: float, ts: int) -> tuple[float, float, int]:
        total, comp = _neumaier((acc[0], acc[1]), value)
        return (total, comp, acc[2] + 1)

    def merge(self, a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float, int]:
        total, comp = _neumaier((a[0], a[1]), b[0])
        return (total, comp + b[1], a[2] + b[2])

    def result(self, acc: tuple[float, float, int]) -> float | None:
        return (acc[0] + acc[1]) / acc[2] if acc[2] else None


class Max:
    name = "max"

    def init(self) -> float | None:
        return None

    def add(self, acc: float | None, value: float, ts: int) -> float:
        return value if acc is None or value > acc else acc

    def merge(self, a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else max(a, b)

    def result(self, acc: float | None) -> float | None:
        return acc


class Min:
    name = "min"

    def init(self) -> float | None:
        return None

    def add(self, acc: float | None, value: float, ts: int) -> float:
        return value if acc is None or value < acc else acc

    def merge(self, a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else min(a, b)

    def result(self, acc: float | None) -> float | None:
        return acc


def _neumaier(acc: tuple[float, float], value: float) -> tuple[float, float]:
    total, comp = acc
    new = total + value
    if math.fabs(total) >= math.fabs(value):
        comp += (total - new) + value
    else:
        comp += (value - new) + total
    return (new, comp)


OPERATIONS: dict[str, Aggregation] = {op.name: op for op in (Count(), Sum(), Avg(), Max(), Min())}


def operation(name: str) -> Aggregation:
    try:
        return OPERATIONS[name]
    except KeyError:
        known = ", ".join(sorted(OPERATIONS))
        raise ValueError(f"unknown aggregation {name!r}; known: {known}") from None
