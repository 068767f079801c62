"""A view's row logic (derived columns, then the filter) on the job's own JVM evaluator.

The kit sends each event to io.skewless.logic.RowLogic, the class the Flink job runs, rather
than evaluating it in Python: one evaluator, so what a test sees is what the job computes.
skewless.expressions still parses and type-checks the expressions (a bad one fails here, at
compile time, as it does when the job starts) and serializes them for the JVM.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from skewless.expressions import row_logic_json
from skewless.spec import ViewSpec
from skewless.testing.engine import EngineError, _jvm

_ids = itertools.count()


class EventRejected(EngineError):
    """The view's row logic failed on one event: the job would dead-letter it with `reason`."""

    def __init__(self, event: Mapping[str, Any], reason: str) -> None:
        self.event, self.reason = dict(event), reason
        super().__init__(f"event {self.event!r}: {reason}")


class RowLogic:
    """The row logic of `spec` on the JVM; a view with none passes events through untouched."""

    def __init__(self, spec: ViewSpec, *, roundtrip: bool = False) -> None:
        self._id = None
        if not spec.derived and spec.filter is None:
            return
        self._jvm = _jvm(roundtrip)
        self._id = f"logic-{next(_ids)}"
        self._jvm.ask([f"logic {self._id}", row_logic_json(spec.derived, spec.filter)], multi=False)

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """The event plus its derived columns, or None when the filter drops it."""
        if self._id is None:
            return dict(event)
        answer = self._jvm.ask([f"row {self._id}", _event_json(event)], multi=False)[0]
        kind, _, rest = answer.partition(" ")
        if kind == "drop":
            return None
        if kind == "reject":
            raise EventRejected(event, rest)
        return json.loads(rest)

    def close(self) -> None:
        if self._id is not None:
            self._jvm.ask([f"drop {self._id}"], multi=False)


def _event_json(event: Mapping[str, Any]) -> str:
    for name, value in event.items():
        if not isinstance(name, str):
            raise EngineError(f"event {dict(event)!r}: field names must be strings, got {name!r}")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise EngineError(
                f"event {dict(event)!r}: field {name!r} is a {type(value).__name__}; "
                "events carry strings, numbers, booleans or None (times as epoch milliseconds)"
            )
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise EngineError(f"event {dict(event)!r}: field {name!r} does not fit a long")
    return json.dumps(dict(event), separators=(",", ":"))
