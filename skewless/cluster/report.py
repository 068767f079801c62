"""`skewless status --html`: the status text plus, per view, plots of freshness (p50, p99 and
the SLO's line) and throughput (events in and updates out per second) over time, for people
without Grafana. One self-contained file: the PNGs are inlined as data URIs, so it can be mailed.

Over time means one of two sources. When the stack's Prometheus answers (`stack up --with
prometheus`, SKEWLESS_PROMETHEUS_PORT) it already holds the history: the last `window_min`
minutes come from its range queries. Otherwise the job's endpoints are read once a second for
`sample_seconds` and each point is the difference between two reads: the writes acknowledged
and the events counted in that second.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from skewless.cluster.scrape import Sample, of_job, scrape, total
from skewless.cluster.status import EVENTS_IN, FRESHNESS_BUCKET, SHOWN_QUANTILES, UPDATES_OUT, JobStatus, Slo
from skewless.cluster.status import freshness_buckets, histogram_quantile
from skewless.devstack.prometheus import flink_ports
from skewless.errors import SkewlessError
from skewless.progress import Meter
from skewless.settings import LOCALHOST, Settings

NAN = float("nan")


@dataclass(frozen=True)
class Trend:
    """One view's freshness and throughput at a series of instants."""

    view: str
    times: tuple[float, ...]  # epoch seconds
    freshness: dict[float, tuple[float, ...]]  # quantile -> seconds (NaN: no write in that step)
    events_per_s: tuple[float, ...]
    updates_per_s: tuple[float, ...]
    slo: Slo | None


# -- from Prometheus ------------------------------------------------------------------------------


def prometheus_url(settings: Settings) -> str:
    return f"http://{LOCALHOST}:{settings.prometheus.port}"


