"""`skewless verify`: the proof of zero skew. Every served value must equal the value a
training set built "as it was known" gives for the same entity at the instant it was served.

For each served record (entity, view, feature, value, served_at) the value is recomputed
with `join_history(..., as_of="known_time")` at `served_at`, and compared exactly.

Two races are handled explicitly rather than hidden:

1. Iceberg commit lag. The history becomes visible per checkpoint, so a value served at t
   may have been written to Cassandra before the update reached a committed snapshot.
   A record is judged only once the history provably holds every update of its entity
   written at or before t ("settled", see `settle.py`: a later committed update of the
   entity, or of any entity at parallelism 1, or a bounded job's final commit marker),
   or when the caller states the writing job has finished (`history_complete`). Unsettled
   records are retried (the table is re-read) until `wait_s` runs out; any left are
   reported as unsettled, never as matches.
2. Cassandra write lag. `written_at` is stamped when the job emits an update; the sink
   writes it to Cassandra later (measured here: ~0.1 s while a bounded job catches up
   with per-record watermarks; ~15 s when its timers fired in one burst). A read in
   between serves the previous value, though known time at t already sees the new one.
   Such a record is "lagged", not a mismatch, when
   - the served update is in the history, live at t (lag never excuses the TTL) and was
     the known-time value just before the first newer update became visible (checked
     with `get_historical_features` at that instant; served-absent likewise means no
     update live at t was visible yet), and
   - that first newer update became visible at most `max_write_lag_ms` before t.
   The report shows each feature's largest lag. `max_write_lag_ms=0` demands exact
   equality at t.

A served update valid after served_at (an event clock ahead of the serving clock) can
never equal a known_time value at t and is reported as a mismatch.
"""


from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from connectors.cassandra.ttl import is_live
from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import history_identifier
from connectors.iceberg.rollback import JOB_ID
from skewless.serving import defaults
from skewless.serving.errors import VerifyError
from skewless.serving.log import Served, read_log
from skewless.serving.report import FeatureTally, Mismatch, VerifyReport
from skewless.serving.settle import FINAL_CHECKPOINT, epoch_ms_list, iso, wait_settled
from skewless.spec import ViewSpec
from skewless.training import join_history

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

