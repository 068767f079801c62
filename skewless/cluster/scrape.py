"""Reading the jobs' Prometheus endpoints directly, with no Prometheus server in between.

Every Flink process of this machine (a local mini-cluster, a JobManager, each TaskManager, and
those of other homes too) serves Prometheus text on 127.0.0.1 at the first free port of the
reporter's range (flink-conf/config.yaml, `metrics.reporter.prom.port`; read by
skewless.devstack.prometheus.flink_ports). Which port a job got is
not recorded anywhere, so `skewless status` reads them all and keeps the samples whose `job_id`
label is the job's: a cluster job's series are spread over its TaskManagers' endpoints.
"""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from skewless.errors import SkewlessError
from skewless.settings import LOCALHOST

SCRAPE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """The samples of one Prometheus text page. Flink exports counters as gauges, buckets
    included, so every sample keeps its own name (no family suffix logic is needed)."""
    try:
        return [Sample(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(text) for s in family.samples]
    except ValueError as exc:  # the parser's only way of refusing a page
        raise SkewlessError(f"a metrics endpoint served text that is not Prometheus's format: {exc}") from None


def fetch(port: int, timeout_s: float = SCRAPE_TIMEOUT_S) -> str | None:
    """The page at 127.0.0.1:port/metrics; None when nothing (or nothing HTTP) answers there."""
    try:
        with urllib.request.urlopen(f"http://{LOCALHOST}:{port}/metrics", timeout=timeout_s) as response:
            return response.read().decode()
    except (OSError, urllib.error.HTTPError, ValueError):
        return None


def scrape(ports: Iterable[int]) -> dict[int, list[Sample]]:
    """The samples of every port of `ports` that serves metrics, by port. The ports are read
    concurrently: a closed one refuses at once, but a busy process may take a second to answer."""
    wanted = list(ports)
    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(wanted))) as pool:
        pages = list(pool.map(fetch, wanted))
    found = {}
    for port, page in zip(wanted, pages):
        if page is None:
            continue
        try:
            found[port] = parse(page)
        except SkewlessError:
            continue  # some other program on a port of the range: not a Flink endpoint
    return found


def of_job(samples: Iterable[Sample], job_id: str) -> list[Sample]:
    return [s for s in samples if s.labels.get("job_id") == job_id]


def total(samples: Sequence[Sample], name: str, **labels: str) -> float | None:
    """The sum of `name` over the samples carrying `labels` (e.g. over subtasks); None if none does.
    NaN samples (a gauge Flink could not read) are left out."""
    values = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) if finite else None


def totals_by(samples: Sequence[Sample], name: str, label: str, **labels: str) -> dict[str, float]:
    """`sum by (label)` of `name` over the samples carrying `labels`."""
    out: dict[str, float] = defaultdict(float)
    for s in samples:
        if s.name == name and label in s.labels and labels.items() <= s.labels.items() and not math.isnan(s.value):
            out[s.labels[label]] += s.value
    return dict(out)