def prometheus_answers(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(prometheus_url(settings) + "/-/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def query_range(settings: Settings, promql: str, start: float, end: float, step: float) -> dict[str, dict[float, float]]:
    """`promql` over [start, end]: per `view` label, its values by instant."""
    query = urllib.parse.urlencode({"query": promql, "start": start, "end": end, "step": step})
    url = f"{prometheus_url(settings)}/api/v1/query_range?{query}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except (OSError, ValueError) as exc:
        raise SkewlessError(f"Prometheus at {prometheus_url(settings)} did not answer a range query: {exc}") from None
    if body.get("status") != "success":
        raise SkewlessError(f"Prometheus refused {promql!r}: {body.get('error', body)}")
    return {r["metric"].get("view", ""): {float(t): float(v) for t, v in r["values"]} for r in body["data"]["result"]}


def prometheus_trends(settings: Settings, status: JobStatus, window_min: int) -> list[Trend]:
    """The job's views over the last `window_min` minutes, from the stack's Prometheus."""
    interval = settings.prometheus.scrape_interval_s
    end = time.time()
    start = end - window_min * 60
    step = max(float(interval), window_min * 60 / 300)  # at most ~300 points a line
    rate = f"[{max(4 * interval, math.ceil(2 * step))}s]"  # a rate needs two scrapes in its range
    selector = f'{{job_id="{status.target.job_id}"}}'
    quantiles = {
        q: query_range(settings, f"histogram_quantile({q}, sum by (view, le) (rate({FRESHNESS_BUCKET}{selector}{rate})))",
                       start, end, step)
        for q in SHOWN_QUANTILES
    }
    events = query_range(settings, f"sum by (view) (rate({EVENTS_IN}{selector}{rate}))", start, end, step)
    updates = query_range(settings, f"sum by (view) (rate({UPDATES_OUT}{selector}{rate}))", start, end, step)
    grid = sorted({t for by_view in (events, updates, *quantiles.values()) for values in by_view.values() for t in values})
    return [
        Trend(v.view, tuple(grid),
              {q: tuple(quantiles[q].get(v.view, {}).get(t, NAN) for t in grid) for q in SHOWN_QUANTILES},
              tuple(events.get(v.view, {}).get(t, NAN) for t in grid),
              tuple(updates.get(v.view, {}).get(t, NAN) for t in grid), v.slo)
        for v in status.views
    ]


# -- from the endpoints -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    at: float
    buckets: dict[str, float]
    events_in: float | None
    updates_out: float | None


def _read(samples: Sequence[Sample], view: str, at: float) -> _Reading:
    return _Reading(at, freshness_buckets(samples, view), total(samples, EVENTS_IN, view=view),
                    total(samples, UPDATES_OUT, view=view))


def _per_second(before: float | None, after: float | None, seconds: float) -> float:
    if before is None or after is None or after < before or seconds <= 0:
        return NAN  # no counter yet, or a reset (the job restarted between two reads)
    return (after - before) / seconds


def _step_quantile(q: float, before: dict[str, float], after: dict[str, float]) -> float:
    if set(before) != set(after) or any(after[le] < before[le] for le in after):
        return NAN
    value = histogram_quantile(q, {le: after[le] - before[le] for le in after})
    return NAN if value is None else value


def trend_of(view: str, readings: Sequence[_Reading], slo: Slo | None) -> Trend:
    """Each point from two consecutive readings: what happened between them."""
    pairs = list(zip(readings, readings[1:]))
    return Trend(
        view,
        tuple(b.at for _, b in pairs),
        {q: tuple(_step_quantile(q, a.buckets, b.buckets) for a, b in pairs) for q in SHOWN_QUANTILES},
        tuple(_per_second(a.events_in, b.events_in, b.at - a.at) for a, b in pairs),
        tuple(_per_second(a.updates_out, b.updates_out, b.at - a.at) for a, b in pairs),
        slo,
    )


def sampled_trends(statuses: Sequence[JobStatus], seconds: int) -> dict[str, list[Trend]]:
    """Read the endpoints once a second for `seconds`; per job id, its views' trends."""
    jobs = {s.target.job_id: s for s in statuses if s.has_metrics}
    if not jobs:
        return {}
    # Only the ports that serve these jobs are read again: the range may hold other homes' jobs.
    ports = [port for port, samples in scrape(flink_ports()).items()
             if any(s.labels.get("job_id") in jobs for s in samples)]
    readings: dict[tuple[str, str], list[_Reading]] = {(j, v.view): [] for j, s in jobs.items() for v in s.views}
    with Meter("sampling the jobs' metrics", total=seconds + 1, log_every_s=5.0) as meter:
        started = time.monotonic()
        for tick in range(seconds + 1):
            time.sleep(max(0.0, started + tick - time.monotonic()))
            at = time.time()
            samples = [s for page in scrape(ports).values() for s in page]
            for job_id, view in readings:
                readings[job_id, view].append(_read(of_job(samples, job_id), view, at))
            meter.advance()
    return {job_id: [trend_of(v.view, readings[job_id, v.view], v.slo) for v in s.views] for job_id, s in jobs.items()}


# -- the page ---------------------------------------------------------------------------------


def plot(trend: Trend) -> bytes:
    """A PNG: freshness above (quantiles and the SLO's line), throughput below."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the file is all we want
    import matplotlib.pyplot as plt
    from matplotlib.dates import DateFormatter
    from datetime import datetime

    when = [datetime.fromtimestamp(t) for t in trend.times]
    figure, (fresh, rate) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    try:
        for q, values in trend.freshness.items():
            fresh.plot(when, values, marker=".", label=f"p{q * 100:g}")
        if trend.slo is not None:
            fresh.axhline(trend.slo.max_s, color="red", linestyle="--", label=f"SLO {trend.slo}")
        if all(math.isnan(v) for values in trend.freshness.values() for v in values):
            fresh.text(0.5, 0.8, "no write acknowledged in this period", transform=fresh.transAxes, ha="center")
        fresh.set_ylabel("freshness (s)")
        fresh.set_title(trend.view)
        fresh.legend(loc="upper left")
        fresh.grid(alpha=0.3)
        rate.plot(when, trend.events_per_s, marker=".", label="events in / s")
        rate.plot(when, trend.updates_per_s, marker=".", label="updates out / s")
        rate.set_ylabel("per second")
        rate.legend(loc="upper left")
        rate.grid(alpha=0.3)
        rate.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))  # the default shows min:sec.micros on short spans
        figure.autofmt_xdate()
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=90)
        return out.getvalue()
    finally:
        plt.close(figure)


def write_html(out: Path, text: Sequence[str], statuses: Sequence[JobStatus], trends: dict[str, list[Trend]],
               source: str) -> None:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>skewless status</title>",
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em}</style></head><body>",
        "<h1>skewless status</h1>",
        f"<p>{html.escape(time.strftime('%Y-%m-%d %H:%M:%S %Z'))}; plots from {html.escape(source)}</p>",
        f"<pre>{html.escape(chr(10).join(text))}</pre>",
    ]
    for status in statuses:
        parts.append(f"<h2>{html.escape(status.target.lineage)}</h2>")
        views = trends.get(status.target.job_id, [])
        if not views:
            parts.append("<p>no metrics to plot</p>")
        for trend in views:
            png = base64.b64encode(plot(trend)).decode()
            parts.append(f"<h3>{html.escape(trend.view)}</h3><img alt='{html.escape(trend.view)}' "
                         f"src='data:image/png;base64,{png}'>")
    parts.append("</body></html>")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(parts))
    except OSError as exc:
        raise SkewlessError(f"cannot write the report {out}: {exc.strerror or exc}") from None


def report(settings: Settings, out: Path, text: Sequence[str], statuses: Sequence[JobStatus], *, window_min: int,
           sample_seconds: int) -> str:
    """Write the HTML report; returns where its plots came from."""
    running = [s for s in statuses if s.has_metrics]
    trends: dict[str, list[Trend]] = {}
    if running and prometheus_answers(settings):
        source = f"Prometheus at {prometheus_url(settings)}, the last {window_min} min"
        trends = {s.target.job_id: prometheus_trends(settings, s, window_min) for s in running}
    # A job started within the last scrape intervals has no rate in Prometheus yet: sample it instead.
    if not any(trend.times for views in trends.values() for trend in views):
        source = f"the jobs' endpoints, read every second for {sample_seconds} s"
        trends = sampled_trends(running, sample_seconds)
    write_html(out, text, statuses, trends, source)
    return source
