"""The parameters each aggregation operation accepts, their defaults and their bounds.

The feature DSL checks a definition against these when it is written; the operators in
udfs/ (which compute the operations) are built from the checked values. One table for
both, in the core, so the DSL needs nothing from the layer that runs the operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from skewless.errors import SpecError

REQUIRED = object()  # a parameter without a default
Check = Callable[[str, Any], Any]  # (name, given value) -> the value, or ValueError


def _int_param(lo: int, hi: int) -> Check:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
        return int(value)

    return check


def _float_param(lo: float, hi: float) -> Check:
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
        return float(value)

    return check


# Operation -> parameter -> (default or REQUIRED, check). Operations not listed take none.
PARAMS: dict[str, dict[str, tuple[Any, Check]]] = {
    "last_n": {"n": (REQUIRED, _int_param(1, 1000))},
    "count_distinct": {"max_size": (10_000, _int_param(16, 100_000))},
    "approx_count_distinct": {"precision": (12, _int_param(4, 16))},
    "approx_percentile": {
        "q": (REQUIRED, _float_param(0.0, 1.0)),
        "relative_accuracy": (0.01, _float_param(0.001, 0.2)),
        "max_buckets": (2048, _int_param(16, 65_536)),
    },
}


def params_of(op: str) -> dict[str, tuple[Any, Check]]:
    return PARAMS.get(op, {})


def check_params(op: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of `op`, checked and defaulted; SpecError naming what is wrong."""
    schema = params_of(op)
    unknown = sorted(set(params) - set(schema))
    if unknown:
        allowed = ", ".join(sorted(schema)) or "none"
        raise SpecError(f"aggregation {op}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    out = {}
    for name, (default, check) in schema.items():
        if name in params:
            try:
                out[name] = check(name, params[name])
            except ValueError as exc:
                raise SpecError(f"aggregation {op}: {exc}") from None
        elif default is REQUIRED:
            raise SpecError(f"aggregation {op}: parameter {name!r} is required")
        else:
            out[name] = default
    return out
