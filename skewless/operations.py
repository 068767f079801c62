"""The operation catalogue: every aggregation operation, written once.

Per operation: its name, the input column types it accepts, whether it needs a column, the
type of its value (long, double or list<double>) and of its Cassandra column, and its
parameters with their defaults and ranges. The feature DSL and the compiled spec check
definitions against it; the JVM engine reads the same table from its jar
(jvm/flink/src/main/resources/io/skewless/engine/operations.json, which
`python -m skewless.operations` writes and a unit test holds equal to this module), so what
compiles is what runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from skewless.errors import SpecError

CATALOGUE_FORMAT = 1
# Where the JVM reads the catalogue from (a classpath resource of the skewless-flink jar).
RESOURCE = Path("jvm/flink/src/main/resources/io/skewless/engine/operations.json")
# Value type -> CQL column type.
CQL_TYPES = {"long": "bigint", "double": "double", "list<double>": "list<double>"}
# The row logic hands the engine numbers only (an input column that is no number is a dead letter).
NUMERIC = ("long", "double")


@dataclass(frozen=True)
class Param:
    """One parameter: an integer or a number in [lo, hi]; `default` None means required."""

    name: str
    kind: Literal["integer", "number"]
    lo: float
    hi: float
    default: float | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def check(self, value: Any) -> int | float:
        """The value, as an int or float; ValueError naming what is wrong."""
        if self.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
                raise ValueError(f"{self.name} must be an integer, got {value!r}")
            if not self.lo <= value <= self.hi:
                raise ValueError(f"{self.name} must be in [{self.lo}, {self.hi}], got {value!r}")
            return int(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.lo <= value <= self.hi:
            raise ValueError(f"{self.name} must be a number in [{self.lo}, {self.hi}], got {value!r}")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "default": self.default, "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class Operation:
    name: str
    value_type: Literal["long", "double", "list<double>"]
    needs_column: bool = True
    inputs: tuple[str, ...] = NUMERIC
    params: tuple[Param, ...] = ()

    @property
    def cql_type(self) -> str:
        return CQL_TYPES[self.value_type]

    def check_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter, checked and defaulted; SpecError naming what is wrong."""
        names = sorted(p.name for p in self.params)
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise SpecError(
                f"aggregation {self.name}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(names) or 'none'}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in given:
                try:
                    out[p.name] = p.check(given[p.name])
                except ValueError as exc:
                    raise SpecError(f"aggregation {self.name}: {exc}") from None
            elif p.required:
                raise SpecError(f"aggregation {self.name}: parameter {p.name!r} is required")
            else:
                out[p.name] = p.default
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "needs_column": self.needs_column,
            "value_type": self.value_type,
            "cql_type": self.cql_type,
            "params": [p.to_dict() for p in self.params],
        }


_OPERATIONS = (
    Operation("count", "long", needs_column=False),
    Operation("sum", "double"),
    Operation("avg", "double"),
    Operation("min", "double"),
    Operation("max", "double"),
    Operation("variance", "double"),
    Operation("stddev", "double"),
    Operation("first", "double"),
    Operation("last", "double"),
    Operation("last_n", "list<double>", params=(Param("n", "integer", 1, 1000),)),
    Operation("count_distinct", "long", params=(Param("max_size", "integer", 16, 100_000, 10_000),)),
    Operation("approx_count_distinct", "long", params=(Param("precision", "integer", 4, 16, 12),)),
    Operation(
        "approx_percentile",
        "double",
        params=(
            Param("q", "number", 0.0, 1.0),
            Param("relative_accuracy", "number", 0.001, 0.2, 0.01),
            Param("max_buckets", "integer", 16, 65_536, 2048),
        ),
    ),
)
OPERATIONS: dict[str, Operation] = {op.name: op for op in _OPERATIONS}


def operation(name: str) -> Operation:
    """The operation called `name`; SpecError listing the known ones."""
    try:
        return OPERATIONS[name]
    except KeyError:
        raise SpecError(f"unknown operation {name!r}; use one of {', '.join(sorted(OPERATIONS))}") from None


def check_params(op: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of `op`, checked and defaulted; SpecError naming what is wrong."""
    return operation(op).check_params(params)


def catalogue() -> dict[str, Any]:
    """The catalogue as the JVM reads it."""
    return {"format": CATALOGUE_FORMAT, "operations": [op.to_dict() for op in _OPERATIONS]}


def export_text() -> str:
    return json.dumps(catalogue(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the catalogue to RESOURCE under the repository root (or the path given)."""
    from skewless.settings import REPO_ROOT

    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else REPO_ROOT / RESOURCE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(export_text())
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
