"""One chaos run: a live producer, an unbounded job killed again and again, store outages, then
the comparison with a fault-free bounded run of the same topic and with the oracle.

Each run is a SKEWLESS_HOME of its own (checkpoints, Iceberg catalog, specs) plus a keyspace
and namespace of its own: the chaos job's checkpoints are then the only ones the watcher
sees, and the fault-free run cannot resume from them (resuming follows a topic's lineage).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from skewless.progress import Meter
from jobs.sources import dead_letter_topic
from skewless.events.synthetic import StreamShape
from skewless.registry.store import Registry
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from skewless.devstack.cli import service_pid
from skewless.devstack.jars import state_root
from tests.chaos import compare
from tests.chaos.config import ChaosConfig
from tests.chaos.faults import JOB_KILLS, kill_service, schedule, stack_up
from tests.chaos.job import CheckpointWatch, JobProcess, skewless_command
from tests.chaos.live_producer import LiveProducer
from tests.chaos.readback import (
    consumer_lag,
    group_progress,
    history_records,
    read_dead_letters,
    read_history,
    read_online,
    read_topic,
)

VIEW = "user_transactions"
RECOVERY_TIMEOUT_S = 300.0
MAX_EXITS = 5  # the job ending by itself more often than this is a crash loop: stop the run
REFERENCE_TIMEOUT_S = 1_800.0


@dataclass(frozen=True)
class Target:
    """Where one run of the job keeps everything it writes."""

    label: str
    home: Path
    keyspace: str

    @property
    def namespace(self) -> str:
        return self.keyspace

    def settings(self) -> Settings:
        return load_settings(home=self.home, cassandra={"keyspace": self.keyspace}, iceberg={"namespace": self.namespace})

    def env(self, registry_url: str, checkpoint_ms: int) -> dict[str, str]:
        return {
            **os.environ,
            "SKEWLESS_HOME": str(self.home),
            "SKEWLESS_CASSANDRA_KEYSPACE": self.keyspace,
            "SKEWLESS_ICEBERG_NAMESPACE": self.namespace,
            "SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS": str(checkpoint_ms),
            "SKEWLESS_REGISTRY_URL": registry_url,
        }

    def prepare(self) -> None:
        """A fresh home that reuses the stack's resolved classpaths (no second Maven resolution)."""
        jars = self.home / "jars"
        jars.mkdir(parents=True, exist_ok=True)
        for cached in (state_root() / "jars").glob("*.classpath"):
            shutil.copy2(cached, jars / cached.name)  # copy2 keeps the mtime the freshness check reads


@dataclass
class Pending:
    kind: str
    issued: float  # monotonic time of the restart command
    # Outages: done only once the job's committed offsets pass this count, i.e. it consumed
    # past the fault. A checkpoint alone proves nothing there: they complete while the broker
    # is down (the source just has nothing new).
    committed_past: int | None = None


@dataclass
class Recovery:
    kind: str
    at_s: float  # since the run started
    recovery_s: float  # restart command -> next completed checkpoint (outages: one past the fault)


REPO_MODULE = '''"""The example view, reading the chaos run's own topic."""
import dataclasses

import features.transactions as example

source = dataclasses.replace(example.transactions, topic={topic!r})
user_transactions = dataclasses.replace(example.user_transactions, source=source)
'''


def resumed_from(log: Path | None) -> str | None:
    """What `skewless run` says it resumed from ("checkpoint chk-7"), from its output."""
    text = log.read_text(errors="replace") if log is not None and log.exists() else ""
    found = re.search(r"resuming from (\w+) (\S+)", text)
    return f"{found.group(1)} {Path(found.group(2)).name}" if found else None