__all__ = [
    "FINAL_CHECKPOINT", "FeatureTally", "Mismatch", "Served", "VerifyReport", "read_log", "same_value", "verify_served",
]
DEFAULT_MAX_WRITE_LAG_MS = defaults.MAX_WRITE_LAG_MS


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def verify_served(
    entries: Sequence[Served],
    views: Mapping[str, ViewSpec],
    catalog_cfg: CatalogConfig,
    *,
    max_write_lag_ms: int = DEFAULT_MAX_WRITE_LAG_MS,
    wait_s: float = 60.0,
    poll_s: float = 1.0,
    parallelism: int = 1,
    history_complete: bool = False,
    finished: Callable[[ViewSpec, str | None], bool] | None = None,
    catalog: Catalog | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyReport:
    """Judge `entries` against the views' Iceberg histories (see the module doc).

    history_complete: the caller knows the job writing these views has finished (a bounded
    run returned), so the committed history is all there is.
    finished(spec, job id): whether the job that committed a view's newest snapshot ran to
    its end with no job of the view started since (skewless.finished), which proves the same.
    """
    if max_write_lag_ms < 0:
        raise VerifyError(f"max_write_lag_ms must be >= 0, got {max_write_lag_ms}")
    unknown = sorted({e.view for e in entries} - set(views))
    if unknown:
        raise VerifyError(f"the log serves views {unknown} the registry does not know; registered: {sorted(views)}")
    catalog = catalog or load_pyiceberg_catalog(catalog_cfg)
    report = VerifyReport(max_write_lag_ms)
    by_view: dict[str, list[Served]] = {}
    for entry in entries:
        by_view.setdefault(entry.view, []).append(entry)
    for view, group in sorted(by_view.items()):
        spec = views[view]
        table = _load(catalog, catalog_cfg, view)
        if history_complete or (finished is not None and finished(spec, _last_writer(table))):
            settled, unsettled = group, []
        else:
            settled, unsettled = wait_settled(table, spec, group, wait_s, poll_s, parallelism, sleep)
        for entry in unsettled:
            report.tally(entry.ref).unsettled += 1
        if settled:
            _check(settled, spec, catalog_cfg, catalog, table, max_write_lag_ms, report)
    return report


def _load(catalog: Catalog, cfg: CatalogConfig, view: str) -> Table:
    from pyiceberg.exceptions import NoSuchTableError

    identifier = history_identifier(cfg.namespace, view)
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError as exc:
        raise VerifyError(
            f"view {view!r} has no history table {identifier} in the {cfg.describe()}; "
            "check SKEWLESS_ICEBERG_NAMESPACE and SKEWLESS_HOME"
        ) from exc


def _last_writer(table: Table) -> str | None:
    """The Flink job that committed the table's newest snapshot."""
    snapshot = table.current_snapshot()
    return (snapshot.summary or {}).get(JOB_ID) if snapshot is not None else None


def _recompute(
    spec: ViewSpec, probes: list[tuple[str, int]], cfg: CatalogConfig, catalog: Catalog
) -> dict[tuple[str, int], dict[str, Any]]:
    """Known-time feature values at each distinct (entity, instant ms)."""
    distinct = list(dict.fromkeys(probes))
    labels = pa.table({
        spec.entity_key: pa.array([p[0] for p in distinct], pa.string()),
        "timestamp": pa.array([p[1] for p in distinct], pa.int64()),
    })
    result = join_history(labels, spec.name, cfg, spec.ttl_ms, "known_time", catalog=catalog)
    columns = {name: result[name].to_pylist() for name in spec.feature_names}
    return {p: {name: columns[name][i] for name in spec.feature_names} for i, p in enumerate(distinct)}


@dataclass(frozen=True, slots=True)
class _Update:
    valid_from: int  # ms
    written_at: int  # ms
    version: int
    values: dict[str, Any]

    @property
    def visible_at(self) -> int:
        """When known-time reads start to see it (the point-in-time join's rule)."""
        return max(self.valid_from, self.written_at)

    @property
    def order(self) -> tuple[int, int, int]:
        return (self.valid_from, self.written_at, self.version)


def _updates(table: Table, spec: ViewSpec, entities: set[str], until: int) -> dict[str, list[_Update]]:
    """Every update of `entities` written by `until` (ms), per entity."""
    from pyiceberg.expressions import And, In, LessThanOrEqual

    out: dict[str, list[_Update]] = {}
    keys = sorted(entities)
    for start in range(0, len(keys), 1000):
        chunk = set(keys[start : start + 1000])
        rows = table.scan(
            row_filter=And(In(spec.entity_key, chunk), LessThanOrEqual("written_at", iso(until))),
            selected_fields=(spec.entity_key, *spec.feature_names, "valid_from", "written_at", "version"),
        ).to_arrow()
        features = {name: rows[name].to_pylist() for name in spec.feature_names}
        columns = (
            rows[spec.entity_key].to_pylist(), epoch_ms_list(rows["valid_from"]),
            epoch_ms_list(rows["written_at"]), rows["version"].to_pylist(),
        )
        for i, (key, vf, wa, version) in enumerate(zip(*columns, strict=True)):
            out.setdefault(key, []).append(_Update(vf, wa, version, {n: features[n][i] for n in features}))
    return out


@dataclass(frozen=True)
class _Judgement:
    """Why a value that differs from the known-time value at served_at may still be legitimate."""

    superseded_at: int | None = None  # when the history moved past the served value; None: no excuse
    probe: int | None = None  # an instant whose known-time value the served value must equal
    row: _Update | None = None  # or the history update the served value must equal
    reason: str = ""


def _judge(entry: Served, updates: list[_Update], ttl_ms: int) -> _Judgement:
    t = entry.served_at
    visible = [u for u in updates if u.visible_at <= t]
    if entry.valid_from is None:
        # Served absent: stale since the first update still live at t became visible.
        live = [u.visible_at for u in visible if is_live(u.valid_from, t, ttl_ms)]
        if not live:
            return _Judgement(reason="served absent, yet the known-time value at served_at is not")
        return _Judgement(superseded_at=min(live))
    if entry.valid_from > t:
        return _Judgement(
            reason="the served update is valid after served_at: the event clock runs ahead of the serving clock"
        )
    if not is_live(entry.valid_from, t, ttl_ms):
        return _Judgement(reason="the served update had expired by served_at (TTL)")
    served = [u for u in updates if u.valid_from == entry.valid_from and u.written_at == entry.written_at]
    if not served:
        return _Judgement(reason="the served update is not in the history")
    mine = max(served, key=lambda u: u.order)
    newer = [u.visible_at for u in visible if u.order > mine.order]
    if not newer:
        return _Judgement(reason="the served update is the latest known at served_at, but its value differs")
    superseded_at = min(newer)
    if superseded_at > mine.visible_at:
        return _Judgement(superseded_at=superseded_at, probe=superseded_at - 1)
    if superseded_at == mine.visible_at:
        # Replaced within the same millisecond (one burst of timers): no instant shows it, so
        # the served value must equal the stored update itself.
        return _Judgement(superseded_at=superseded_at, row=mine)
    return _Judgement(reason="a newer update was already visible when the served one became visible")


def _check(
    entries: list[Served],
    spec: ViewSpec,
    cfg: CatalogConfig,
    catalog: Catalog,
    table: Table,
    lag_ms: int,
    report: VerifyReport,
) -> None:
    at_served = _recompute(spec, [(e.entity, e.served_at) for e in entries], cfg, catalog)
    suspects: list[Served] = []
    for entry in entries:
        tally = report.tally(entry.ref)
        tally.checked += 1
        if same_value(entry.value, at_served[(entry.entity, entry.served_at)][entry.feature]):
            tally.matched += 1
        else:
            suspects.append(entry)
    if not suspects:
        return
    history = _updates(table, spec, {e.entity for e in suspects}, max(e.served_at for e in suspects))
    judged = [(e, _judge(e, history.get(e.entity, []), spec.ttl_ms)) for e in suspects]
    probes = [(e.entity, j.probe) for e, j in judged if j.probe is not None]
    earlier = _recompute(spec, probes, cfg, catalog) if probes else {}
    for entry, judgement in judged:
        tally = report.tally(entry.ref)
        expected = at_served[(entry.entity, entry.served_at)][entry.feature]
        reason = judgement.reason
        if judgement.superseded_at is not None:
            lag = entry.served_at - judgement.superseded_at
            if judgement.probe is not None:
                then = earlier[(entry.entity, judgement.probe)][entry.feature]
            else:
                then = None if judgement.row is None else judgement.row.values[entry.feature]
            if not same_value(entry.value, then):
                reason = "not the known-time value at served_at, nor just before the update that replaced it"
            elif lag > lag_ms:
                reason = f"stale by {lag} ms, more than the allowed write lag of {lag_ms} ms"
            else:
                tally.lagged += 1
                tally.max_lag_ms = max(tally.max_lag_ms, lag)
                continue
        tally.mismatched += 1
        report.mismatches.append(
            Mismatch(entry.entity, entry.ref, entry.served_at, entry.value, expected, entry.valid_from, reason)
        )
