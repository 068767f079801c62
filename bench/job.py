"""One benchmark job, run in a process of its own: `python -m bench.job --variant ...`.

A fresh process per job gives every variant a cold JVM and its own local mini-cluster,
so no variant profits from another's JIT warm-up, and a crash stays contained. The job
reads the CSV file with Flink's filesystem connector and ends in a blackhole sink; it
prints one JSON line: wall seconds from submission to completion, and Flink's own net
runtime of the job.

Variants:
- `skewless`: table -> to_data_stream -> the pipeline's aggregation operator
  (`jobs.operators.JvmJob.aggregate`: key by user, JVM tile engine built from the ViewSpec) -> blackhole.
- `native_over`: Flink SQL OVER ... RANGE windows computing the same five features. Flink
  accepts only one window per SELECT level, so the windows nest, one level each.
- `passthrough`: source -> blackhole, the ceiling for any operator on this input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from skewless.devstack import flink_home

VARIANTS = ("skewless", "native_over", "passthrough")


def source_ddl(path: Path, watermark_delay_ms: int) -> str:
    return f"""
        CREATE TABLE events (
            user_id STRING,
            event_time BIGINT,
            amount DOUBLE,
            ts AS TO_TIMESTAMP_LTZ(event_time, 3),
            WATERMARK FOR ts AS ts - INTERVAL '{watermark_delay_ms / 1000:.3f}' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{path.resolve().as_uri()}', 'format' = 'csv')
    """


def over(window: str) -> str:
    return f"OVER (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL {window} PRECEDING AND CURRENT ROW)"


# The five features of bench.workload.FEATURES; the innermost SELECT computes the two that
# share one window (30 days), each outer level adds one.
NATIVE_OVER_SQL = f"""
    INSERT INTO sink_features
    SELECT user_id, event_time, avg_amount_30d, count_30d, max_amount_7d, sum_amount_1d,
           COUNT(*) {over("'1' HOUR")} AS count_1h
    FROM (
        SELECT user_id, ts, event_time, avg_amount_30d, count_30d, max_amount_7d,
               SUM(amount) {over("'1' DAY")} AS sum_amount_1d
        FROM (
            SELECT user_id, ts, event_time, amount, avg_amount_30d, count_30d,
                   MAX(amount) {over("'7' DAY")} AS max_amount_7d
            FROM (
                SELECT user_id, ts, event_time, amount,
                       AVG(amount) {over("'30' DAY")} AS avg_amount_30d,
                       COUNT(*) {over("'30' DAY")} AS count_30d
                FROM events)))
"""


def run(variant: str, path: Path, parallelism: int, rest_port: int, expiry_horizon: int, work_dir: Path) -> dict:
    flink_home.apply_to_environ()  # before anything starts PyFlink's JVM

    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from bench.workload import WATERMARK_DELAY_MS, view_spec
    from jobs.pipeline import flink_configuration
    from jobs.operators import JvmJob, job_document

    # The project's flink-conf (thread mode, state cache, checkpointing), as the pipeline runs.
    config = flink_configuration()
    config.set_string("execution.checkpointing.dir", (work_dir / "checkpoints").resolve().as_uri())
    config.set_string("python.executable", sys.executable)
    config.set_string("python.client.executable", sys.executable)
    config.set_string("rest.port", str(rest_port))
    config.set_string("rest.bind-port", str(rest_port))
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    t_env = StreamTableEnvironment.create(env)
    t_env.execute_sql(source_ddl(path, WATERMARK_DELAY_MS))
    spec = view_spec()
    columns = ", ".join(f"{f.name} {'BIGINT' if f.value_type == 'long' else 'DOUBLE'}" for f in spec.features)

    if variant == "passthrough":
        t_env.execute_sql("CREATE TABLE sink_events (user_id STRING, event_time BIGINT, amount DOUBLE) WITH ('connector' = 'blackhole')")
        started = time.monotonic()
        client = t_env.execute_sql("INSERT INTO sink_events SELECT user_id, event_time, amount FROM events").get_job_client()
    elif variant == "native_over":
        t_env.execute_sql(f"CREATE TABLE sink_features (user_id STRING, event_time BIGINT, {columns}) WITH ('connector' = 'blackhole')")
        started = time.monotonic()
        client = t_env.execute_sql(NATIVE_OVER_SQL).get_job_client()
    elif variant == "skewless":
        # The decoded-event row TileAggregator reads: key, event time, inputs, then origin.
        rows = t_env.to_data_stream(
            t_env.sql_query(
                "SELECT user_id, event_time, amount, 'bench' AS topic, 0 AS `partition`, CAST(0 AS BIGINT) AS `offset` FROM events"
            )
        )
        job = JvmJob(job_document((), [spec], expiry_horizon=expiry_horizon))
        updates = job.aggregate(spec, rows).name(f"tiles {spec.name}").uid(f"{spec.uid}-tiles")
        t_env.execute_sql(
            f"CREATE TABLE sink_updates (user_id STRING, {columns}, valid_from BIGINT, written_at BIGINT, version BIGINT) "
            "WITH ('connector' = 'blackhole')"
        )
        statements = t_env.create_statement_set()
        statements.add_insert("sink_updates", t_env.from_data_stream(updates))
        statements.attach_as_datastream()
        started = time.monotonic()
        client = env.execute_async(f"bench {variant}")
    else:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")

    result = client.get_job_execution_result().result()
    seconds = time.monotonic() - started

    from pyflink.java_gateway import get_gateway
    from pyflink.version import __version__ as flink_version

    return {
        "variant": variant,
        "seconds": seconds,
        "net_runtime_s": result.get_net_runtime() / 1000,
        "job_id": str(client.get_job_id()),
        "flink_version": flink_version,
        "java_version": get_gateway().jvm.java.lang.System.getProperty("java.version"),
        "execution_mode": config.get_string("python.execution-mode", "process"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", required=True, choices=VARIANTS)
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--rest-port", type=int, required=True)
    parser.add_argument("--expiry-horizon", type=int, required=True, help="epoch ms: no tile-expiry updates past it")
    parser.add_argument("--work-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    outcome = run(args.variant, args.input, args.parallelism, args.rest_port, args.expiry_horizon, args.work_dir)
    print("BENCH_RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