class ChaosRun:
    def __init__(self, cfg: ChaosConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.rng = random.Random(cfg.seed)
        self.name = f"c{uuid.uuid4().hex[:10]}"
        self.topic = f"{self.name}.transactions"
        self.registry_url = f"sqlite:///{workdir / 'registry.db'}"
        self.chaos = Target("chaos", workdir / "chaos-home", f"{self.name}_chaos")
        self.reference = Target("reference", workdir / "reference-home", f"{self.name}_reference")
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.bootstrap = load_settings().kafka.bootstrap
        self.line = Meter("chaos")
        self.started = time.monotonic()
        self.watch = CheckpointWatch(self.chaos.home)
        self.job: JobProcess | None = None
        self.producer: LiveProducer | None = None
        self.pending: list[Pending] = []
        self.recoveries: list[Recovery] = []
        self.unresolved: list[dict[str, Any]] = []
        self.exits: list[dict[str, Any]] = []  # the job ending, or failing to start, by itself
        self.faults: list[dict[str, Any]] = []
        self.current = "start"
        self.outage = False  # a store is down: a job that ends now is restarted after it is back
        self.timings: dict[str, float] = {}
        self.stopped_cleanly: bool | None = None

    # ---- the run

    def run(self) -> dict[str, Any]:
        try:
            spec = self.register_view()
            return self._run(spec)
        finally:
            self.cleanup()

    def _run(self, spec: ViewSpec) -> dict[str, Any]:
        cfg = self.cfg
        hop = min(f.hop_ms for f in spec.features if f.hop_ms)
        # The stream ends mid-hop, half a hop before the last full hop: no expiry instant lies
        # between the fault-free run's horizon and the chaos job's final watermark.
        end = (int(time.time() * 1000) // hop) * hop - hop // 2
        shape = StreamShape(seed=cfg.seed, events=cfg.events, users=cfg.users, days=cfg.days, end_ms=end, disorder_ms=30_000)
        for target in (self.chaos, self.reference):
            target.prepare()
        self.producer = LiveProducer(shape, self.topic, self.bootstrap, cfg.rate, cfg.malformed, cfg.partitions)
        self.job = self.make_job()
        self.say(f"topic {self.topic}: {cfg.events:,} events at {cfg.rate:,.0f}/s, {cfg.kills} kills, logs in {self.logs}")
        self.pending.append(Pending("first-start", self.job.start()))
        self.producer.start()
        self.wait_recovered()

        kinds = self.fault_kinds()
        slot = cfg.produce_seconds / (len(kinds) + 1)
        for i, kind in enumerate(kinds):
            self.sleep_until(self.started + (i + 1) * slot)
            self.current = f"fault {i + 1}/{len(kinds)}: {kind}"
            producing = not self.producer.finished.is_set()
            if kind in self.job_kills:
                self.kill_job(kind)
            else:
                self.store_outage(kind, cfg.cassandra_outage_s if kind == "cassandra" else 0.0)
            self.faults[-1]["while_producing"] = producing
        self.current = "producing"
        while not self.producer.finished.is_set():
            self.tick()
            time.sleep(0.2)
        self.timings["produced_s"] = (self.producer.finished_at or time.monotonic()) - self.started
        self.current = "catching up"
        self.wait_caught_up(spec)
        self.timings["caught_up_s"] = self.elapsed
        self.stop_job()
        self.say("chaos job caught up and stopped; reading its outputs")
        return self.judge(spec)

    # ---- what runs the job and what kills it (tests/chaos/cluster.py runs it on a session cluster)

    job_kills: tuple[str, ...] = JOB_KILLS

    def make_job(self) -> JobProcess:
        """`skewless run --unbounded`, started again after each kill -9 of its process group."""
        return JobProcess(
            skewless_command("run", "--topic", self.topic, "--unbounded"),
            self.chaos.env(self.registry_url, self.cfg.checkpoint_ms), self.logs, "chaos-job",
        )

    def fault_kinds(self) -> list[str]:
        return schedule(self.cfg.kills, self.rng)

    def register_view(self) -> ViewSpec:
        """The example view on this run's topic, in a registry of the run's own."""
        repo = self.workdir / f"chaos_repo_{self.name}"
        repo.mkdir()
        (repo / "__init__.py").write_text(REPO_MODULE.format(topic=self.topic))
        with Registry(self.registry_url) as registry:
            plan = registry.apply(repo)
            if plan.refused:
                raise RuntimeError(f"the registry refused the chaos view: {plan}")
            return registry.view_spec(VIEW)

    def stop_job(self) -> None:
        """As an operator would: `skewless stop` (which cancels it; its checkpoints stay)."""
        assert self.job is not None
        env = self.chaos.env(self.registry_url, self.cfg.checkpoint_ms)
        stop = JobProcess(skewless_command("stop", "--topic", self.topic, "--timeout", "60"), env, self.logs, "stop")
        stop.start()
        assert stop.popen is not None and self.job.popen is not None
        try:
            stop.popen.wait(timeout=120)
            self.stopped_cleanly = stop.exit_code() == 0
            self.job.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.stopped_cleanly = False
            stop.kill()
            self.job.kill()

    # ---- faults

    def kill_job(self, mode: str) -> None:
        assert self.job is not None
        self.wait_recovered()
        checkpoint = self.wait_new_checkpoint(max(60.0, 20 * self.cfg.checkpoint_ms / 1000))
        if mode == "mid-interval":
            self.sleep_for(self.rng.uniform(0.3, 0.7) * self.cfg.checkpoint_ms / 1000)
        pids = self.job.kill()
        self.watch.poll()  # what the killed job completed is not the restarted one's
        after = checkpoint.parent.name if checkpoint else "no new checkpoint"
        self.faults.append({"kind": mode, "at_s": round(self.elapsed, 1), "after": after, "processes": len(pids)})
        self.pending.append(Pending(mode, self.job.start()))
        kills = sum(f["kind"] in self.job_kills for f in self.faults)
        self.say(f"kill -9 {kills}/{self.cfg.kills} ({mode}, {len(pids)} processes, after {after}); `skewless run` again")
        self.wait_recovered()
        self.faults[-1]["resumed_from"] = resumed_from(self.job.log_path)

    def store_outage(self, service: str, down_s: float) -> None:
        self.wait_recovered()
        before = len(self.watch.completed)
        committed = group_progress(self.bootstrap, self.topic)[0]
        self.outage = True
        pid = kill_service(service)
        killed = time.monotonic()
        self.say(f"kill -9 {service} (pid {pid}); `skewless stack up` in {down_s:.0f} s")
        self.sleep_for(down_s)
        issued = time.monotonic()
        took = stack_up(self.logs / "stack-up.log", self.tick)
        self.pending.append(Pending(f"{service}-outage", issued, committed_past=-1 if committed is None else committed))
        self.outage = False
        self.faults.append({
            "kind": service, "at_s": round(killed - self.started, 1), "down_s": round(time.monotonic() - killed, 1),
            "stack_up_s": round(took, 1), "checkpoints_while_down": len(self.watch.completed) - before,
        })
        self.say(f"{service} back after {time.monotonic() - killed:.0f} s ({took:.0f} s of `stack up`)")
        self.wait_recovered()

    # ---- waiting, while watching the job

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        self.line.done(text)

    def tick(self) -> None:
        """Note new checkpoints (resolving recoveries), notice a job that ended, redraw the status line."""
        assert self.job is not None
        if self.watch.poll():
            seen = self.watch.completed[-1][0]
            for p in [p for p in self.pending if p.issued <= seen and self.progressed(p)]:
                self.pending.remove(p)
                self.recoveries.append(Recovery(p.kind, round(p.issued - self.started, 1), round(seen - p.issued, 2)))
        code = self.job.exit_code()
        if code is not None and not self.outage:
            if len(self.exits) >= MAX_EXITS:
                raise RuntimeError(f"the job keeps ending by itself: {self.exits}")
            # Before its first checkpoint the command failed to start the job; after, the job failed.
            started = any(t >= self.job.issued for t, _ in self.watch.completed)
            what = "the job ended by itself" if started else "`skewless run` failed to start the job"
            self.exits.append({"what": what, "at_s": round(self.elapsed, 1), "during": self.current, "exit_code": code,
                               "log": self.job.log_path.name if self.job.log_path else None,
                               "tail": self.job.log_tail(12)})
            self.say(f"{what} (exit {code}) during {self.current}; `skewless run` again")
            self.pending.append(Pending("after-exit", self.job.start()))
        producer = self.producer
        sent = f"{producer.acked:,}/{producer.total:,} sent" if producer else ""
        self.line.show(f"{sent}, {self.current}, job starts {self.job.starts}, checkpoints {len(self.watch.completed)}")

    def progressed(self, pending: Pending) -> bool:
        if pending.committed_past is None:
            return True
        try:
            committed, end = group_progress(self.bootstrap, self.topic)
        except Exception:  # the broker just came back: ask again at the next checkpoint
            return False
        return committed is not None and (committed > pending.committed_past or committed >= end)

    def sleep_for(self, seconds: float) -> None:
        self.sleep_until(time.monotonic() + seconds)

    def sleep_until(self, instant: float) -> None:
        while time.monotonic() < instant:
            self.tick()
            time.sleep(min(0.1, max(0.0, instant - time.monotonic())))

    def wait_new_checkpoint(self, timeout_s: float) -> Path | None:
        count = len(self.watch.completed)
        deadline = time.monotonic() + timeout_s
        while len(self.watch.completed) == count and time.monotonic() < deadline:
            self.tick()
            time.sleep(0.05)
        return self.watch.completed[-1][1] if len(self.watch.completed) > count else None

    def wait_recovered(self) -> None:
        """Until every restart so far was followed by a completed checkpoint (or gave up waiting)."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while self.pending and time.monotonic() < deadline:
            self.tick()
            time.sleep(0.05)
        for p in self.pending:
            self.unresolved.append({"kind": p.kind, "at_s": round(p.issued - self.started, 1)})
            self.say(f"no checkpoint within {RECOVERY_TIMEOUT_S:.0f} s of the {p.kind} restart")
        self.pending.clear()

    def wait_caught_up(self, spec: ViewSpec, timeout_s: float = 600.0) -> None:
        """Until the job's group has no lag and the history's row count held across two
        checkpoint intervals: everything read, written and committed."""
        readings: list[tuple[int | None, int | None]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.wait_new_checkpoint(60.0) is None:
                continue
            self.sleep_for(0.5)  # the Iceberg commit follows the checkpoint's completion
            readings.append((consumer_lag(self.bootstrap, self.topic), history_records(self.chaos.home, self.chaos.namespace, spec)))
            last = readings[-3:]
            if len(last) == 3 and all(lag == 0 for lag, _ in last) and last[0][1] is not None and len({n for _, n in last}) == 1:
                return
        raise TimeoutError(f"the chaos job did not catch up within {timeout_s:.0f} s; last (lag, history rows): {readings[-3:]}")

    # ---- judging

    def judge(self, spec: ViewSpec) -> dict[str, Any]:
        assert self.producer is not None
        contents = read_topic(self.bootstrap, spec)
        # The chaos job's final watermark is at least this (the watermark is the slowest
        # partition's, or later); the fault-free run emits expiries up to it.
        horizon = min(contents.max_time.values()) - spec.out_of_orderness_ms - 1
        latest = max(contents.max_time.values())
        boundary = any((latest // f.hop_ms) * f.hop_ms > horizon for f in spec.features if f.hop_ms)
        # Read now: the fault-free run writes its own letters to the same topic.
        letters = read_dead_letters(self.bootstrap, dead_letter_topic(self.topic))
        chaos_history = read_history(self.chaos.home, self.chaos.namespace, spec)
        entities = sorted(contents.by_entity)
        chaos_online = read_online(spec, self.chaos.settings(), entities)

        self.current = "fault-free bounded run"
        self.say(f"fault-free run: `skewless run --topic {self.topic} --bounded --until {horizon}`")
        # A group of its own: the default one is the chaos job's, whose committed offsets the lag
        # check reads and whose name keys the dead-letter sink's transactional ids.
        reference = JobProcess(
            skewless_command("run", "--topic", self.topic, "--bounded", "--until", str(horizon),
                             "--group-id", f"{self.name}-reference"),
            self.reference.env(self.registry_url, self.cfg.checkpoint_ms), self.logs, "reference-job",
        )
        issued = reference.start()
        while reference.running:
            if time.monotonic() - issued > REFERENCE_TIMEOUT_S:
                reference.kill()
                raise TimeoutError(f"the fault-free run took over {REFERENCE_TIMEOUT_S:.0f} s:\n{reference.log_tail()}")
            self.line.show(f"fault-free run {time.monotonic() - issued:.0f} s")
            time.sleep(0.5)
        if reference.exit_code() != 0:
            raise RuntimeError(f"the fault-free run failed (exit {reference.exit_code()}):\n{reference.log_tail()}")
        self.timings["reference_run_s"] = round(time.monotonic() - issued, 1)
        reference_history = read_history(self.reference.home, self.reference.namespace, spec)
        reference_online = read_online(spec, self.reference.settings(), entities)

        self.say("comparing with the fault-free run and the oracle")
        history = compare.compare_history(chaos_history, reference_history, spec.features, horizon)
        sample = compare.chaos_steps_sample(chaos_history, horizon, self.cfg.oracle_rows, self.cfg.seed)
        oracle = compare.history_against_oracle(sample, contents, spec.features)
        online = compare.compare_online(chaos_online, reference_online, contents, spec.features)
        dead = compare.compare_letters(letters, contents.malformed)
        return self.report(contents.good, horizon, boundary, history, oracle, online, dead)

    def report(self, events: int, horizon: int, boundary: bool, history: compare.HistoryDiff,
               oracle: compare.OracleDiff, online: compare.OnlineDiff, dead: compare.LetterDiff) -> dict[str, Any]:
        assert self.producer is not None
        times = [r.recovery_s for r in self.recoveries if r.kind != "first-start"]
        sent = self.producer.sent
        return {
            "topic": self.topic,
            "config": self.cfg.to_dict(),
            "events_in_topic": events,
            "malformed_sent": len(sent.malformed),
            "producer_errors": sent.errors[:5],
            "horizon_ms": horizon,
            "hop_boundary_past_horizon": boundary,
            "kills": sum(f["kind"] in self.job_kills for f in self.faults),
            "faults": self.faults,
            "job_starts": self.job.starts if self.job else 0,
            "job_exits": self.exits,  # the job or its start failing without a kill
            "recoveries": [asdict(r) for r in self.recoveries],
            "recoveries_unresolved": self.unresolved,
            "recovery_p50_s": round(statistics.median(times), 2) if times else None,
            "recovery_max_s": round(max(times), 2) if times else None,
            "checkpoints": len(self.watch.completed),
            "stopped_with_skewless_stop": self.stopped_cleanly,
            "timings_s": {k: round(v, 1) for k, v in self.timings.items()},
            "history": asdict(history),
            "oracle": asdict(oracle),
            "online": asdict(online),
            "dead_letters": asdict(dead),
            "ok": {
                "history": history.ok,
                "oracle": oracle.mismatched == 0,
                "online": online.ok,
                "dead_letters": dead.ok,
                "no_job_exits": not self.exits,
                "all_recovered": not self.unresolved,
                "producer": not sent.errors,
            },
        }

    def cleanup(self) -> None:
        """Whatever happened: the producer and job stopped, the stack running again."""
        if self.producer is not None:
            self.producer.stopping.set()
        if self.job is not None and self.job.running:
            self.job.kill()
        if any(service_pid(name) is None for name in ("kafka", "cassandra")):
            stack_up(self.logs / "stack-up.log")
