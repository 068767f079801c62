"""`python -m bench.e2e`: the end-to-end benchmark of the real pipeline job.

Kafka (Avro single-object events) -> jobs/pipeline.py (decode, row logic, tiled windows)
-> Cassandra + Iceberg, exactly-once checkpoints every 10 s, in the bench keyspace and
namespace (`skewless_bench`). It only launches the job through `skewless.runner.run_job`,
so it measures whichever aggregation operator the pipeline runs.

1. Max rate: the workload of `bench.workload` is produced once into a topic named after
   its parameters (reused while it holds exactly the expected record count), then the job
   reads it bounded. The rate is events / (last - first `written_at` of this run's rows in
   the Iceberg history): the operator's wall clock at its first and last update, which
   leaves out job start-up and the final checkpoint at the end of input.
2. Latency at half that rate: the job runs unbounded on a fresh topic; an open-loop
   producer sends events at a fixed rate (event time = wall clock at send, random users of
   the workload); for a few sampled events per second, a poller reads the entity's
   Cassandra row every ~2 ms until its valid_from reaches the event's time.

Beside the headline figures it records where the time goes: per task of the bounded run,
Flink's busy / back-pressured / idle time (`e2e_task_time`: the busy task that is not
back-pressured bounds the rate); per latency sample, send -> Kafka ack, send -> the
operator's `written_at`, and `written_at` -> visible in Cassandra; which samples met a
checkpoint, and each task's checkpoint phases (`e2e_latency_checkpoint_breakdown`). The
samples are also written to bench/out/e2e-latency-samples.csv.

Figures go to bench/results.json (keys `e2e_*`). Flink's own output goes to
bench/out/logs/e2e-*.log. The bench keyspace, namespace and workload topics are reused
across runs (the history table is purged before each max-rate run); the latency run's
topics are deleted after it.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import heapq
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from bench.__main__ import _env_int
from bench.machine import alive, command_line, descendants, listening_ports, load_1m, process_cpu_seconds
from bench.progress import JobWatcher
from bench.results import percentile
from bench.workload import OUT, Workload, view_spec
from skewless.progress import Meter

KEYSPACE = NAMESPACE = "skewless_bench"
CHECKPOINT_INTERVAL_MS = 10_000
PARTITIONS = 2
TOPIC_PREFIX = "bench-e2e"
LOGS = OUT / "logs"
JOB_START_TIMEOUT_S = 300.0
# Bump when the events' encoding changes: a topic filled by an older build is not reused.
WIRE_FORMAT = 2  # 2: Avro single-object fingerprint little-endian, as the specification says
PRODUCE_EVENTS_PER_S = 10_000  # skewless.events.producer.produce on this machine, roughly


class E2EError(RuntimeError):
    pass


# ---------------------------------------------------------------- pure parts (unit tested)


def _git_commit() -> str:
    """The commit the measured code came from, "+changes" when the working tree differs."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=OUT.parents[1], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def topic_name(workload: Workload) -> str:
    """The pre-filled topic of a workload: its parameters and the wire format, so another shape
    or encoding gets another topic."""
    from bench.workload import DISORDER_MS

    w = workload
    shape = f"{w.events}ev-{w.users}u-{w.days}d-seed{w.seed}-disorder{DISORDER_MS}-p{PARTITIONS}"
    return f"{TOPIC_PREFIX}-{shape}-wire{WIRE_FORMAT}"


def plan_topic(records: int | None, expected: int) -> str:
    """What to do with the workload topic holding `records` (None: no such topic):
    "reuse" it, "produce" into a new one, or "recreate" it (half-filled or foreign)."""
    if records is None:
        return "produce"
    return "reuse" if records == expected else "recreate"


@dataclasses.dataclass(frozen=True)
class RateSchedule:
    """Open-loop sending: event i is due `i / rate` seconds after the start, whatever happened
    to the ones before (a late producer catches up instead of lowering the rate)."""

    rate: float

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")

    def due(self, elapsed_s: float) -> int:
        """How many events are due by `elapsed_s` (event 0 is due at once)."""
        return 0 if elapsed_s < 0 else math.floor(elapsed_s * self.rate + 1e-9) + 1

    def at(self, i: int) -> float:
        """Seconds after the start when event i is due."""
        return i / self.rate


def sample_every(rate: float, samples_per_s: float) -> int:
    """Sample every n-th event to get about `samples_per_s` samples a second."""
    if rate <= 0 or samples_per_s <= 0:
        raise ValueError("rate and samples_per_s must be positive")
    return max(1, round(rate / samples_per_s))


def task_label(vertex_name: str) -> str:
    """A short name for one of the pipeline's tasks (a chain of operators) in Flink's REST."""
    for marker, label in (
        ("Source:", "source"), ("tiles ", "tiles"), ("dead_letters", "dead-letters"),
        ("pre-commit", "iceberg-pre-commit"), ("Committer", "iceberg-committer"),
    ):  # fmt: skip
        if marker in vertex_name:
            return label
    return vertex_name.split(" -> ")[0][:30]


def overlaps(start: float, end: float, windows: Sequence[tuple[float, float]]) -> bool:
    """Whether [start, end] meets any of the (closed) windows."""
    return any(w_start <= end and start <= w_end for w_start, w_end in windows)


# ---------------------------------------------------------------- processes and Flink REST


