"""What `verify` found, per feature: a table for people and JSON for machines."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


@dataclass
class FeatureTally:
    checked: int = 0
    matched: int = 0
    lagged: int = 0
    mismatched: int = 0
    unsettled: int = 0
    max_lag_ms: int = 0  # how far behind the history the stalest lagged value was


@dataclass(frozen=True)
class Mismatch:
    entity: str
    feature: str  # view:feature
    served_at: int
    served: Any
    expected: Any
    served_valid_from: int | None
    reason: str


@dataclass
class VerifyReport:
    max_write_lag_ms: int
    tallies: dict[str, FeatureTally] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    def tally(self, ref: str) -> FeatureTally:
        return self.tallies.setdefault(ref, FeatureTally())

    def total(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.tallies.values())

    @property
    def ok(self) -> bool:
        return self.total("mismatched") == 0 and self.total("unsettled") == 0 and self.total("checked") > 0

    def exit_code(self) -> int:
        """0: all served values proven; 1: a mismatch; 2: none, but some could not be judged."""
        if self.total("mismatched"):
            return 1
        return 0 if self.ok else 2

    def to_dict(self) -> dict[str, Any]:
        names = ("checked", "matched", "lagged", "mismatched", "unsettled")
        return {
            "ok": self.ok,
            "max_write_lag_ms": self.max_write_lag_ms,
            "observed_max_lag_ms": max((t.max_lag_ms for t in self.tallies.values()), default=0),
            "totals": {n: self.total(n) for n in names},
            "features": {ref: asdict(t) for ref, t in sorted(self.tallies.items())},
            "mismatches": [asdict(m) for m in self.mismatches],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)

    def render_table(self, max_mismatches: int = 20) -> str:
        names = ("checked", "matched", "lagged", "mismatched", "unsettled", "max_lag_ms")
        rows = [("feature", *names)] + [
            (ref, *(str(getattr(t, n)) for n in names)) for ref, t in sorted(self.tallies.items())
        ]
        lag = str(max((t.max_lag_ms for t in self.tallies.values()), default=0))
        rows.append(("total", *(str(self.total(n)) for n in names[:-1]), lag))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows
        ]
        for m in self.mismatches[:max_mismatches]:
            lines.append(
                f"MISMATCH {m.feature} entity={m.entity} served_at={m.served_at} served={m.served!r} "
                f"expected={m.expected!r} ({m.reason})"
            )
        if len(self.mismatches) > max_mismatches:
            lines.append(f"... and {len(self.mismatches) - max_mismatches} more mismatches (see the JSON report)")
        if not self.total("checked"):
            lines.append("nothing was checked: the log is empty or nothing settled")
        elif self.total("unsettled"):
            lines.append(
                f"{self.total('unsettled')} served values could not be judged: the history had not committed "
                "the updates written before they were served; run verify again after the job's next checkpoint, "
                "or pass --history-complete if the job has finished"
            )
        lines.append("OK: every served value equals the known-time history" if self.ok else "FAILED")
        return "\n".join(lines)


# -- the check ----------------------------------------------------------------------
