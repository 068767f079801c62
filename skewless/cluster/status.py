"""`skewless status`: per deployed (or `skewless run`) job and view, the state, the last
checkpoint's age, the Kafka lag, freshness p50/p99 against the view's SLO, and dead letters.

Job state and checkpoints come from where the job runs (Flink's REST API on a cluster, the
lineage's folder for a local job); everything else from the job's own Prometheus endpoints
(skewless.cluster.scrape), by the names of the catalogue (skewless.metrics). No Prometheus
server is needed: freshness quantiles come from the cumulative bucket counts (skewless.metrics.
bucket_quantile, PromQL's histogram_quantile estimate), over every write since the job started.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from skewless.checkpoints import Lineage, running_jobs
from skewless.cluster import deployments
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.cluster.scrape import Sample, of_job, scrape, total, totals_by
from skewless.devstack.prometheus import flink_ports
from skewless.errors import SkewlessError
from skewless.metrics import OPERATOR, SERIES, bucket_quantile
from skewless.settings import Settings

RUNNING = "RUNNING"
STOPPED = "STOPPED"  # a local deployment whose process is gone
CLUSTER_DOWN = "CLUSTER DOWN"
UNKNOWN = "UNKNOWN (being resubmitted?)"  # the cluster answers but does not know the job
FRESHNESS = OPERATOR + "view_freshness_seconds"
# The bucket series of the freshness histogram, as the reporter names it (under the `le` group).
FRESHNESS_BUCKET = next(s for s in SERIES if s.name == FRESHNESS).names()[0]
SLO_GAUGE = OPERATOR + "view_quantile_freshness_slo_seconds"
EVENTS_IN = OPERATOR + "view_events_in"
UPDATES_OUT = OPERATOR + "view_updates_out"
VIEW_DEAD_LETTERS = OPERATOR + "view_reason_code_dead_letters"
DECODE_DEAD_LETTERS = OPERATOR + "topic_reason_code_dead_letters"
LAG = OPERATOR + "pendingRecords"
SHOWN_QUANTILES = (0.5, 0.99)


@dataclass(frozen=True)
class Target:
    """A job to report on: where it runs and what its runner says of it."""

    lineage: str
    topic: str
    views: tuple[str, ...]  # metric labels, name@version
    job_id: str
    state: str
    where: str
    checkpoint_at_ms: int | None  # when its newest checkpoint completed; None before the first


@dataclass(frozen=True)
class Slo:
    quantile: float
    max_s: float

    @property
    def name(self) -> str:
        return f"p{self.quantile * 100:g}"

    def __str__(self) -> str:
        return f"{self.name} <= {_seconds(self.max_s)}"


@dataclass(frozen=True)
class ViewStatus:
    view: str
    events_in: float | None
    updates_out: float | None
    freshness: dict[float, float]  # quantile -> seconds; empty before the first acknowledged write
    beyond: frozenset[float]  # quantiles past the largest finite bound: their value is a lower bound
    slo: Slo | None
    at_slo: float | None  # freshness at the SLO's quantile
    dead_letters: dict[str, float]

    def breach(self) -> str | None:
        """How the view breaches its SLO; None within it, without one, or before any write."""
        if self.slo is None or self.at_slo is None or self.at_slo <= self.slo.max_s:
            return None
        shown = _seconds(self.at_slo, self.slo.quantile in self.beyond)
        return f"{self.view} breaches its freshness SLO: {self.slo.name} is {shown} > {_seconds(self.slo.max_s)}"

    @property
    def breached(self) -> bool:
        return self.breach() is not None


@dataclass(frozen=True)
class JobStatus:
    target: Target
    has_metrics: bool
    lag: float | None
    decode_dead_letters: dict[str, float] = field(default_factory=dict)
    views: tuple[ViewStatus, ...] = ()

    def problems(self) -> list[str]:
        """Why this job makes `skewless status` exit 1: not running, or an SLO breached."""
        found = []
        if self.target.state != RUNNING:
            found.append(f"job {self.target.job_id} of {self.target.lineage} is {self.target.state}")
        return found + [breach for view in self.views if (breach := view.breach()) is not None]


# -- the histogram --------------------------------------------------------------------------


def histogram_quantile(q: float, buckets: Mapping[str, float]) -> float | None:
    """The q-quantile of one scrape's cumulative buckets ({le label: count}, "+Inf" included);
    None without observations, or while a scrape lacks the +Inf bucket (the job's tasks are
    still registering their metrics)."""
    by_bound = {float(le): count for le, count in buckets.items()}  # float("+Inf") is inf
    if math.inf not in by_bound:
        return None
    return bucket_quantile(q, by_bound)


def beyond_bounds(q: float, buckets: Mapping[str, float]) -> bool:
    """Whether rank q * count lies in +Inf, where histogram_quantile answers the largest finite
    bound: then the truth is only known to be above it (a replay of old events, say)."""
    finite = [count for le, count in buckets.items() if le != "+Inf"]
    observations = buckets.get("+Inf", 0.0)
    return observations > 0 and q * observations > max(finite, default=0.0)


def freshness_buckets(samples: Sequence[Sample], view: str) -> dict[str, float]:
    """The view's freshness buckets summed over its subtasks."""
    return totals_by(samples, FRESHNESS_BUCKET, "le", view=view)


