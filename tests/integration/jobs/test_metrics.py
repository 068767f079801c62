"""Counts an operator can see, for real: a running job serves its per-view metrics on a
loopback-only Prometheus endpoint, and a bounded run ends with its summary.

Each test produces a small topic of its own salted with every kind of malformed record, so
every count is known exactly: decode dead letters by reason code, the view's missing-key
letters, no late events (one ordered stream per partition), the newest event time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import threading
import time
import urllib.request

import pytest

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from features.transactions import USER_TRANSACTIONS
from skewless.checkpoints import Lineage
from skewless.events.producer import ProduceReport, produce
from skewless.events.synthetic import StreamShape
from skewless.runner import run_job
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from jobs.rows import view_label

HOUR_MS = 3_600_000
MALFORMED = 10  # two of each kind
# What each malformed kind of skewless.events.producer is dead-lettered as.
DECODE_CODES = {
    "garbage": "not_avro",
    "truncated": "corrupt_avro",
    "unknown_schema": "unknown_schema",
    "seconds_not_ms": "absurd_event_time",
}
VIEW_CODES = {"missing_key": "missing_key"}
# flink-conf/config.yaml: metrics.reporter.prom.port
PORTS = range(9249, 9300)
SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)\{(.*)\} (\S+)$")
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
PREFIX = "flink_taskmanager_job_task_operator_"


def small_topic(name: str) -> tuple[ViewSpec, Settings, ProduceReport, int]:
    """A view of a fresh topic with 400 events up to the last full hour and the malformed records."""
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic=f"{name}.transactions")
    settings = load_settings(cassandra={"keyspace": name}, iceberg={"namespace": name}, job={"checkpoint_interval_ms": 2_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    shape = StreamShape(seed=7, events=400, users=8, days=5, end_ms=end, disorder_ms=0)
    report = produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=2, malformed=MALFORMED, progress=False)
    assert sum(report.malformed.values()) == MALFORMED
    return spec, settings, report, end


def decoded(report: ProduceReport) -> int:
    """Records that pass decode, and so reach every view's row logic."""
    return report.events + sum(report.malformed[k] for k in VIEW_CODES)


def codes(report: ProduceReport, kinds: dict[str, str]) -> dict[str, int]:
    return {code: report.malformed[kind] for kind, code in kinds.items()}


def test_a_bounded_run_ends_with_its_summary(unique_name: str) -> None:
    spec, settings, report, end = small_topic(unique_name)
    summaries: list[dict] = []
    run_job(spec, settings, bounded=True, until=end + HOUR_MS // 2, on_summary=summaries.append)

    assert len(summaries) == 1
    summary = summaries[0]
    assert summary["topic"] == spec.source_topic
    assert summary["dead_letters"] == codes(report, DECODE_CODES)
    view = summary["views"][view_label(spec)]
    assert view["events_in"] == decoded(report)
    assert view["dead_letters"] == codes(report, VIEW_CODES)
    assert view["late_events"] == 0
    catalog = CatalogConfig.from_settings(settings)
    history = load_pyiceberg_catalog(catalog).load_table(f"{settings.iceberg.namespace}.{spec.name}_history")
    assert view["updates_out"] == history.scan().to_arrow().num_rows > report.events


def scrape(port: int) -> list[tuple[str, dict[str, str], float]] | None:
    """The samples the endpoint on 127.0.0.1:port serves, None when nothing listens there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            samples.append((match[1], dict(LABEL.findall(match[2])), float(match[3])))
    return samples


def job_endpoint(topic: str) -> tuple[int, list[tuple[str, dict[str, str], float]]]:
    """The port of the running job of `topic` (other jobs may hold other ports of the range) and its samples."""
    for port in PORTS:
        samples = scrape(port)
        if samples and any(topic in labels.get("job_name", "") for _, labels, _ in samples):
            return port, samples
    raise LookupError(f"no endpoint on 127.0.0.1:{PORTS.start}-{PORTS.stop - 1} serves the job of {topic}")


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float | None:
    """The one sample of `name` with `labels`; None when there is none."""
    found = [v for n, ls, v in samples if n == PREFIX + name and labels.items() <= ls.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def non_loopback_address() -> str | None:
    """An address of this machine other than loopback (the one a default route would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def mismatches(samples: list[tuple[str, dict[str, str], float]], spec: ViewSpec, report: ProduceReport) -> list[str]:
    """How the job's counts differ from those of the whole topic (none once it has read it all)."""
    view, topic = view_label(spec), spec.source_topic
    want: list[tuple[str, dict[str, str], float]] = [
        ("view_newest_event_time_ms", {"view": view}, report.max_event_time),
        ("view_events_in", {"view": view}, decoded(report)),
        ("view_late_events", {"view": view}, 0),
        ("dead_letters_decode", {}, sum(codes(report, DECODE_CODES).values())),
    ]
    want += [("view_reason_code_dead_letters", {"view": view, "reason_code": c}, n) for c, n in codes(report, VIEW_CODES).items()]
    want += [("topic_reason_code_dead_letters", {"topic": topic, "reason_code": c}, n) for c, n in codes(report, DECODE_CODES).items()]
    found = [(name, labels, n, value(samples, name, **labels)) for name, labels, n in want]
    updates = value(samples, "view_updates_out", view=view)
    return [f"{name} {labels}: {got}, want {n}" for name, labels, n, got in found if got != n] + (
        [] if updates is not None and updates >= report.events else [f"updates_out {updates} < {report.events} events"]
    )


def test_a_running_job_serves_per_view_metrics_on_loopback_only(unique_name: str) -> None:
    spec, settings, report, _ = small_topic(unique_name)
    lineage = Lineage(settings.home, spec.source_topic, [spec.uid])
    # As `skewless run --unbounded` runs it; it returns once stopped.
    outcome: list[BaseException | float] = []
    job = threading.Thread(target=lambda: outcome.append(run_unbounded(spec, settings)), daemon=True)
    job.start()
    try:
        deadline = time.monotonic() + 240
        wrong = ["no endpoint yet"]
        while wrong:
            assert job.is_alive(), f"the job ended: {outcome}"
            assert time.monotonic() < deadline, f"counts after 240 s: {wrong}"
            time.sleep(1)
            before = time.time() * 1000
            try:
                port, samples = job_endpoint(spec.source_topic)
            except LookupError as exc:
                wrong = [str(exc)]
                continue
            after = time.time() * 1000
            wrong = mismatches(samples, spec, report)

        # The lag is the wall clock at the scrape minus the newest event time.
        lag = value(samples, "view_event_time_lag_ms", view=view_label(spec))
        assert lag is not None and before - 1 <= lag + report.max_event_time <= after + 1
        other = non_loopback_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
    finally:
        stop(lineage, job)
    assert outcome and isinstance(outcome[0], float), outcome


def run_unbounded(spec: ViewSpec, settings: Settings) -> BaseException | float:
    try:
        return run_job(spec, settings, bounded=False, until=None)
    except BaseException as exc:  # handed to the test's thread
        return exc


def stop(lineage: Lineage, job: threading.Thread) -> None:
    """What `skewless stop` does: SIGTERM to the job process, which cancels the job."""
    deadline = time.monotonic() + 60
    while job.is_alive() and lineage.running() is None and time.monotonic() < deadline:
        time.sleep(0.5)  # not started yet
    running = lineage.running()
    if running is not None:
        os.kill(int(running["pid"]), signal.SIGTERM)
    job.join(timeout=120)
    assert not job.is_alive(), f"the job of {lineage.name} did not stop"
