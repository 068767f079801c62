"""`python -m bench.cluster`: the end-to-end rate on the local session cluster at parallelism 1
and 2, beside the local mini-cluster's, in one run.

The workload topic of bench.e2e (produced once, reused) is read by:
1. the mini-cluster, bounded, as `bench.e2e`'s max-rate phase measures it (`e2e_events_per_s`,
   repeated here as `e2e_cluster_mini_events_per_s`);
2. the session cluster (`skewless cluster up`, started if needed, left as found), deployed
   unbounded from the topic's start at parallelism 1, then 2, each on a fresh lineage and
   history table, until every event is read and the history holds still across two
   checkpoints; the job is then cancelled.
Each rate is events / (last - first written_at of that run's history rows), as bench.e2e
computes it: start-up and the end's idle time are left out. Keys:
`e2e_cluster_p1_events_per_s`, `e2e_cluster_p2_events_per_s` (and their ratios to the
mini-cluster's). On this 2-core machine the cluster's JobManager, TaskManagers, Kafka and
Cassandra share the cores with the job: parallelism 2 cannot double anything here.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from bench.__main__ import _env_int
from bench.e2e import E2EError, bench_settings, ensure_workload_topic, history_span, measure_max_rate, purge_history
from bench.workload import Workload, view_spec
from skewless.progress import Meter

SETTLE_TIMEOUT_S = 1_800.0


def _group_lag(bootstrap: str, topic: str, group: str) -> int | None:
    """Records of `topic` the group has not committed yet; None before its first commit."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-cluster")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
        committed = {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(parts)
    finally:
        admin.close()
        consumer.close()
    if not committed:
        return None
    return sum(end - committed.get(tp, 0) for tp, end in ends.items())


def measure_on_cluster(workload: Workload, settings: Any, parallelism: int) -> dict[str, Any]:
    from skewless.checkpoints import Lineage
    from skewless.cluster import jobs
    from skewless.runner import SCHEMAS

    topic, _ = ensure_workload_topic(workload, settings.kafka.bootstrap)
    spec = dataclasses.replace(view_spec(), source_topic=topic)
    lineage = Lineage(settings.home, topic, [spec.uid])
    shutil.rmtree(lineage.folder, ignore_errors=True)  # no checkpoint to resume from: read from the start
    purge_history(settings, spec)
    group = f"bench-cluster-{uuid.uuid4().hex[:12]}"
    line = Meter(f"cluster p{parallelism}, {workload.events:,} events")
    since_ms = int(time.time() * 1000)
    jobs.deploy(settings, [spec], [SCHEMAS / "transactions.avsc"], parallelism=parallelism, group_id=group,
                say=lambda text: line.show(text, force=True))
    try:
        deadline, last_rows, steady = time.monotonic() + SETTLE_TIMEOUT_S, -1, 0
        while steady < 2:
            if time.monotonic() > deadline:
                raise E2EError(f"the cluster job did not read {workload.events:,} events within {SETTLE_TIMEOUT_S:.0f} s")
            time.sleep(settings.job.checkpoint_interval_ms / 1000)
            lag = _group_lag(settings.kafka.bootstrap, topic, group)
            try:
                rows = history_span(settings, spec, since_ms)[0]
            except (E2EError, Exception):  # no table or rows yet
                rows = 0
            steady = steady + 1 if lag == 0 and rows == last_rows and rows > 0 else 0
            last_rows = rows
            line.show(f"lag {lag if lag is not None else '?'}, {rows:,} history rows")
    finally:
        jobs.stop(settings, lineage, savepoint=False, timeout_s=120.0)
    updates, first_ms, last_ms = history_span(settings, spec, since_ms)
    span_s = max(last_ms - first_ms, 1) / 1000
    rate = workload.events / span_s
    line.done(f"{rate:,.0f} events/s over {span_s:.1f} s of processing ({updates:,} updates)")
    return {f"e2e_cluster_p{parallelism}_events_per_s": round(rate, 1), f"e2e_cluster_p{parallelism}_updates": updates,
            f"e2e_cluster_p{parallelism}_processing_s": round(span_s, 2)}


def main(argv: list[str] | None = None) -> int:
    full = Workload()
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=_env_int("BENCH_EVENTS", full.events), help="env BENCH_EVENTS")
    parser.add_argument("--users", type=int, default=_env_int("BENCH_USERS", full.users), help="env BENCH_USERS")
    parser.add_argument("--days", type=int, default=full.days)
    parser.add_argument("--no-record", action="store_true", help="print the figures, leave bench/results.json alone")
    args = parser.parse_args(argv)
    if min(args.events, args.users, args.days) <= 0:
        parser.error("--events, --users and --days must be positive")
    from bench import results
    from bench.machine import load_1m
    from skewless.cluster import control

    workload = Workload(events=args.events, users=args.users, days=args.days)
    settings = bench_settings()
    started_cluster = not control.is_up(settings)
    load = [load_1m()]
    try:
        mini = measure_max_rate(workload, settings)["e2e_events_per_s"]
        load.append(load_1m())
        if started_cluster:
            control.up(settings, 300.0, lambda text: print(text, file=sys.stderr))
        figures: dict[str, Any] = {"e2e_cluster_mini_events_per_s": mini}
        for parallelism in (1, 2):
            figures.update(measure_on_cluster(workload, settings, parallelism))
            load.append(load_1m())
    except E2EError as exc:
        print(f"bench.cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_cluster:
            control.down(settings, lambda text: print(text, file=sys.stderr))
    for parallelism in (1, 2):
        figures[f"e2e_cluster_p{parallelism}_vs_mini"] = round(figures[f"e2e_cluster_p{parallelism}_events_per_s"] / mini, 3)
    figures |= {
        "e2e_cluster_events": workload.events,
        "e2e_cluster_setup": (f"session cluster of {settings.cluster.taskmanagers} TaskManagers x {settings.cluster.slots} "
                              "slots on this machine, the topic's 2 partitions, checkpoints every 10 s"),
        "e2e_cluster_loadavg_1m": load,
        "e2e_cluster_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if not args.no_record:
        results.update(figures)
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