REST_LOG_LINE = re.compile(r"Rest endpoint listening at [^\s:]+:(\d+)")


def _flink_logs() -> dict[Path, int]:
    from skewless.devstack.jars import state_root

    return {p: p.stat().st_size for p in (state_root() / "logs").glob("flink-*.log")}


def _rest(method: str, url: str, timeout: float = 2.0) -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


@contextmanager
def child_output_to(log: Path) -> Iterator[None]:
    """Point fds 1 and 2 at `log` (what a child started meanwhile inherits, e.g. the job's
    Flink output); this process keeps printing to the original stdout/stderr."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    streams = (sys.stdout, sys.stderr)
    with log.open("ab") as sink:
        sys.stdout = os.fdopen(os.dup(saved[0]), "w", buffering=1)
        sys.stderr = os.fdopen(os.dup(saved[1]), "w", buffering=1)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    try:
        yield
    finally:
        for mine in (sys.stdout, sys.stderr):
            mine.flush()
            mine.close()
        sys.stdout, sys.stderr = streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


class PipelineJob:
    """`run_job` in a thread, with its Flink REST endpoint found and a reliable stop.

    The mini-cluster picks a random REST port; it is the one a new "Rest endpoint listening"
    log line names that a process of this job's tree listens on. Every pid of the tree is
    remembered while it runs, so `stop` can end even a JVM its parent left behind.
    """

    def __init__(self, spec: Any, settings: Any, *, bounded: bool, until: int | None, group_id: str, log: Path) -> None:
        self.spec, self.settings, self.bounded, self.until, self.group_id, self.log = spec, settings, bounded, until, group_id, log
        self.error: BaseException | None = None
        self.wall_s: float | None = None
        self.port: int | None = None
        self.known: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, name="pipeline-job", daemon=True)
        self._logs: dict[Path, int] = {}

    def _run(self) -> None:
        from skewless.runner import run_job

        try:
            self.wall_s = run_job(self.spec, self.settings, bounded=self.bounded, until=self.until, group_id=self.group_id)
        except BaseException as exc:  # reported by wait()/the caller
            self.error = exc

    def start(self) -> "PipelineJob":
        self._logs = _flink_logs()
        with child_output_to(self.log):
            self._thread.start()
            # The job's process inherits the redirected fds when it is forked: wait for it
            # (run_job may first run short-lived helpers, e.g. a Maven build of the sink jar).
            deadline = time.monotonic() + 600
            while self._thread.is_alive() and not self._forked() and time.monotonic() < deadline:
                time.sleep(0.05)
        return self

    def _forked(self) -> bool:
        return any("jobs.pipeline" in command_line(pid) for pid in self._pipeline_pids())

    def _pipeline_pids(self) -> dict[int, int]:
        tree = descendants(os.getpid())
        self.known.update(tree)
        return tree

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def find_rest(self, timeout_s: float = JOB_START_TIMEOUT_S) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check()
            tree = self._pipeline_pids()
            ports = listening_ports(list(tree))
            for path, offset in {**{p: 0 for p in _flink_logs()}, **self._logs}.items():
                try:
                    with path.open("rb") as f:
                        f.seek(offset)
                        text = f.read().decode(errors="replace")
                except OSError:
                    continue
                for port in map(int, REST_LOG_LINE.findall(text)):
                    if port in ports:
                        self.port = port
                        return port
            time.sleep(0.5)
        raise E2EError(f"the job's Flink REST endpoint did not come up within {timeout_s:.0f} s; see {self.log}")

    def job_id(self) -> str | None:
        jobs = _rest("GET", f"http://127.0.0.1:{self.port}/jobs/overview")["jobs"]
        running = [j["jid"] for j in jobs if j["state"] in ("CREATED", "INITIALIZING", "RUNNING")]
        return running[0] if running else None

    def wait_running(self, line: Meter, timeout_s: float = JOB_START_TIMEOUT_S) -> str:
        """Wait until every task of the job runs (Python operators opened, sinks connected)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check()
            self._pipeline_pids()
            try:
                jid = self.job_id()
                if jid:
                    vertices = _rest("GET", f"http://127.0.0.1:{self.port}/jobs/{jid}")["vertices"]
                    states = [v["status"] for v in vertices]
                    if states and all(s == "RUNNING" for s in states):
                        # Each task is a chain of operators; a record crosses the network
                        # (and waits for a buffer flush) between tasks.
                        line.done("tasks: " + " | ".join(f"[{v['name']}]" for v in vertices))
                        return jid
                    line.show(f"tasks {sum(s == 'RUNNING' for s in states)}/{len(states)} running")
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise E2EError(f"the job's tasks were not all running after {timeout_s:.0f} s; see {self.log}")

    def check(self) -> None:
        if not self._thread.is_alive() and self.error is not None:
            raise E2EError(f"the pipeline job failed: {self.error}; log {self.log}:\n{_tail(self.log)}")

    def wait(self) -> float:
        while self._thread.is_alive():
            self._thread.join(1.0)
            self._pipeline_pids()
        self.check()
        assert self.wall_s is not None
        return self.wall_s

    def stop(self, grace_s: float = 30.0) -> None:
        """Cancel the job through REST, then end the child and its JVM by pid if they linger."""
        if self._thread.is_alive():
            self._pipeline_pids()
            if self.port is not None:
                try:
                    jid = self.job_id()
                    if jid:
                        _rest("PATCH", f"http://127.0.0.1:{self.port}/jobs/{jid}?mode=cancel")
                except (OSError, ValueError, KeyError):
                    pass
            self._thread.join(grace_s)
        for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            alive = self._alive()
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + wait_s
            while self._alive() and time.monotonic() < deadline:
                time.sleep(0.1)
        self._thread.join(5.0)

    def _alive(self) -> list[int]:
        return [pid for pid, created in self.known.items() if alive(pid, created)]


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class Periodic:
    """A daemon thread calling `tick()` every `every_s` while in a `with` block, and once at its end."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.tick()

    def __enter__(self) -> "Periodic":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.tick()


class CheckpointTracker(Periodic):
    """Collects the job's completed checkpoints from Flink's REST history while the job runs
    (the history keeps only the latest few): when each ran, and per task how long its
    barrier took to arrive (start delay), to align, and its snapshot's sync and async parts."""

    PHASES = ("start_delay", "alignment", "sync", "async")

    def __init__(self, port: int, jid: str, every_s: float = 5.0) -> None:
        super().__init__(every_s)
        self.url = f"http://127.0.0.1:{port}/jobs/{jid}"
        self.seen: dict[int, dict[str, Any]] = {}
        self.phases: dict[tuple[str, str], list[float]] = {}
        self._tasks: dict[str, str] | None = None

    def tick(self) -> None:
        try:
            if self._tasks is None:
                self._tasks = {v["id"]: task_label(v["name"]) for v in _rest("GET", self.url)["vertices"]}
            for c in _rest("GET", f"{self.url}/checkpoints").get("history", []):
                if c.get("status") == "COMPLETED" and c["id"] not in self.seen:
                    self.seen[c["id"]] = c
                    self._details(c["id"])
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass

    def _details(self, checkpoint: int) -> None:
        for vid, task in (self._tasks or {}).items():
            stats = _rest("GET", f"{self.url}/checkpoints/details/{checkpoint}/subtasks/{vid}")
            for sub in stats.get("subtasks", []):
                measured = {
                    "start_delay": sub.get("start_delay"),
                    "alignment": (sub.get("alignment") or {}).get("duration"),
                    "sync": (sub.get("checkpoint") or {}).get("sync"),
                    "async": (sub.get("checkpoint") or {}).get("async"),
                }
                for phase, ms in measured.items():
                    if isinstance(ms, (int, float)) and ms >= 0:
                        self.phases.setdefault((task, phase), []).append(float(ms))

    def breakdown(self) -> str:
        """`task: phase p50/max ms, ...; task: ...` over the checkpoints seen."""
        parts = []
        for task in dict.fromkeys(t for t, _ in self.phases):
            cells = [
                f"{phase} {percentile(self.phases[(task, phase)], 50):.0f}/{max(self.phases[(task, phase)]):.0f}"
                for phase in self.PHASES
                if (task, phase) in self.phases
            ]
            parts.append(f"{task}: {', '.join(cells)}")
        return "; ".join(parts) + " (ms, p50/max per checkpoint and subtask)" if parts else ""

    def windows(self) -> list[tuple[float, float]]:
        """(start, end) in epoch seconds of each completed checkpoint."""
        return [
            (c["trigger_timestamp"] / 1000, (c["trigger_timestamp"] + c["end_to_end_duration"]) / 1000)
            for c in self.seen.values()
        ]

    def durations_ms(self) -> list[float]:
        return [float(c["end_to_end_duration"]) for c in self.seen.values()]


