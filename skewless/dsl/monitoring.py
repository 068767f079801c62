"""How a view is watched: its freshness SLO and its drift thresholds, compiled to spec fields.

    FeatureView(..., freshness_slo="p99 < 2s", drift=Drift(psi=0.25, null_rate=0.02))

Both are monitoring metadata (skewless.spec.METADATA_FIELDS): changing them changes neither
what the view computes nor its version, lineage or state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal

from skewless.dsl.durations import to_ms
from skewless.errors import SpecError
from skewless.spec import DRIFT_DEFAULTS, check_drift

_SLO = re.compile(r"^\s*p(\d+(?:\.\d+)?)\s*<\s*(\S.*?)\s*$", re.IGNORECASE)
_SLO_HINT = 'expected "pNN < DURATION" such as "p99 < 2s", "p50 < 500ms" or "p99.9 < 1m"'


@dataclass(frozen=True)
class Drift:
    """Thresholds of `skewless monitor` (docs/monitoring.md); None skips that check.

    psi, js: Population Stability Index and Jensen-Shannon divergence (base 2) of the window's
    distribution against the baseline's. null_rate: how far the window's null rate may rise
    above the baseline's. missing_rate: the share of the baseline's entities with no update in
    the window (not checked unless set).
    """

    psi: float | None = DRIFT_DEFAULTS["psi"]
    js: float | None = DRIFT_DEFAULTS["js"]
    null_rate: float | None = DRIFT_DEFAULTS["null_rate"]
    missing_rate: float | None = DRIFT_DEFAULTS["missing_rate"]


def compile_freshness_slo(text: object) -> dict[str, float | int] | None:
    """"p99 < 2s" -> {"quantile": 0.99, "max_ms": 2000}; None stays None."""
    if text is None:
        return None
    what = f'freshness_slo "{text}"' if isinstance(text, str) else f"freshness_slo {text!r}"
    found = _SLO.match(text) if isinstance(text, str) else None
    if found is None:
        raise SpecError(f"{what}: {_SLO_HINT}")
    percent, duration = found.groups()
    quantile = Decimal(percent) / 100  # Decimal: p99.9 is 0.999, not 0.9990000000000001
    if not 0 < quantile < 1:
        raise SpecError(f"{what}: the percentile must be above p0 and below p100, e.g. p99")
    try:
        max_ms = to_ms(duration, "duration")
    except SpecError as exc:
        raise SpecError(f"{what}: {_SLO_HINT} ({exc})") from None
    return {"quantile": float(quantile), "max_ms": max_ms}


def compile_drift(value: Drift | Mapping[str, float | None] | None) -> dict[str, float | None] | None:
    """Drift(...) or a dict of some thresholds -> every threshold, the rest at their defaults."""
    if value is None:
        return None
    if isinstance(value, Drift):
        given = asdict(value)
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - set(DRIFT_DEFAULTS))
        if unknown:
            raise SpecError(f"drift: unknown threshold(s) {unknown}; known: {', '.join(DRIFT_DEFAULTS)}")
        given = dict(value)
    else:
        raise SpecError(f"drift must be a Drift(psi=..., js=..., null_rate=...) or a dict, got {type(value).__name__}")
    thresholds = {**DRIFT_DEFAULTS, **given}
    # ints are fine to write (psi=1) but the spec keeps floats, so 1 and 1.0 hash alike.
    thresholds = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in thresholds.items()}
    check_drift(thresholds, "")
    return thresholds