def view_slo(samples: Sequence[Sample], view: str) -> Slo | None:
    """The view's SLO as the job exports it (one gauge per subtask, all equal)."""
    for s in samples:
        if s.name == SLO_GAUGE and s.labels.get("view") == view and "quantile" in s.labels and not math.isnan(s.value):
            return Slo(float(s.labels["quantile"]), s.value)
    return None


def view_status(samples: Sequence[Sample], view: str) -> ViewStatus:
    buckets = freshness_buckets(samples, view)
    freshness = {q: v for q in SHOWN_QUANTILES if (v := histogram_quantile(q, buckets)) is not None}
    slo = view_slo(samples, view)
    return ViewStatus(
        view=view,
        events_in=total(samples, EVENTS_IN, view=view),
        updates_out=total(samples, UPDATES_OUT, view=view),
        freshness=freshness,
        beyond=frozenset(q for q in (*SHOWN_QUANTILES, *([slo.quantile] if slo else ())) if beyond_bounds(q, buckets)),
        slo=slo,
        at_slo=histogram_quantile(slo.quantile, buckets) if slo is not None else None,
        dead_letters=totals_by(samples, VIEW_DEAD_LETTERS, "reason_code", view=view),
    )


def job_status(target: Target, samples: Sequence[Sample]) -> JobStatus:
    """The job's status from the samples of its job_id (those of every endpoint, merged)."""
    mine = of_job(samples, target.job_id)
    if not mine:
        return JobStatus(target, has_metrics=False, lag=None)
    # Views from the job's own series too: a `skewless run` job's record names none.
    seen = {s.labels["view"] for s in mine if "view" in s.labels}
    views = sorted(set(target.views) | seen)
    return JobStatus(
        target,
        has_metrics=True,
        lag=total(mine, LAG),
        decode_dead_letters=totals_by(mine, DECODE_DEAD_LETTERS, "reason_code"),
        views=tuple(view_status(mine, v) for v in views),
    )


# -- the jobs ---------------------------------------------------------------------------------


def view_label(uid: str) -> str:
    """A view uid (`name-vN`) as its metrics label (`name@N`)."""
    name, _, version = uid.rpartition("-v")
    return f"{name}@{version}"


def targets(settings: Settings, topic: str | None = None) -> list[Target]:
    """The deployed jobs (cluster and local) and the `skewless run` ones, of `topic` if given."""
    local = dict(running_jobs(settings.home))
    found = []
    for deployed in deployments.all_deployments(settings.home):
        if deployed.cluster == deployments.LOCAL:
            info = local.pop(deployed.lineage, None)
            found.append(_local_target(settings, deployed.lineage, deployed.topic, deployed.views, info, deployed.job_id))
        else:
            found.append(_cluster_target(deployed))
    for name, info in local.items():
        # `skewless run --unbounded`: no record, but the lineage's name is `<topic>--<uid>+<uid>`.
        run_topic, _, uids = name.rpartition("--")
        found.append(_local_target(settings, name, run_topic, tuple(uids.split("+")), info, str(info["job_id"])))
    return [t for t in found if topic is None or t.topic == topic]