class TaskTime(Periodic):
    """Where each task of the job spends its time (Flink's busy / back-pressured / idle ms per
    second, the max over its subtasks), sampled while it runs: the busy task that is not
    back-pressured is the bottleneck."""

    METRICS = ("busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "idleTimeMsPerSecond")

    def __init__(self, port: int, every_s: float = 5.0) -> None:
        super().__init__(every_s)
        self.base = f"http://127.0.0.1:{port}"
        self.samples: dict[tuple[str, str], list[float]] = {}

    def tick(self) -> None:
        try:
            jobs = [j["jid"] for j in _rest("GET", f"{self.base}/jobs/overview")["jobs"] if j["state"] == "RUNNING"]
            if not jobs:
                return
            for v in _rest("GET", f"{self.base}/jobs/{jobs[0]}")["vertices"]:
                query = ",".join(self.METRICS)
                url = f"{self.base}/jobs/{jobs[0]}/vertices/{v['id']}/subtasks/metrics?get={query}&agg=max"
                for m in _rest("GET", url):
                    value = float(m["max"])
                    if math.isfinite(value):
                        self.samples.setdefault((task_label(v["name"]), m["id"]), []).append(value)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not up yet, or already gone

    def split(self) -> str:
        """`task: busy N%, back-pressured N%, idle N%; ...`, means over the samples."""
        parts = []
        for task in dict.fromkeys(t for t, _ in self.samples):
            cells = []
            for metric, name in zip(self.METRICS, ("busy", "back-pressured", "idle")):
                values = self.samples.get((task, metric))
                if values:
                    cells.append(f"{name} {sum(values) / len(values) / 10:.0f}%")
            parts.append(f"{task}: {', '.join(cells)}")
        return "; ".join(parts)


class LoadSampler(Periodic):
    """The 1-min load average every few seconds while a phase runs."""

    def __init__(self, every_s: float = 5.0) -> None:
        super().__init__(every_s)
        self.samples: list[float] = [load_1m()]

    def tick(self) -> None:
        self.samples.append(load_1m())

    def figures(self, prefix: str) -> dict[str, float]:
        return {
            f"{prefix}_loadavg_1m_max": round(max(self.samples), 2),
            f"{prefix}_loadavg_1m_mean": round(sum(self.samples) / len(self.samples), 2),
        }


# ---------------------------------------------------------------- Kafka


def topic_records(bootstrap: str, topic: str) -> int | None:
    """Records a topic holds (end minus beginning offsets of every partition); None if absent."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = consumer.end_offsets(tps)
        begins = consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)
    finally:
        consumer.close()


def delete_topics(bootstrap: str, topics: Sequence[str]) -> None:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import UnknownTopicOrPartitionError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skewless-bench-e2e")
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            admin.delete_topics(doomed, timeout_ms=30_000)
    except UnknownTopicOrPartitionError:
        pass
    finally:
        admin.close()


def ensure_workload_topic(workload: Workload, bootstrap: str) -> tuple[str, bool]:
    """The workload's topic, produced unless it already holds exactly the workload; (topic, reused)."""
    from skewless.events.producer import produce

    topic = topic_name(workload)
    records = topic_records(bootstrap, topic)
    action = plan_topic(records, workload.events)
    line = Meter("e2e topic")
    if action == "reuse":
        line.done(f"reusing {topic} ({records:,} records)")
        return topic, True
    if action == "recreate":
        line.done(f"{topic} holds {records:,} records, not {workload.events:,}: deleting it")
        delete_topics(bootstrap, [topic])
        for _ in range(60):  # deletion is asynchronous on the broker
            if topic_records(bootstrap, topic) is None:
                break
            time.sleep(1)
    line.show(f"producing {workload.events:,} events into {topic} (the generator draws them all first)", force=True)
    report = produce(workload.shape, topic, bootstrap, partitions=PARTITIONS, malformed=0, progress=True)
    held = topic_records(bootstrap, topic)
    if held != workload.events:
        raise E2EError(f"{topic} holds {held} records after producing {report.events}")
    line.done(f"produced {report.events:,} events into {topic}")
    return topic, False


# ---------------------------------------------------------------- settings, sinks


def bench_settings() -> Any:
    from skewless.settings import load_settings

    return load_settings(cassandra={"keyspace": KEYSPACE}, iceberg={"namespace": NAMESPACE}, job={"checkpoint_interval_ms": CHECKPOINT_INTERVAL_MS, "parallelism": 1})


def _catalog(settings: Any) -> Any:
    from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog

    return load_pyiceberg_catalog(CatalogConfig.from_settings(settings))


def purge_history(settings: Any, spec: Any) -> None:
    """Drop the bench view's history table (the job recreates it): keeps the bench namespace small."""
    from connectors.iceberg.history import history_identifier
    from pyiceberg.exceptions import NoSuchTableError

    try:
        _catalog(settings).purge_table(history_identifier(settings.iceberg.namespace, spec.name))
    except NoSuchTableError:
        pass


def history_span(settings: Any, spec: Any, since_ms: int) -> tuple[int, int, int]:
    """(rows, first written_at, last written_at) of the history rows written since `since_ms`."""
    from connectors.iceberg.history import history_identifier
    from pyiceberg.expressions import GreaterThanOrEqual

    table = _catalog(settings).load_table(history_identifier(settings.iceberg.namespace, spec.name))
    since = datetime.fromtimestamp(since_ms / 1000, tz=timezone.utc).isoformat()
    rows = table.scan(row_filter=GreaterThanOrEqual("written_at", since), selected_fields=("written_at",)).to_arrow()
    if rows.num_rows == 0:
        raise E2EError("the job wrote no history rows")
    import pyarrow.compute as pc

    micros = rows.column("written_at").cast("int64")
    return rows.num_rows, pc.min(micros).as_py() // 1000, pc.max(micros).as_py() // 1000


# ---------------------------------------------------------------- phase 1: max rate


def measure_max_rate(workload: Workload, settings: Any) -> dict[str, Any]:
    topic, reused = ensure_workload_topic(workload, settings.kafka.bootstrap)
    spec = dataclasses.replace(view_spec(), source_topic=topic)
    purge_history(settings, spec)
    since_ms = int(time.time() * 1000)
    line = Meter(f"e2e max rate, {workload.events:,} events")
    line.show("starting the job (bounded)", force=True)
    job = PipelineJob(
        spec, settings, bounded=True, until=workload.end_ms, group_id=f"bench-e2e-{uuid.uuid4().hex[:12]}",
        log=LOGS / "e2e-max-rate.log",
    )  # fmt: skip
    with LoadSampler() as load:
        try:
            job.start()
            port = job.find_rest()
            source = "".join(c if c.isalnum() else "_" for c in topic) + "_raw"
            with JobWatcher(port, workload.events, line, source=source), TaskTime(port) as tasks:
                wall_s = job.wait()
        finally:
            job.stop()
    updates, first_ms, last_ms = history_span(settings, spec, since_ms)
    span_s = max(last_ms - first_ms, 1) / 1000
    rate = workload.events / span_s
    line.done(f"{rate:,.0f} events/s over {span_s:.1f} s of processing ({wall_s:.1f} s wall, {updates:,} updates)")
    return {
        "e2e_events_per_s": round(rate, 1),
        "e2e_events": workload.events,
        "e2e_users": workload.users,
        "e2e_days": workload.days,
        "e2e_updates": updates,
        "e2e_processing_s": round(span_s, 2),
        "e2e_wall_s": round(wall_s, 2),
        "e2e_method": (
            "events / (last - first written_at of this run's Iceberg history rows): the aggregation "
            "operator's wall clock at its first and last update; excludes job start-up and the final checkpoint"
        ),
        "e2e_task_time": tasks.split() + " (means of samples every 5 s while the bounded job ran)",
        "e2e_topic": topic,
        "e2e_topic_reused": reused,
        **load.figures("e2e_max_rate"),
    }


# ---------------------------------------------------------------- phase 2: latency


@dataclasses.dataclass
class Sample:
    key: str
    event_ms: int
    sent: float  # time.time() just before the send
    acked: float | None = None
    seen: float | None = None
    written_at: int | None = None
    polls: int = 0


class Poller:
    """Polls each sampled entity's Cassandra row (async driver calls, at most one in flight
    per sample, every `interval_s`) until its valid_from reaches the event's time.

    At most `max_pending` samples are followed (more are skipped, and counted); when many
    are pending (a stalled job) each is polled less often, so the poller never asks more
    than `max_queries_per_s` of Cassandra, and the machine, whatever the job does."""

    def __init__(
        self, session: Any, statement: Any, interval_s: float, max_pending: int, give_up_s: float, max_queries_per_s: float = 1500.0
    ) -> None:
        self.session, self.statement = session, statement
        self.interval_s, self.max_pending, self.give_up_s = interval_s, max_pending, give_up_s
        self.max_queries_per_s = max_queries_per_s
        self.done: list[Sample] = []
        self.abandoned: list[Sample] = []
        self.skipped = 0
        self.errors = 0
        self._due: list[tuple[float, int, Sample]] = []  # (monotonic due, tie-breaker, sample)
        self._pending = 0
        self._seq = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cassandra-poller", daemon=True)

    @property
    def pending(self) -> int:
        return self._pending

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def submit(self, sample: Sample) -> bool:
        with self._lock:
            if self._pending >= self.max_pending:
                self.skipped += 1
                return False
            self._pending += 1
            self._push(time.monotonic(), sample)
        self._wake.set()
        return True

    def _push(self, due: float, sample: Sample) -> None:
        self._seq += 1
        heapq.heappush(self._due, (due, self._seq, sample))

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            ready = []
            with self._lock:
                while self._due and self._due[0][0] <= now:
                    ready.append(heapq.heappop(self._due)[2])
                wait = self._due[0][0] - now if self._due else 0.05
            for sample in ready:
                self._issue(sample)
            self._wake.wait(max(0.0, min(wait, 0.05)))
            self._wake.clear()

    def _issue(self, sample: Sample) -> None:
        sample.polls += 1
        issued = time.monotonic()
        try:
            future = self.session.execute_async(self.statement, (sample.key,))
        except Exception:
            self._retry(sample, issued, error=True)
            return
        future.add_callbacks(self._answered, self._failed, callback_args=(sample, issued), errback_args=(sample, issued))

    def _answered(self, rows: Any, sample: Sample, issued: float) -> None:
        now = time.time()
        row = rows[0] if rows else None
        if row is not None and row[0] is not None and row[0] >= sample.event_ms:
            sample.seen = now
            sample.written_at = row[1]
            with self._lock:
                self._pending -= 1
                self.done.append(sample)
            return
        self._retry(sample, issued)

    def _failed(self, exc: BaseException, sample: Sample, issued: float) -> None:
        self._retry(sample, issued, error=True)

    def _retry(self, sample: Sample, issued: float, error: bool = False) -> None:
        with self._lock:
            self.errors += error
            if time.time() - sample.sent > self.give_up_s:
                self._pending -= 1
                self.abandoned.append(sample)
                return
            interval = max(self.interval_s, self._pending / self.max_queries_per_s)
            self._push(max(time.monotonic(), issued + interval), sample)
        self._wake.set()


def live_record(rng: random.Random, users: int, seq: int, now_ms: int) -> dict[str, Any]:
    """An event like the workload's (skewless.events.synthetic), timed now."""
    from skewless.events.synthetic import CURRENCIES, user_id

    u = rng.randrange(users)
    return {
        "event_id": f"live-{seq:09d}",
        "user_id": user_id(u),
        "merchant_id": f"merchant-{rng.randrange(500):04d}",
        "amount": round(rng.lognormvariate(3.5, 0.8), 2),
        "currency": CURRENCIES[u % len(CURRENCIES)],
        "event_time": now_ms,
    }


@dataclasses.dataclass
class SendStats:
    sent: int = 0
    max_behind_s: float = 0.0  # how late the open-loop producer ever was against its schedule
    seconds: float = 0.0


def send_open_loop(
    producer: Any, codec: Any, topic: str, rate: float, seconds: float, users: int, rng: random.Random,
    stop: threading.Event, on_sent: Any, line: Meter, label: str, tick_s: float = 0.002,
) -> SendStats:  # fmt: skip
    """Send `rate` events/s for `seconds`, each at its due time; `on_sent(seq, record, sent, future)`."""
    schedule = RateSchedule(rate)
    total = schedule.due(seconds) - 1
    stats = SendStats()
    start = time.monotonic()
    while stats.sent < total and not stop.is_set():
        elapsed = time.monotonic() - start
        due = min(schedule.due(elapsed), total)
        if due > stats.sent:
            stats.max_behind_s = max(stats.max_behind_s, elapsed - schedule.at(stats.sent))
        while stats.sent < due:
            sent = time.time()
            record = live_record(rng, users, stats.sent, int(sent * 1000))
            future = producer.send(topic, key=record["user_id"].encode(), value=codec.encode(record), timestamp_ms=record["event_time"])
            on_sent(stats.sent, record, sent, future)
            stats.sent += 1
        line.show(f"{label}: sent {stats.sent:,}/{total:,}")
        # Waking for every event costs more CPU than sending it: wake at most every tick_s
        # and send what is due (each event's time is still its own send time).
        time.sleep(max(tick_s, min(schedule.at(stats.sent) - (time.monotonic() - start), 0.01)))
    stats.seconds = time.monotonic() - start
    return stats


def measure_latency(workload: Workload, settings: Any, rate: float, seconds: float, warmup_s: float, samples_per_s: float, poll_ms: float) -> dict[str, Any]:
    from kafka import KafkaProducer

    from connectors.cassandra.session import connect_cluster
    from connectors.cassandra.views import view_table
    from connectors.kafka.topics import ensure_topic
    from jobs.sources import dead_letter_topic
    from skewless.events.producer import transaction_codec

    bootstrap = settings.kafka.bootstrap
    topic = f"{TOPIC_PREFIX}-live-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    spec = dataclasses.replace(view_spec(), source_topic=topic)
    ensure_topic(bootstrap, topic, PARTITIONS)
    line = Meter(f"e2e latency at {rate:,.0f} events/s")
    job = PipelineJob(spec, settings, bounded=False, until=None, group_id=f"bench-e2e-{uuid.uuid4().hex[:12]}", log=LOGS / "e2e-latency.log")
    cluster = producer = poller = checkpoints = None
    stop = threading.Event()
    cpu_before = process_cpu_seconds()
    try:
        with LoadSampler() as load:
            line.show("starting the job (unbounded)", force=True)
            job.start()
            job.find_rest()
            jid = job.wait_running(line)
            line.show("job running", force=True)
            checkpoints = CheckpointTracker(job.port, jid).__enter__()
            cluster = connect_cluster(settings.cassandra.hosts, settings.cassandra.local_dc, consistency="ONE", request_timeout_s=5.0)
            session = cluster.connect()
            statement = session.prepare(
                f"SELECT toUnixTimestamp(valid_from), toUnixTimestamp(written_at) FROM {settings.cassandra.keyspace}.{view_table(spec)} "
                f"WHERE {spec.entity_key} = ?"
            )
            poller = Poller(session, statement, poll_ms / 1000, max_pending=512, give_up_s=60.0)
            poller.start()
            # linger 5 ms: what a latency-minded producer would use; 1 ms costs kafka-python
            # about twice the CPU, which this 2-core machine would take from the job.
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, compression_type=None)
            codec = transaction_codec()
            rng = random.Random(20_260_101)
            every = sample_every(rate, samples_per_s)

            def ignore(seq: int, record: dict, sent: float, future: Any) -> None:
                pass

            warm_cpu = process_cpu_seconds()
            warm = send_open_loop(producer, codec, topic, rate, warmup_s, workload.users, rng, stop, ignore, line, "warm-up")
            producer_cpu_share = (process_cpu_seconds() - warm_cpu) / max(warm.seconds, 1e-9)  # sending alone, no polling
            load.samples.clear()
            cpu_before = process_cpu_seconds()
            fresh_before = job_freshness_buckets(jid, spec.uid)

            def sample(seq: int, record: dict, sent: float, future: Any) -> None:
                if seq % every:
                    return
                s = Sample(record["user_id"], record["event_time"], sent)
                future.add_callback(lambda _meta, s=s: setattr(s, "acked", time.time()))
                poller.submit(s)

            stats = send_open_loop(producer, codec, topic, rate, seconds, workload.users, rng, stop, sample, line, "measuring")
            producer.flush()
            drain_until = time.monotonic() + 65.0
            while poller.pending and time.monotonic() < drain_until:
                line.show(f"waiting for {poller.pending} sampled rows to show in Cassandra")
                time.sleep(0.2)
            cpu_after = process_cpu_seconds()
            fresh_after = job_freshness_buckets(jid, spec.uid)
    finally:
        stop.set()
        if checkpoints is not None:
            checkpoints.__exit__()  # its last poll, before the job goes
        if poller is not None:
            poller.close()
        if producer is not None:
            producer.close(timeout=10)
        job.stop()
        if cluster is not None:
            cluster.shutdown()
        try:
            delete_topics(bootstrap, [topic, dead_letter_topic(topic)])
        except Exception as exc:  # cleanup must not hide the outcome
            print(f"e2e: could not delete topic {topic}: {exc}", file=sys.stderr)
    done = poller.done
    if not done:
        raise E2EError(f"no sampled event showed in Cassandra ({len(poller.abandoned)} abandoned); log {job.log}")
    latencies = [1000 * (s.seen - s.sent) for s in done]
    to_operator = [s.written_at - s.event_ms for s in done if s.written_at is not None]
    to_visible = [1000 * s.seen - s.written_at for s in done if s.written_at is not None]
    acks = [1000 * (s.acked - s.sent) for s in done if s.acked is not None]
    cpu_s = cpu_after - cpu_before  # sending and polling
    figures = {
        "e2e_latency_p50_ms": round(percentile(latencies, 50), 1),
        "e2e_latency_p99_ms": round(percentile(latencies, 99), 1),
        "e2e_latency_max_ms": round(max(latencies), 1),
        "e2e_latency_rate": round(rate, 1),
        "e2e_latency_sent_rate": round(stats.sent / stats.seconds, 1),
        "e2e_latency_producer_max_behind_ms": round(1000 * stats.max_behind_s, 1),
        "e2e_latency_samples": len(done),
        "e2e_latency_unresolved": len(poller.abandoned) + poller.pending,
        "e2e_latency_skipped_samples": poller.skipped,
        "e2e_latency_seconds": seconds,
        "e2e_latency_warmup_s": warmup_s,
        "e2e_latency_poll_ms": poll_ms,
        "e2e_latency_polls_per_sample_mean": round(sum(s.polls for s in done) / len(done), 1),
        "e2e_latency_harness_cpu_share": round(cpu_s / max(stats.seconds, 1e-9), 3),
        "e2e_latency_producer_cpu_share": round(producer_cpu_share, 3),
        "e2e_latency_method": (
            "open-loop Kafka producer (event_time = wall clock at send, random workload users); latency = "
            "time from send until a poll of the entity's Cassandra row (every ~poll_ms) shows valid_from >= event_time"
        ),
        **load.figures("e2e_latency"),
    }
    for name, values in (("kafka_ack", acks), ("send_to_operator", to_operator), ("operator_to_visible", to_visible)):
        if values:
            figures[f"e2e_latency_{name}_p50_ms"] = round(percentile(values, 50), 1)
            figures[f"e2e_latency_{name}_p99_ms"] = round(percentile(values, 99), 1)
    figures["e2e_latency_histogram_ms"] = histogram(latencies)
    figures |= job_freshness_figures(bucket_increase(fresh_before, fresh_after), figures["e2e_latency_p99_ms"])
    # A job that does not keep up shows latencies growing through the run.
    by_send = [ms for _, ms in sorted(zip((s.sent for s in done), latencies))]
    third = max(1, len(by_send) // 3)
    figures["e2e_latency_first_third_p50_ms"] = round(percentile(by_send[:third], 50), 1)
    figures["e2e_latency_last_third_p50_ms"] = round(percentile(by_send[-third:], 50), 1)
    # Samples whose send..visible span met a checkpoint (barrier alignment, Cassandra flush,
    # Iceberg file roll and commit) against those that did not.
    windows = checkpoints.windows()
    durations = checkpoints.durations_ms()
    if durations:
        figures["e2e_latency_checkpoints"] = len(durations)
        figures["e2e_latency_checkpoint_duration_p50_ms"] = round(percentile(durations, 50), 1)
        figures["e2e_latency_checkpoint_duration_max_ms"] = round(max(durations), 1)
        figures["e2e_latency_checkpoint_breakdown"] = checkpoints.breakdown()
    split: dict[bool, list[float]] = {True: [], False: []}
    for s, ms in zip(done, latencies):
        split[overlaps(s.sent, s.seen, windows)].append(ms)
    write_samples(SAMPLES_CSV, done, windows)
    for during, name in ((True, "during_checkpoint"), (False, "between_checkpoints")):
        figures[f"e2e_latency_{name}_samples"] = len(split[during])
        if split[during]:
            figures[f"e2e_latency_{name}_p50_ms"] = round(percentile(split[during], 50), 1)
            figures[f"e2e_latency_{name}_p99_ms"] = round(percentile(split[during], 99), 1)
    line.done(
        f"p50 {figures['e2e_latency_p50_ms']:,.0f} ms, p99 {figures['e2e_latency_p99_ms']:,.0f} ms over {len(done)} samples "
        f"(send->operator p50 {figures.get('e2e_latency_send_to_operator_p50_ms')} ms, "
        f"operator->visible p50 {figures.get('e2e_latency_operator_to_visible_p50_ms')} ms)"
    )
    return figures


def job_freshness_buckets(job_id: str, view_uid: str) -> dict[str, float]:
    """The view's freshness histogram as the job's own metrics serve it now: cumulative counts by
    bucket bound (`le`), summed over the writer's subtasks, read from the reporter's port range
    as `skewless status` reads it."""
    from skewless.cluster.scrape import of_job, scrape
    from skewless.cluster.status import freshness_buckets, view_label
    from skewless.devstack.prometheus import flink_ports

    samples = [s for page in scrape(flink_ports()).values() for s in page]
    return freshness_buckets(of_job(samples, job_id), view_label(view_uid))


def bucket_increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """The observations of a cumulative histogram between two reads of it, bucket by bucket."""
    return {le: count - before.get(le, 0.0) for le, count in after.items()}


def job_freshness_figures(buckets: dict[str, float], poller_p99_ms: float) -> dict[str, Any]:
    """`freshness_p50_ms`/`freshness_p99_ms`: the job's own freshness histogram (Cassandra
    acknowledgement time minus the row's event time, per write) over the measured part of the
    latency run, with Prometheus's histogram_quantile interpolation; beside the external poller's
    p99 as a ratio. The bucket bounds (10, 25, 50, 100, 250, 500 ms, 1 s, 2 s, ...) bound its
    resolution: a quantile is only known to lie within its bucket."""
    from skewless.cluster.status import histogram_quantile

    p50, p99 = histogram_quantile(0.5, buckets), histogram_quantile(0.99, buckets)
    if p50 is None or p99 is None:
        raise E2EError("the job's metrics show no freshness observation in the measured window (is the reporter on?)")
    return {
        "freshness_p50_ms": round(1000 * p50, 1),
        "freshness_p99_ms": round(1000 * p99, 1),
        "freshness_observations": int(buckets.get("+Inf", 0)),
        "freshness_p99_vs_poller_p99": round(1000 * p99 / max(poller_p99_ms, 1e-9), 3),
        "freshness_method": (
            "the job's freshness_seconds histogram (per Cassandra write: ack time - event time), the increase of its "
            "buckets over the measured window, quantiles interpolated within buckets as histogram_quantile does; "
            "the poller's latency adds its poll interval and the read"
        ),
    }


SAMPLES_CSV = OUT / "e2e-latency-samples.csv"


def write_samples(path: Path, samples: Sequence[Sample], windows: Sequence[tuple[float, float]]) -> None:
    """One row per resolved sample, in send order, for a look at the latency over time."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sent_epoch_s", "latency_ms", "kafka_ack_ms", "send_to_operator_ms", "operator_to_visible_ms", "polls", "during_checkpoint"])
        for s in sorted(samples, key=lambda s: s.sent):
            assert s.seen is not None
            out.writerow([
                f"{s.sent:.3f}", f"{1000 * (s.seen - s.sent):.1f}",
                "" if s.acked is None else f"{1000 * (s.acked - s.sent):.1f}",
                "" if s.written_at is None else s.written_at - s.event_ms,
                "" if s.written_at is None else f"{1000 * s.seen - s.written_at:.1f}",
                s.polls, int(overlaps(s.sent, s.seen, windows)),
            ])  # fmt: skip


HISTOGRAM_EDGES_MS = (10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 5000, 10000)


def histogram(values: Sequence[float], edges: Sequence[float] = HISTOGRAM_EDGES_MS) -> dict[str, int]:
    """Counts per bucket "le<edge>ms" plus "gt<last>ms"; a compact picture of the latency spread."""
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect.bisect_left(edges, v)] += 1
    keys = [f"le{e:05.0f}ms" for e in edges] + [f"gt{edges[-1]:05.0f}ms"]  # zero-padded: sorted JSON keys stay in order
    return dict(zip(keys, counts))


# ---------------------------------------------------------------- entry point


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    full = Workload()
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=_env_int("BENCH_EVENTS", full.events), help="events (env BENCH_EVENTS)")
    parser.add_argument("--users", type=int, default=_env_int("BENCH_USERS", full.users), help="users (env BENCH_USERS)")
    parser.add_argument("--days", type=int, default=full.days)
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="measured part of the latency run")
    parser.add_argument("--warmup-seconds", type=float, default=20.0, help="sending before the latency samples start")
    parser.add_argument("--samples-per-second", type=float, default=5.0)
    parser.add_argument("--poll-ms", type=float, default=2.0, help="Cassandra poll interval per sampled event")
    parser.add_argument("--rate", type=float, default=None, help="latency run rate (default: half the measured max rate)")
    parser.add_argument("--skip-max-rate", action="store_true", help="latency only (needs --rate)")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    if min(args.events, args.users, args.days) <= 0 or args.latency_seconds <= 0:
        parser.error("--events, --users, --days and --latency-seconds must be positive")
    if args.skip_max_rate and not args.rate:
        parser.error("--skip-max-rate needs --rate")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    from bench import results

    workload = Workload(events=args.events, users=args.users, days=args.days)
    settings = bench_settings()
    figures: dict[str, Any] = {"e2e_git_commit": _git_commit()}
    try:
        if not args.skip_max_rate:
            figures.update(measure_max_rate(workload, settings))
            results.update({**figures, "e2e_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        if not args.skip_latency:
            rate = args.rate or figures["e2e_events_per_s"] / 2
            figures.update(measure_latency(workload, settings, rate, args.latency_seconds, args.warmup_seconds, args.samples_per_second, args.poll_ms))
            results.update({**figures, "e2e_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    except E2EError as exc:
        print(f"bench.e2e: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench.e2e: interrupted; jobs stopped", file=sys.stderr)
        return 130
    print(json.dumps({k: v for k, v in figures.items() if k.startswith("e2e_")}, indent=2, sort_keys=True))
    if "e2e_events_per_s" in figures and workload.events < full.events:
        minutes = (full.events / PRODUCE_EVENTS_PER_S + full.events / figures["e2e_events_per_s"]) / 60
        print(f"bench.e2e: the full workload ({full.events:,} events) would take about {minutes:,.0f} min "
              "(producing plus processing) at this rate", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
