"""`python -m bench.serving`: the serving part of `make bench`, online-read latency while a
real streaming job runs.

One run:
1. seeds the synthetic 20-feature view `bench20` (keyspace skewless_bench, entities e0..eN);
2. starts, each in a process group of its own, a producer feeding a fresh topic at a steady
   rate (events timed now) and the project's own pipeline job (`skewless.runner.run_job`,
   unbounded) for `user_transactions` on that topic, writing to the same Cassandra
   (keyspace skewless_bench), and `skewless serve` for bench20;
3. once the job has committed its first checkpoint, measures each read path at a fixed
   open-loop rate (latency from the scheduled instant: no coordinated omission), a warm-up
   then `--seconds` each, in `--rounds` interleaved slices (floor, sdk, ..., floor, sdk,
   ...) so that the machine's drift falls on every path alike:
   - `driver_floor`: a bare cassandra-driver prepared SELECT of the same partition and
     columns, `Session.execute` (blocking), driven exactly like `sdk`: the floor the SDK is
     held to;
   - `driver_callback`: the same SELECT, `execute_async` at the scheduled instant from one
     thread, latency taken in the driver's own callback (no thread woken): the driver's
     lowest possible figure, for reference;
   - `sdk`: `FeatureStore.get_online_features`, 1 entity x 20 features, every value taken
     (`values()`), from 8 threads;
   - `sdk_async`: `get_online_features_async`, the same request, on the event loop;
   - `http`: `POST /features` to `skewless serve`, 1 entity x 20 features;
   - `sdk_batch100`: `get_online_features`, 100 entities x 20 features, at the main rate if
     the machine keeps up, else at the highest rate of `BATCH_RATES` that it does;
4. stops the children (their whole process groups; also on Ctrl-C or failure), deletes the
   topic and merges the figures into bench/results.json (`bench.results.update`).

The stream side (producer, Kafka broker, pipeline job) is held to `--stream-cpus` (default:
the last CPU) while the serving side (Cassandra, the SDK, `skewless serve`) may use every
CPU: on a shared machine an operator keeps a throughput job off the cores of a
latency-bound service, as separate machines would in production. The job keeps up with
its stream on one core. `--stream-cpus none` measures with every process on every CPU.

`--seconds` (env BENCH_SERVING_SECONDS) shortens a run for development.

Harness choices, and why (changed after the first recorded runs):
- The floor used to be `driver_callback` alone, timed on the driver's IO thread, while the
  SDK was timed in the calling thread after it woke: the ratio then charged the SDK for a
  thread wake-up that any blocking caller of the bare driver pays too. `driver_floor` is
  now the bare driver's blocking read, scheduled, threaded and timed like `sdk` (8 threads,
  from the scheduled instant to the call's return); `driver_callback` stays, reported.
- The job's offsets are polled by a child process (`_offsets`), not a thread of this one:
  kafka-python's pure-Python polling held the GIL of the process being measured.
- A latency is read when the call returns, before the tally's lock is taken.
- After setup, `gc.freeze()`: what imports, seeding and the driver's metadata allocated is
  left out of later collections (a full collection of it took ~40 ms here), as `skewless
  serve` does once ready. A scoring service built on the SDK would do the same.
- The SDK calls take every value of the response, not one feature of twenty.
- Tried and left out: `sys.setswitchinterval(0.5 ms)` in the measuring process. Without the
  stream it raised CPU per request and p99 (SDK 1.73 -> 2.14 ms, floor 1.44 -> 1.65 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from bench.machine import group_cpu_seconds, load_1m, loads, machine_cpu_seconds

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "bench" / "out" / "logs"
DEFAULT_SECONDS = 25.0
DEFAULT_RATE = 500.0
BATCH = 100
BATCH_RATES = (500.0, 250.0, 100.0, 50.0, 25.0, 10.0)  # tried in order for sdk_batch100
PHASES = ("driver_floor", "driver_callback", "sdk", "sdk_async", "http", "sdk_batch100")
TARGETS = {"sdk_p99_ms": 2.0, "http_p99_ms": 5.0, "sdk_vs_driver_floor_p99": 1.3}


class BenchError(RuntimeError):
    pass


# -- pure helpers (unit-tested) ---------------------------------------------------------


def positive_seconds(raw: str) -> float:
    """argparse type of --seconds and BENCH_SERVING_SECONDS: a positive, finite number."""
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a positive number of seconds")
    return value


def rate_between(samples: Sequence[tuple[float, int]], start: float, end: float) -> float | None:
    """Events/s of a counter that moves in steps (Kafka offsets committed at checkpoints):
    from its first step at or after `start` to its last step at or before `end`, so a
    partial checkpoint interval at either end does not skew it. `samples` are (time,
    count) in time order; None with fewer than two steps in the window."""
    steps: list[tuple[float, int]] = []
    previous: int | None = None
    for t, count in samples:
        if previous is not None and count != previous and start <= t <= end:
            steps.append((t, count))
        previous = count
    if len(steps) < 2 or steps[-1][0] <= steps[0][0]:
        return None
    return (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0])


def parse_cpus(raw: str, available: frozenset[int]) -> frozenset[int]:
    """argparse-side parser of --stream-cpus: "none" (no pinning: empty set), "last" (the
    highest CPU of `available`, none if only one), or a list like "1", "2-3" or "0,2"
    of CPUs within `available`."""
    text = raw.strip().lower()
    if text == "none":
        return frozenset()
    if text == "last":
        return frozenset({max(available)}) if len(available) > 1 else frozenset()
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            low, dash, high = part.partition("-")
            first, last = int(low), int(high) if dash else int(low)
            if last < first:
                raise ValueError(part)
            cpus.update(range(first, last + 1))
    except ValueError:
        raise ValueError(f"{raw!r}: expected none, last, or CPUs like 1, 2-3 or 0,2") from None
    if not cpus or not cpus <= available:
        raise ValueError(f"{raw!r}: CPUs must be among those this process may use, {sorted(available)}")
    return frozenset(cpus)


def keeps_up(latencies_ms: Sequence[float], limit_ms: float) -> bool:
    """Whether an open-loop probe was sustainable: no queue building up (the median of its
    last third at most twice that of its first third, plus 1 ms) and its p99 under `limit_ms`."""
    from skewless.serving.bench import percentile

    n = len(latencies_ms)
    if n < 3:
        return False
    third = n // 3
    first, last = sorted(latencies_ms[:third]), sorted(latencies_ms[-third:])
    growing = percentile(last, 0.5) > 2 * percentile(first, 0.5) + 1.0
    return not growing and percentile(sorted(latencies_ms), 0.99) <= limit_ms


def phase_figures(prefix: str, summary: dict[str, float], seconds: float) -> dict[str, Any]:
    """results.json keys of one measured phase."""
    return {
        f"{prefix}_p50_ms": summary["p50_ms"], f"{prefix}_p90_ms": summary["p90_ms"],
        f"{prefix}_p99_ms": summary["p99_ms"], f"{prefix}_p999_ms": summary["p999_ms"],
        f"{prefix}_max_ms": summary["max_ms"], f"{prefix}_mean_ms": summary["mean_ms"],
        f"{prefix}_requests": summary["sent"], f"{prefix}_errors": summary["errors"],
        f"{prefix}_seconds": seconds,
    }


def verdicts(figures: dict[str, Any]) -> dict[str, bool]:
    """Each target of TARGETS that the figures allow judging: met or not."""
    return {f"{key}_target_met": figures[key] <= limit for key, limit in TARGETS.items()
            if isinstance(figures.get(key), (int, float))}


# -- children: their own process groups, gone with the bench ----------------------------


def _die_with_parent() -> None:
    """In a child: get SIGTERM when the bench process dies, even by SIGKILL (Linux), and take
    the whole process group (the job's Python and its JVM) along on SIGTERM."""
    import ctypes

    def stop_group(*_: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.killpg(0, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_group)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl
        stop_group()


class Children:
    """Child processes, each the leader of a new process group; `stop()` ends every group:
    SIGTERM, then SIGKILL to what is left after `grace_s`."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / f"serving-{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name], self.logs[name] = proc, log
        return proc

    def check(self, *names: str) -> None:
        for name in names or tuple(self.procs):
            proc = self.procs[name]
            if proc.poll() is not None:
                tail = self.logs[name].read_text(errors="replace")[-3000:]
                raise BenchError(f"{name} exited early (exit {proc.returncode}); log {self.logs[name]}:\n{tail}")

    def stop(self, grace_s: float = 20.0) -> None:
        for proc in self.procs.values():
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():  # the leader may be gone while its group lives on
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                print(f"bench.serving: process {proc.pid} did not exit", file=sys.stderr)
        self.procs.clear()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


STREAM_CPUS_ENV = "BENCH_STREAM_CPUS"  # how the stream's children learn their CPUs


def pin_from_env() -> None:
    """In a stream child, before it starts threads or processes (they inherit it): keep to the
    CPUs the bench named."""
    cpus = os.environ.get(STREAM_CPUS_ENV, "")
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def pin_threads(pid: int, cpus: frozenset[int]) -> dict[int, set[int]]:
    """Hold every thread of a running process to `cpus` (threads it starts later inherit it);
    returns each thread's previous CPUs, for `unpin_threads`."""
    previous: dict[int, set[int]] = {}
    for tid in _thread_ids(pid):
        try:
            previous[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cpus)
        except (ProcessLookupError, PermissionError):
            pass  # the thread ended meanwhile
    return previous


def _thread_ids(pid: int) -> list[int]:
    """The threads of a running process (none once it is gone)."""
    try:
        return [thread.id for thread in psutil.Process(pid).threads()]
    except psutil.Error:
        return []


def unpin_threads(pid: int, previous: dict[int, set[int]]) -> None:
    """Give the threads of `pid` back their CPUs; threads it started meanwhile get all of them."""
    every = os.sched_getaffinity(0) | {c for cpus in previous.values() for c in cpus}
    for tid in _thread_ids(pid):
        try:
            os.sched_setaffinity(tid, previous.get(tid, every))
        except (ProcessLookupError, PermissionError):
            pass


# -- the stream: producer child, pipeline child, offsets monitor ------------------------


def produce_forever(topic: str, bootstrap: str, rate: float, users: int) -> None:
    """Child: send synthetic transactions timed now, at `rate` events/s, until SIGTERM/SIGINT."""
    from kafka import KafkaProducer

    from skewless.events.producer import transaction_codec
    from skewless.events.synthetic import CURRENCIES, user_id

    stop = threading.Event()
    _die_with_parent()
    pin_from_env()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    codec = transaction_codec()
    # linger 50 ms: a few produce requests a second rather than one per 10 ms tick; the
    # producer stands in for remote services, and its own CPU is not the job's.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    rng = random.Random(11)
    sent = 0
    started = time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate)
        while sent < due:
            u = rng.randrange(users)
            now = time.time_ns() // 1_000_000
            record = {"event_id": f"bench-{sent:012d}", "user_id": user_id(u), "merchant_id": f"merchant-{rng.randrange(500):04d}",
                      "amount": round(rng.lognormvariate(3.5, 0.8), 2), "currency": CURRENCIES[u % len(CURRENCIES)],
                      "event_time": now}
            producer.send(topic, key=record["user_id"].encode(), value=codec.encode(record), timestamp_ms=now)
            sent += 1
        stop.wait(0.05)
    producer.flush(10)
    producer.close(10)


def run_pipeline(topic: str, group_id: str) -> None:
    """Child: the project's pipeline job for user_transactions on `topic`, unbounded (settings
    from SKEWLESS_* env), until SIGTERM takes its process group down."""
    from skewless.runner import run_job
    from skewless.settings import load_settings

    _die_with_parent()
    pin_from_env()
    settings = load_settings()
    spec = dataclasses.replace(_user_transactions(settings), source_topic=topic)
    run_job(spec, settings, bounded=False, until=None, group_id=group_id)


def _user_transactions(settings: Any) -> Any:
    """The example repo's user_transactions from the catalogue, registering features/ first
    (`skewless apply --repo features/`; a no-op once registered)."""
    from skewless.registry.catalogue import Catalogue, registry_url
    from skewless.registry.store import Registry

    with Registry(registry_url(settings)) as registry:
        plan = registry.apply(REPO / "features")
    if plan.refused:
        raise BenchError(f"the registry refused features/:\n{plan.render()}")
    return Catalogue.from_settings(settings).spec("user_transactions")


def watch_offsets(bootstrap: str, topic: str, group_id: str, every_s: float) -> None:
    """Child: every `every_s`, print `<monotonic s> <committed> <produced>` (the job's committed
    offsets, which move at each checkpoint, and the topic's end), or `<monotonic s> error <why>`."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    _die_with_parent()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-serving")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-serving", enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
    while True:
        time.sleep(every_s)
        now = time.monotonic()  # CLOCK_MONOTONIC: the same clock as the bench's
        try:
            offsets = admin.list_group_offsets({group_id: None}).get(group_id, {})
            ends = consumer.end_offsets(tps)
            committed = sum(max(0, o.offset) for tp, o in offsets.items() if tp.topic == topic)
            print(f"{now} {committed} {sum(ends.values())}", flush=True)
        except Exception as exc:  # e.g. a slow broker answer: the next poll tells
            print(f"{now} error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)


class OffsetMonitor:
    """The job's committed offsets and the topic's end over time, polled by a child process
    (`watch_offsets`): kafka-python's pure-Python polling would otherwise hold the GIL of
    the process being measured. Its lines are read from the child's log when asked for."""

    def __init__(self, children: Children, env: dict[str, str], bootstrap: str, topic: str, group_id: str,
                 every_s: float = 0.5) -> None:
        self.every_s = every_s
        children.start("offsets", [sys.executable, "-m", "bench.serving", "_offsets", bootstrap, topic, group_id,
                                   str(every_s)], env)
        self._log = children.logs["offsets"].open()
        self._partial = ""
        self._committed: list[tuple[float, int]] = []
        self._produced: list[tuple[float, int]] = []
        self.error = ""  # of the last poll that failed

    def __enter__(self) -> OffsetMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._log.close()

    def _read(self) -> None:
        text = self._partial + self._log.read()
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            when, _, rest = line.partition(" ")
            try:
                t = float(when)
            except ValueError:
                continue  # a stray line (e.g. a library's warning)
            if rest.startswith("error "):
                self.error = rest[6:]
                continue
            committed, _, produced = rest.partition(" ")
            self._committed.append((t, int(committed)))
            self._produced.append((t, int(produced)))
            self.error = ""

    @property
    def committed(self) -> list[tuple[float, int]]:
        self._read()
        return self._committed

    @property
    def produced(self) -> list[tuple[float, int]]:
        self._read()
        return self._produced

    def consumed(self) -> int:
        committed = self.committed
        return committed[-1][1] if committed else 0

    def lag(self) -> int:
        committed, produced = self.committed, self.produced
        return (produced[-1][1] - committed[-1][1]) if committed and produced else 0

    def recent_rate(self, window_s: float = 30.0) -> float | None:
        now = time.monotonic()
        return rate_between(self.committed, now - window_s, now)


# -- the read paths ---------------------------------------------------------------------


@dataclasses.dataclass
class Reads:
    """The SDK and a bare driver session on the bench view, with random entity draws."""

    contact_points: str
    keyspace: str
    seeded: int

    def __post_init__(self) -> None:
        from cassandra.query import tuple_factory

        from connectors.cassandra import cql
        from connectors.cassandra.session import connect_cluster
        from skewless.serving.bench import bench_view
        from skewless.serving.store import FeatureStore

        self.rng = random.Random(5)
        self.store = FeatureStore([bench_view()], contact_points=self.contact_points, keyspace=self.keyspace)
        self.store.prepare()
        # The floor: its own cluster (same routing and consistency as the SDK's), the SDK's
        # statement text, rows as plain tuples; nothing else.
        self._cluster = connect_cluster(self.contact_points)
        self._cluster.profile_manager.default.row_factory = tuple_factory
        self._session = self._cluster.connect()
        config = self.store.client.reader("bench20").config
        self._select = self._session.prepare(
            cql.render_select_by_key(config.keyspace, config.table, config.key_column, config.selected_columns))

    def key(self) -> str:
        return f"e{self.rng.randrange(self.seeded)}"

    def keys(self, n: int) -> list[str]:
        return [f"e{i}" for i in self.rng.sample(range(self.seeded), n)]

    def floor(self) -> bool:
        """The bare driver's blocking read (`Session.execute`), as a scoring service would call it."""
        return bool(self._session.execute(self._select, (self.key(),)).current_rows)

    def floor_callback(self, done: Callable[[bool], None]) -> None:
        """Send the read; the driver's IO thread calls `done` with its answer."""
        response = self._session.execute_async(self._select, (self.key(),))
        response.add_callbacks(lambda rows: done(bool(rows)), lambda _error: done(False))

    def sdk(self) -> bool:
        from skewless.serving.bench import BENCH_REFS

        # Every value, as a model would take them (not one feature of the twenty).
        response = self.store.get_online_features([self.key()], BENCH_REFS)
        return None not in response[0].values().values()

    async def sdk_async(self) -> bool:
        from skewless.serving.bench import BENCH_REFS

        response = await self.store.get_online_features_async([self.key()], BENCH_REFS)
        return None not in response[0].values().values()

    def sdk_batch(self) -> bool:
        from skewless.serving.bench import BENCH_REFS

        response = self.store.get_online_features(self.keys(BATCH), BENCH_REFS)
        return all(None not in r.values().values() for r in response)

    def close(self) -> None:
        self.store.close()
        self._cluster.shutdown()


# -- the run ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reporter:
    """Progress lines on stderr: the phase, requests answered, running p50/p99, errors, the
    stream's consumption and the machine load."""

    def __init__(self, children: Children, monitor: OffsetMonitor | None) -> None:
        self.children, self.monitor = children, monitor

    def stream(self) -> str:
        if self.monitor is None:
            return "no stream"
        rate = self.monitor.recent_rate()
        return f"stream {self.monitor.consumed():,} events consumed" + (f", ~{rate:,.0f}/s" if rate else "")

    def progress(self, label: str) -> _PhaseLine:
        return _PhaseLine(label, self)


class _PhaseLine:
    """The progress callback of one load run (called about once a second)."""

    def __init__(self, label: str, reporter: Reporter) -> None:
        from skewless.progress import Meter

        self.line, self.reporter = Meter(label), reporter

    def __call__(self, result: Any) -> None:
        from skewless.serving.bench import percentile

        self.reporter.children.check()
        recent = sorted(result.latencies_ms)  # answered in the last second
        self.line.show(f"{result.ok + result.errors:,}/{result.sent:,} answered, {result.errors} errors; last 1 s: "
                       f"p50 {percentile(recent, .5):.2f} ms, p99 {percentile(recent, .99):.2f} ms; {self.reporter.stream()}; "
                       f"load {load_1m():.2f}", force=int(self.line.elapsed) % 5 == 0)

    def done(self, summary: dict[str, float]) -> None:
        self.line.done(f"{summary['sent']:,} requests, p50 {summary['p50_ms']:.3f} ms, p99 {summary['p99_ms']:.3f} ms, "
                       f"max {summary['max_ms']:.1f} ms, {summary['errors']} errors; {self.reporter.stream()}")


def measure_rounds(runs: dict[str, Callable[..., Any]], rounds: int, warmup_s: float, seconds: float,
                   reporter: Reporter) -> dict[str, tuple[Any, float, float]]:
    """Each run warmed up once (discarded), then measured for `seconds` in `rounds` interleaved
    slices (a, b, c, a, b, c, ...): a drift of the machine (a compaction, the job's checkpoint
    rhythm) then falls on every path alike rather than on whichever ran first. Per run: the
    merged result, the mean 1-min load average after its slices and this process's CPU ms
    per request (load generator and client together)."""
    for label, run in runs.items():
        if warmup_s > 0:
            run(warmup_s, reporter.progress(f"{label} warm-up"))
    parts: dict[str, list[Any]] = {label: [] for label in runs}
    cpu = dict.fromkeys(runs, 0.0)
    loads: dict[str, list[float]] = {label: [] for label in runs}
    for round_ in range(1, rounds + 1):
        for label, run in runs.items():
            progress = reporter.progress(label if rounds == 1 else f"{label}, round {round_}/{rounds}")
            started = time.process_time()
            result = run(seconds / rounds, progress)
            cpu[label] += time.process_time() - started
            progress.done(result.summary())
            parts[label].append(result)
            loads[label].append(load_1m())
    measured = {}
    for label in runs:
        result = merge_results(parts[label])
        measured[label] = (result, round(statistics.fmean(loads[label]), 2),
                           round(cpu[label] * 1000 / max(1, result.sent), 3))
    return measured


def merge_results(parts: Sequence[Any]) -> Any:
    """One LoadResult of consecutive runs of the same path."""
    from skewless.serving.bench import LoadResult

    return LoadResult(sum(p.sent for p in parts), sum(p.ok for p in parts), sum(p.errors for p in parts),
                      [x for p in parts for x in p.latencies_ms], sum(p.seconds for p in parts))


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_produce"]:
        produce_forever(argv[1], argv[2], float(argv[3]), int(argv[4]))
        return 0
    if argv[:1] == ["_pipeline"]:
        run_pipeline(argv[1], argv[2])
        return 0
    if argv[:1] == ["_offsets"]:
        watch_offsets(argv[1], argv[2], argv[3], float(argv[4]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default_seconds = os.environ.get("BENCH_SERVING_SECONDS", "").strip()
    parser.add_argument("--seconds", type=positive_seconds,
                        default=positive_seconds(default_seconds) if default_seconds else DEFAULT_SECONDS,
                        help=f"measured seconds per read path (env BENCH_SERVING_SECONDS; default {DEFAULT_SECONDS:.0f})")
    parser.add_argument("--warmup", type=float, default=5.0, help="discarded seconds before each measurement")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved slices each path's --seconds is measured in (default 5)")
    parser.add_argument("--rate", type=positive_seconds, default=DEFAULT_RATE, help="requests/s of every read path")
    parser.add_argument("--batch-rate", type=positive_seconds, default=None,
                        help=f"requests/s of sdk_batch100 (default: the first of {BATCH_RATES} at or under --rate "
                             "that the machine keeps up with in a short probe)")
    parser.add_argument("--stream-rate", type=positive_seconds, default=300.0, help="events/s fed to the job")
    parser.add_argument("--stream-users", type=int, default=2_000)
    parser.add_argument("--stream-cpus", default="last",
                        help="CPUs of the producer, Kafka broker and job: none, last (default) or a list like 1 or 2-3")
    parser.add_argument("--seeded", type=int, default=10_000, help="bench20 entities seeded (drawn at random)")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--baseline-tree", type=Path, metavar="DIR",
                        help="(A/B) also run `skewless serve` from this checkout (e.g. `git worktree add DIR OLD`) and "
                             "measure it as http_baseline, interleaved with http; recorded as http_ab_before/after_*")
    parser.add_argument("--baseline-serve-args", default="", metavar="ARGS",
                        help="extra arguments of the baseline's `skewless serve`, as its CLI takes them")
    parser.add_argument("--no-stream", action="store_true", help="(development) no producer and job")
    parser.add_argument("--no-record", action="store_true", help="(development) do not write bench/results.json")
    parser.add_argument("--job-timeout", type=float, default=300.0, help="seconds for the job to start and catch up")
    args = parser.parse_args(argv)
    if args.seeded < BATCH or args.stream_users < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error(f"--seeded must be at least {BATCH}, --stream-users and --rounds positive, --warmup >= 0")
    try:
        args.stream_cpus = parse_cpus(args.stream_cpus, frozenset(os.sched_getaffinity(0)))
    except ValueError as exc:
        parser.error(f"--stream-cpus {exc}")
    # SIGTERM (e.g. from make or a CI runner) unwinds like Ctrl-C, through the cleanup.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        figures = run(args)
    except BenchError as exc:
        print(f"bench.serving: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench.serving: interrupted; children stopped", file=sys.stderr)
        return 130
    if not args.no_record:
        from bench import results

        results.update(figures)
        print(f"wrote {results.JSON_PATH.relative_to(REPO)}", file=sys.stderr)
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


def _start_baseline(children: Children, args: argparse.Namespace, port: int, env: dict[str, str]) -> None:
    """`skewless serve` of the bench view from another checkout: its own code on PYTHONPATH, run
    from its folder."""
    import shlex

    tree = args.baseline_tree.resolve()
    if not (tree / "skewless" / "cli.py").is_file():
        raise BenchError(f"--baseline-tree {tree}: not a skewless checkout (no skewless/cli.py)")
    command = [sys.executable, "-m", "skewless.cli", "serve", "--port", str(port),
               *shlex.split(args.baseline_serve_args)]
    children.start("serve_baseline", command, env | {"PYTHONPATH": str(tree)}, cwd=tree)


def ab_figures(figures: dict[str, Any], baseline_tree: Path) -> dict[str, Any]:
    """The A/B of `--baseline-tree`: before (the baseline checkout) and after (this one), with
    what each ran on."""
    from importlib.metadata import PackageNotFoundError, version

    def commit(tree: Path) -> str:
        done = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return done.stdout.strip() or "unknown"

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    out: dict[str, Any] = {"http_ab_before_commit": commit(baseline_tree), "http_ab_after_commit": commit(REPO),
                           "http_ab_versions": {n: installed(n) for n in ("granian", "uvloop", "httptools")}}
    for side, phase in (("before", "http_baseline"), ("after", "http")):
        for stat in ("p50_ms", "p99_ms", "p999_ms", "errors"):
            if f"{phase}_{stat}" in figures:
                out[f"http_ab_{side}_{stat}"] = figures[f"{phase}_{stat}"]
        out[f"http_ab_{side}_loadavg_1m"] = figures.get(f"{phase}_loadavg_1m")
        out[f"http_ab_{side}_cpu_cores"] = figures.get(f"serving_serve{'_baseline' if side == 'before' else ''}_cpu_cores")
    if out.get("http_ab_before_p99_ms"):
        out["http_ab_after_vs_before_p99"] = round(out["http_ab_after_p99_ms"] / out["http_ab_before_p99_ms"], 3)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from skewless.serving.bench import BENCH_KEYSPACE, seed, serve_command, serve_env, use_uvloop, wait_ready
    from skewless.settings import load_settings

    use_uvloop()
    settings = load_settings()
    hosts, bootstrap = settings.cassandra.hosts, settings.kafka.bootstrap
    for address in (*hosts.split(","), *bootstrap.split(",")):
        if address.strip().rpartition(":")[0] not in ("127.0.0.1", "localhost", "::1"):
            raise BenchError(f"{address!r} is not on this machine's loopback; the benchmark sends traffic only to 127.0.0.1")
    load_at_start = load_1m()
    stamp = time.strftime("%Y%m%d%H%M%S")
    topic, group_id = f"bench.serving.{stamp}", f"bench-serving-{stamp}"
    children = Children()
    reads: Reads | None = None
    broker: tuple[int, dict[int, set[int]]] | None = None
    figures: dict[str, Any] = {}
    try:
        print(f"seeding {args.seeded:,} entities of bench20 in {BENCH_KEYSPACE}", file=sys.stderr)
        seed(hosts, args.seeded)
        env = {**os.environ, **settings.to_environ(),
               "SKEWLESS_CASSANDRA_KEYSPACE": BENCH_KEYSPACE, "SKEWLESS_ICEBERG_NAMESPACE": BENCH_KEYSPACE,
               "PYTHONPATH": str(REPO)}
        monitor = None
        if not args.no_stream:
            from connectors.kafka.topics import ensure_topic

            ensure_topic(bootstrap, topic, 2)
            print(f"starting the pipeline job (user_transactions on {topic}) and a producer at "
                  f"{args.stream_rate:,.0f} events/s; logs in {LOGS}", file=sys.stderr)
            stream_env = env | ({STREAM_CPUS_ENV: ",".join(map(str, sorted(args.stream_cpus)))} if args.stream_cpus else {})
            if args.stream_cpus:
                broker = _pin_broker(args.stream_cpus)
                print(f"stream side held to CPUs {sorted(args.stream_cpus)}: producer, job"
                      + (", Kafka broker" if broker else " (no local-stack broker found to pin)"), file=sys.stderr)
            children.start("pipeline", [sys.executable, "-m", "bench.serving", "_pipeline", topic, group_id], stream_env)
            children.start("producer", [sys.executable, "-m", "bench.serving", "_produce", topic, bootstrap,
                                        str(args.stream_rate), str(args.stream_users)], stream_env)
        port, baseline_port = _free_port(), _free_port()
        if "http" in args.phases:
            children.start("serve", serve_command(port), serve_env(hosts) | {"PYTHONPATH": str(REPO)})
        if args.baseline_tree:
            _start_baseline(children, args, baseline_port, serve_env(hosts))
        reads = Reads(hosts, BENCH_KEYSPACE, args.seeded)
        for name, serving_port in (("serve", port), ("serve_baseline", baseline_port)):
            if name in children.procs:
                wait_ready(serving_port, alive=lambda name=name: children.procs[name].poll() is None)
        with _monitor(args, children, env, bootstrap, topic, group_id) as monitor:
            reporter = Reporter(children, monitor)
            if monitor is not None:
                # Offsets are committed at checkpoints (10 s apart by default): the lag seen here is
                # up to an interval's events even for a job that keeps up.
                _wait_for_job(children, monitor, args.job_timeout, reporter, max_lag=args.stream_rate * 15)
            # Setup garbage (imports, seeding, the driver's metadata) moves out of the collector's
            # sight: later full collections scan only what the measured calls allocate.
            gc.collect()
            gc.freeze()
            stream_start = time.monotonic()
            cpu_at_start = {name: group_cpu_seconds(proc.pid) for name, proc in children.procs.items()}
            machine_at_start = machine_cpu_seconds()
            written_since_ms = time.time_ns() // 1_000_000
            runners: dict[str, Callable[[float, Any], Any]] = {
                "driver_floor": lambda s, p: _threads(reads.floor, args.rate, s, p),
                "driver_callback": lambda s, p: _floor_callback(reads, args.rate, s, p),
                "sdk": lambda s, p: _threads(reads.sdk, args.rate, s, p),
                "sdk_async": lambda s, p: asyncio.run(_sdk_async(reads, args.rate, s, p)),
                "http": lambda s, p: asyncio.run(_http(port, reads, args.rate, s, p)),
                "http_baseline": lambda s, p: asyncio.run(_http(baseline_port, reads, args.rate, s, p)),
            }
            paths = [phase for phase in args.phases if phase != "sdk_batch100"]
            if args.baseline_tree:  # measured right after http, slice by slice
                paths.insert(paths.index("http") + 1 if "http" in paths else len(paths), "http_baseline")
            labels = {phase: f"{phase} @ {args.rate:g}/s" for phase in paths}
            measured = measure_rounds({labels[p]: runners[p] for p in paths}, args.rounds, args.warmup, args.seconds,
                                      reporter)
            if "sdk_batch100" in args.phases:  # last: its own rate, and heavy enough to disturb the others
                rate, probes = (args.batch_rate, []) if args.batch_rate else _batch_rate(reads, args.rate, reporter)
                labels["sdk_batch100"] = f"sdk_batch100 @ {rate:g}/s"
                cassandra = _stack_pid("cassandra")
                cassandra_cpu = group_cpu_seconds(cassandra) if cassandra else 0.0
                measured |= measure_rounds({labels["sdk_batch100"]: lambda s, p: _threads(reads.sdk_batch, rate, s, p)},
                                           1, args.warmup, args.seconds, reporter)
                figures["sdk_batch100_rate"] = rate
                for probe in probes:  # the rates tried, fastest first (flat keys: results.json stays flat)
                    figures |= {f"sdk_batch100_probe_{probe['rate']:g}_{k}": v for k, v in probe.items() if k != "rate"}
                if cassandra:  # what one 100-partition read costs the node (warm-up included)
                    sent = measured[labels["sdk_batch100"]][0].sent * (1 + args.warmup / args.seconds)
                    figures["sdk_batch100_cassandra_cpu_ms_per_request"] = round(
                        (group_cpu_seconds(cassandra) - cassandra_cpu) * 1000 / sent, 2)
            for phase, label in labels.items():
                result, load, cpu_ms = measured[label]
                figures |= phase_figures(phase, result.summary(), args.seconds)
                figures[f"{phase}_loadavg_1m"] = load
                figures[f"{phase}_bench_cpu_ms_per_request"] = cpu_ms
            stream_end = time.monotonic()
            for name, proc in children.procs.items():  # cores each child used while reads were measured
                used = group_cpu_seconds(proc.pid) - cpu_at_start.get(name, 0.0)
                figures[f"serving_{name}_cpu_cores"] = round(used / (stream_end - stream_start), 3)
            busy, total = (end - start for end, start in zip(machine_cpu_seconds(), machine_at_start))
            figures["serving_machine_busy_fraction"] = round(busy / total, 3)  # of all cores, while measuring
            if monitor is not None:
                time.sleep(min(12.0, 2 * monitor.every_s + 10))  # one more checkpoint commit inside the window
                figures |= _stream_figures(monitor, stream_start, time.monotonic(), reads, written_since_ms, topic)
                figures["stream_seconds"] = round(stream_end - stream_start, 1)
    finally:
        children.stop()
        if broker is not None:
            unpin_threads(*broker)
        if reads is not None:
            reads.close()
        if not args.no_stream:
            _delete_topic(bootstrap, topic)
    figures |= {
        "serving_rate_per_s": args.rate, "serving_warmup_s": args.warmup, "serving_rounds": args.rounds, "serving_seeded_entities": args.seeded,
        "serving_entities_per_request": 1, "serving_features_per_entity": 20, "sdk_batch100_entities": BATCH,
        "serving_loadavg_1m_at_start": load_at_start, "serving_loadavg_1m_at_end": load_1m(),
        "serving_loadavg_at_end": loads(), "serving_cores": psutil.cpu_count(),
        "serving_with_stream": not args.no_stream,
        "serving_stream_cpus": sorted(args.stream_cpus) if not args.no_stream else [],
        "serving_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if "sdk_p99_ms" in figures and "driver_floor_p99_ms" in figures:
        figures["sdk_vs_driver_floor_p99"] = round(figures["sdk_p99_ms"] / figures["driver_floor_p99_ms"], 3)
    if "sdk_async_p99_ms" in figures and "driver_floor_p99_ms" in figures:
        figures["sdk_async_vs_driver_floor_p99"] = round(figures["sdk_async_p99_ms"] / figures["driver_floor_p99_ms"], 3)
    if "sdk_async_p99_ms" in figures and "driver_callback_p99_ms" in figures:
        figures["sdk_async_vs_driver_callback_p99"] = round(
            figures["sdk_async_p99_ms"] / figures["driver_callback_p99_ms"], 3)
    if args.baseline_tree:
        figures |= ab_figures(figures, args.baseline_tree)
    figures |= verdicts(figures)
    return figures


def _stack_pid(service: str) -> int | None:
    """The pid of the local stack's `service` ("kafka" or "cassandra"), None if it does not run."""
    from skewless.devstack.cassandra import Cassandra
    from skewless.devstack.kafka import Kafka
    from skewless.settings import load_settings

    kind = {"kafka": Kafka, "cassandra": Cassandra}[service]
    return kind(load_settings()).process.pid()


def _pin_broker(cpus: frozenset[int]) -> tuple[int, dict[int, set[int]]] | None:
    """Hold the local stack's Kafka broker to `cpus`; its pid and previous affinities, or None
    when no broker of the local stack runs (an outside broker is not touched)."""
    pid = _stack_pid("kafka")
    return None if pid is None else (pid, pin_threads(pid, cpus))


class _NoMonitor:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        pass


def _monitor(args: argparse.Namespace, children: Children, env: dict[str, str], bootstrap: str, topic: str,
             group_id: str) -> Any:
    return _NoMonitor() if args.no_stream else OffsetMonitor(children, env, bootstrap, topic, group_id)


def _wait_for_job(children: Children, monitor: OffsetMonitor, timeout_s: float, reporter: Reporter,
                  max_lag: float) -> None:
    """Until the job has committed a checkpoint that consumed events (it reads and writes) and
    has caught up with what was produced while it started (steady state, not a replay)."""
    from skewless.progress import Meter

    line = Meter("waiting for the job to run and catch up")
    deadline = time.monotonic() + timeout_s
    while monitor.consumed() == 0 or monitor.lag() > max_lag:
        children.check()
        if time.monotonic() > deadline:
            raise BenchError(f"the job did not catch up within {timeout_s:.0f} s (lag {monitor.lag():,} events); "
                             f"log {children.logs['pipeline']}"
                             + (f"; reading its offsets failed: {monitor.error}" if monitor.error else ""))
        line.show(f"{reporter.stream()}, lag {monitor.lag():,}, load {load_1m():.2f}" + (f" ({monitor.error})" if monitor.error else ""),
                  force=int(line.elapsed) % 10 == 0)
        time.sleep(1.0)
    line.done(f"running: {reporter.stream()}")


def _stream_figures(monitor: OffsetMonitor, start: float, end: float, reads: Reads, since_ms: int, topic: str) -> dict[str, Any]:
    consumed = rate_between(monitor.committed, start, end)
    produced = rate_between(monitor.produced, start, end)
    return {
        "stream_events_per_s": None if consumed is None else round(consumed, 1),
        "stream_produced_events_per_s": None if produced is None else round(produced, 1),
        "stream_lag_events_at_end": monitor.lag(),
        "stream_cassandra_rows_updated": _rows_written_since(reads, since_ms),
        "stream_job": f"jobs.pipeline via skewless.runner.run_job, user_transactions on a fresh topic, unbounded",
    }


def _rows_written_since(reads: Reads, since_ms: int) -> int:
    """user_transactions rows the job wrote to Cassandra since the measurements began."""
    from connectors.cassandra.reader import epoch_ms
    from connectors.cassandra.views import view_table
    from skewless.registry.catalogue import Catalogue

    spec = Catalogue.from_settings().spec("user_transactions")  # registered by run_pipeline
    rows = reads._session.execute(f"SELECT written_at FROM {reads.keyspace}.{view_table(spec)}")
    return sum(1 for (written,) in rows if written is not None and epoch_ms(written) >= since_ms)


def _delete_topic(bootstrap: str, topic: str) -> None:
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-serving")
        try:
            admin.delete_topics([topic, f"{topic}.dead-letters"])
        finally:
            admin.close()
    except Exception as exc:
        print(f"bench.serving: could not delete topic {topic}: {exc}", file=sys.stderr)


def _threads(call: Callable[[], bool], rate: float, seconds: float, progress: Any, workers: int = 8) -> Any:
    from skewless.serving.bench import open_loop_threads

    return open_loop_threads(call, rate=rate, seconds=seconds, workers=workers, progress=progress)


def _floor_callback(reads: Reads, rate: float, seconds: float, progress: Any) -> Any:
    from skewless.serving.bench import open_loop_callbacks

    return open_loop_callbacks(reads.floor_callback, rate=rate, seconds=seconds, progress=progress)


async def _sdk_async(reads: Reads, rate: float, seconds: float, progress: Any) -> Any:
    from skewless.serving.bench import open_loop

    return await open_loop(reads.sdk_async, rate=rate, seconds=seconds, progress=progress)


async def _http(port: int, reads: Reads, rate: float, seconds: float, progress: Any) -> Any:
    from skewless.serving.bench import BENCH_REFS, run_load

    def body() -> bytes:
        return json.dumps({"entities": [reads.key()], "features": BENCH_REFS}).encode()

    return await run_load("127.0.0.1", port, body, rate=rate, seconds=seconds, progress=progress)


def _batch_rate(reads: Reads, rate: float, reporter: Reporter) -> tuple[float, list[dict[str, Any]]]:
    """The first rate of BATCH_RATES (at or under `rate`) that a 3 s probe keeps up with, and
    each probe's figures."""
    ladder = [r for r in BATCH_RATES if r <= rate] or [rate]
    probes: list[dict[str, Any]] = []
    for candidate in ladder:
        probe = _threads(reads.sdk_batch, candidate, 3.0, reporter.progress(f"sdk_batch100 probe @ {candidate:g}/s"), workers=8)
        kept_up = probe.errors == 0 and keeps_up(probe.latencies_ms, limit_ms=100.0)
        summary = probe.summary()
        probes.append({"rate": candidate, "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"],
                       "errors": summary["errors"], "kept_up": kept_up})
        if kept_up:
            return candidate, probes
    return ladder[-1], probes


if __name__ == "__main__":
    sys.exit(main())