def _local_target(settings: Settings, lineage: str, topic: str, uids: Sequence[str], info: Mapping[str, object] | None,
                  job_id: str) -> Target:
    views = tuple(view_label(u) for u in uids)
    if info is None:
        return Target(lineage, topic, views, job_id, STOPPED, "local", None)
    job_id = str(info["job_id"])
    # The newest checkpoint of this job, not one of the lineage's earlier jobs it may have restored.
    points = [p for p in Lineage(settings.home, topic, list(uids)).restore_points()
              if p.kind == "checkpoint" and p.job_id == job_id]
    return Target(lineage, topic, views, job_id, RUNNING, f"local (pid {info['pid']})",
                  points[0].completed_at_ms if points else None)


def _cluster_target(deployed: deployments.Deployment) -> Target:
    rest = FlinkRest(deployed.cluster, timeout_s=3.0)
    views = tuple(view_label(u) for u in deployed.views)
    checkpoint_at = None
    try:
        job = rest.job(deployed.job_id)
        state = job.state if job is not None else UNKNOWN
        if job is not None:
            completed = (rest.checkpoints(deployed.job_id).get("latest") or {}).get("completed") or {}
            checkpoint_at = completed.get("latest_ack_timestamp")
    except ClusterError:
        state = CLUSTER_DOWN
    return Target(deployed.lineage, deployed.topic, views, deployed.job_id, state, deployed.cluster,
                  int(checkpoint_at) if checkpoint_at else None)


def collect(settings: Settings, topic: str | None = None) -> list[JobStatus]:
    """Every job's status from one scrape of the reporter's port range."""
    wanted = targets(settings, topic)
    if topic is not None and not wanted:
        raise SkewlessError(f"no job of topic {topic!r} is deployed or running (`skewless jobs` lists them)")
    pages = scrape(flink_ports()) if wanted else {}
    samples = [s for page in pages.values() for s in page]
    return [job_status(t, samples) for t in wanted]


# -- the text -----------------------------------------------------------------------------------


def _seconds(value: float | None, beyond: bool = False) -> str:
    if value is None:
        return "-"
    return (">" if beyond else "") + (f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s")


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _letters(letters: Mapping[str, float]) -> str:
    return ", ".join(f"{reason}={n:,.0f}" for reason, n in sorted(letters.items()) if n) or "none"


def render(statuses: Sequence[JobStatus], now_ms: int | None = None) -> list[str]:
    """The report's lines: a header per job, then a table of its views."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    lines: list[str] = []
    for status in statuses:
        t = status.target
        if t.checkpoint_at_ms is not None:
            age = f"{max(0, now_ms - t.checkpoint_at_ms) / 1000:.1f} s ago"
        else:  # whoever would know is gone
            age = "unknown" if t.state in (STOPPED, CLUSTER_DOWN, UNKNOWN) else "none yet"
        lines.append(f"{t.lineage}  job {t.job_id}  {t.state} on {t.where}")
        lines.append(f"  last checkpoint: {age}   Kafka lag: {_count(status.lag)}")
        if not status.has_metrics or not status.views:
            if t.state != RUNNING:
                lines.append("  no metrics: the job is not running")
            else:  # its tasks register their metrics as they start, a few seconds after the job
                lines.append(f"  no metrics yet: no endpoint on 127.0.0.1 serves the views of job {t.job_id}")
            lines.append("")
            continue
        lines.append(f"  decode dead letters: {_letters(status.decode_dead_letters)}")
        rows = [("view", "events in", "updates out", "fresh p50", "fresh p99", "SLO", "dead letters")]
        for v in status.views:
            slo = "-" if v.slo is None else f"{v.slo}: " + (
                "no writes yet" if v.at_slo is None
                else f"{'BREACHED' if v.breached else 'ok'} ({_seconds(v.at_slo, v.slo.quantile in v.beyond)})")
            fresh = [_seconds(v.freshness.get(q), q in v.beyond) for q in SHOWN_QUANTILES]
            rows.append((v.view, _count(v.events_in), _count(v.updates_out), *fresh, slo, _letters(v.dead_letters)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.extend("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
        lines.append("")
    return lines
