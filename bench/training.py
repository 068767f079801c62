"""`python -m bench.training`: training sets from the Iceberg history against raw DuckDB.

One view's history (default 100k entities x 100 updates = 10M rows, three double
features) is written through the project's own catalog and history-table code
(`ensure_history_table`: day(valid_from) partitions, sorted by (user_id, valid_from)
within each, one commit per day as a checkpointing writer would: the layout
`skewless history compact` leaves Flink's files in) into a bench-only
SQLite catalog and warehouse under `bench/out/training/<parameters>/`, beside 1M labels.
Both are cached by their parameters, so a rerun only measures.

Measured, each on the same labels and history, each side `--repeat` times (default 3)
in its process, its median reported (the first call, with a cold heap and cold kernels,
is also reported: `*_first_call_rows_per_s`):
- `training_label_rows_per_s`: `join_history(..., as_of="event_time")` end
  to end (catalog, pruned chunked scans from the Parquet files, point-in-time joins,
  labels' order restored), in a fresh child process whose peak RSS over its calls is
  `training_peak_rss_mb`;
- `duckdb_raw_rows_per_s`: a plain DuckDB `ASOF LEFT JOIN` of the same labels against
  the same history rows already in memory as Arrow (no file reading, no TTL, no
  tie-breaking, no order): the floor cost of the join itself.

Scale down with --entities/--updates/--labels (env BENCH_TRAINING_ENTITIES,
BENCH_TRAINING_UPDATES, BENCH_TRAINING_LABELS), or --history-rows (entities x updates).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.__main__ import _env_int
from bench.machine import peak_rss_bytes, reset_peak_rss, rss_bytes

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "training"
DAY_US = 86_400_000_000
START_US = 1_700_006_400_000_000  # 2023-11-15T00:00:00Z, a day boundary
FEATURES = ("avg_amount", "sum_amount", "max_amount")
VIEW = "bench_training"
LAYOUT = 2  # bump when the generated data or table layout changes: the cache key includes it


@dataclass(frozen=True)
class Params:
    entities: int = 100_000
    updates: int = 100  # per entity
    days: int = 30
    labels: int = 1_000_000
    ttl_days: int = 7
    seed: int = 11

    @property
    def history_rows(self) -> int:
        return self.entities * self.updates

    @property
    def dir(self) -> Path:
        return OUT / (
            f"e{self.entities}-u{self.updates}-d{self.days}-l{self.labels}-s{self.seed}-layout{LAYOUT}"
        )

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    @property
    def labels_path(self) -> Path:
        return self.dir / "labels.parquet"


def _catalog_cfg(params: Params):
    from connectors.iceberg.catalog import CatalogConfig

    return CatalogConfig(state_dir=params.state_dir)


def _history_table():
    from connectors.iceberg.history import Column, HistoryTable

    return HistoryTable(VIEW, keys=(Column("user_id", "string"),), features=tuple(Column(f, "double") for f in FEATURES))


def _key_strings(n: int):
    import pyarrow as pa

    width = len(str(n - 1))
    return pa.array([f"u{i:0{width}d}" for i in range(n)], pa.string())  # zero-padded: string order = id order


def ensure_data(params: Params) -> None:
    """Generate the history table and the labels once per parameter set."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from skewless.progress import Meter
    from connectors.iceberg.catalog import load_pyiceberg_catalog
    from connectors.iceberg.history import ensure_history_table

    done = params.dir / "complete"
    if done.exists():
        print(f"training bench: cached data in {params.dir.relative_to(REPO)}", file=sys.stderr, flush=True)
        return
    if params.dir.exists():  # a half-written earlier attempt
        import shutil

        shutil.rmtree(params.dir)
    params.dir.mkdir(parents=True)
    line = Meter("training data")
    rng = np.random.default_rng(params.seed)
    n = params.history_rows
    span_us = params.days * DAY_US
    line.show(f"drawing {n:,} updates of {params.entities:,} entities over {params.days} days", force=True)
    entity = np.repeat(np.arange(params.entities, dtype=np.int64), params.updates)
    valid_from = START_US + rng.integers(0, span_us, n, dtype=np.int64)
    # Most updates are written within seconds; 5% are late corrections up to a day later.
    delay = rng.integers(0, 5_000_000, n, dtype=np.int64)
    late = rng.random(n) < 0.05
    delay[late] = rng.integers(0, DAY_US, int(late.sum()), dtype=np.int64)
    written_at = valid_from + delay
    day = (valid_from - START_US) // DAY_US
    line.show("sorting by (day, user_id, valid_from), the table's partitioning and sort order", force=True)
    order = np.lexsort((valid_from, entity, day))
    entity, valid_from, written_at, day = entity[order], valid_from[order], written_at[order], day[order]
    version = np.arange(n, dtype=np.int64)
    values = {f: rng.normal(100.0, 30.0, n) for f in FEATURES}
    keys = _key_strings(params.entities)

    cfg = _catalog_cfg(params)
    catalog = load_pyiceberg_catalog(cfg)
    table = ensure_history_table(cfg, _history_table(), catalog)
    schema = table.schema().as_arrow()
    utc = pa.timestamp("us", "UTC")
    bounds = np.searchsorted(day, np.arange(params.days + 1))
    for d in range(params.days):
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        columns = {
            "user_id": keys.take(pa.array(entity[lo:hi])),
            **{f: pa.array(values[f][lo:hi]) for f in FEATURES},
            "valid_from": pa.array(valid_from[lo:hi]).cast(utc),
            "written_at": pa.array(written_at[lo:hi]).cast(utc),
            "version": pa.array(version[lo:hi]),
        }
        table.append(pa.table(columns).cast(schema))  # one commit per day, like one per checkpoint
        line.show(f"appended day {d + 1}/{params.days} ({hi:,}/{n:,} rows, {100 * hi // n}%)")
    del entity, valid_from, written_at, values

    line.show(f"drawing {params.labels:,} labels", force=True)
    label_entity = rng.integers(0, params.entities, params.labels)
    label_ms = (START_US // 1000) + rng.integers(0, span_us // 1000 + 86_400_000, params.labels)
    labels = pa.table({
        "user_id": keys.take(pa.array(label_entity)),
        "timestamp": pa.array(label_ms, pa.int64()),
        "label": pa.array(rng.random(params.labels) < 0.1),
    })
    pq.write_table(labels, params.labels_path)
    (params.dir / "params.json").write_text(json.dumps(asdict(params), indent=2) + "\n")
    done.touch()
    line.done(f"{n:,} history rows in {params.days} day partitions, {params.labels:,} labels, in {params.dir.relative_to(REPO)}")


def child(params: Params, chunk_rows: int, repeat: int) -> dict:
    """In a fresh process: time join_history `repeat` times, and its peak RSS."""
    import pyarrow.parquet as pq

    from skewless.progress import Meter
    from connectors.iceberg.catalog import load_pyiceberg_catalog
    from skewless.training import join_history

    labels = pq.read_table(params.labels_path)
    cfg = _catalog_cfg(params)
    # Imports (pyiceberg's SQL catalog, its Arrow reader, DuckDB) are once per process,
    # not per call: load them outside the timing, as the raw DuckDB side does.
    import duckdb  # noqa: F401
    import pyiceberg.io.pyarrow  # noqa: F401

    load_pyiceberg_catalog(cfg)
    reset = reset_peak_rss()
    before_kib = rss_bytes() // 1024
    times, result = [], None
    for call in range(repeat):
        line = Meter(f"training set: labels joined (call {call + 1}/{repeat})")
        del result  # the previous call's answer: each call starts from the same memory
        started = time.perf_counter()
        catalog = load_pyiceberg_catalog(cfg)  # part of the call's cost, as in the CLI
        result = join_history(
            labels, VIEW, cfg, params.ttl_days * 86_400_000, "event_time", catalog=catalog,
            chunk_rows=chunk_rows, progress=line,
        )
        times.append(time.perf_counter() - started)
        line.done(f"{result.num_rows:,} labels in {times[-1]:.2f} s")
    peak_kib = peak_rss_bytes() // 1024 if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    present = result.num_rows - result.column(FEATURES[0]).null_count
    return {
        "seconds": statistics.median(times),
        "first_seconds": times[0],
        "all_seconds": times,
        "rows": result.num_rows,
        "with_features": present,
        "rss_before_mb": before_kib / 1024,
        "peak_rss_mb": (peak_kib or 0) / 1024,
        "peak_from": "VmHWM reset before the calls" if reset else "ru_maxrss of the process",
    }


def raw_duckdb(params: Params, repeat: int) -> dict:
    """The same labels ASOF-joined to the same history rows, all in memory, by DuckDB alone."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from skewless.progress import Meter
    from connectors.iceberg.catalog import load_pyiceberg_catalog

    line = Meter("raw DuckDB")
    line.show(f"loading {params.history_rows:,} history rows into memory", force=True)
    table = load_pyiceberg_catalog(_catalog_cfg(params)).load_table(_history_table().identifier(_catalog_cfg(params).namespace))
    hist = table.scan().to_arrow()
    labels = pq.read_table(params.labels_path)
    labels = labels.append_column("ts", pc.multiply(labels["timestamp"], 1000).cast(pa.timestamp("us", "UTC")))
    con = duckdb.connect()
    con.register("labels", labels)
    con.register("hist", hist)
    feats = ", ".join(f"h.{f}" for f in FEATURES)
    query = f"""SELECT l.user_id, l.timestamp, l.label, {feats}
                FROM labels l ASOF LEFT JOIN hist h ON l.user_id = h.user_id AND l.ts >= h.valid_from"""
    times, out = [], None
    for call in range(repeat):
        line.show(f"ASOF JOIN of {labels.num_rows:,} labels with {hist.num_rows:,} rows (call {call + 1}/{repeat})", force=True)
        del out
        started = time.perf_counter()
        out = con.sql(query).to_arrow_table()
        times.append(time.perf_counter() - started)
    line.done(f"{out.num_rows:,} labels in {statistics.median(times):.2f} s (median of {repeat})")
    con.close()
    return {
        "seconds": statistics.median(times), "first_seconds": times[0], "all_seconds": times,
        "rows": out.num_rows, "history_rows": hist.num_rows,
    }


def _warm_page_cache(params: Params) -> None:
    """Read every data file once, so neither side pays for a cold disk."""
    for path in params.state_dir.rglob("*.parquet"):
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


def run(params: Params, chunk_rows: int, repeat: int = 3, record: bool = True) -> dict:
    from bench import results
    from bench.machine import load_1m

    ensure_data(params)
    _warm_page_cache(params)
    load_start = load_1m()
    cmd = [
        sys.executable, "-m", "bench.training", "--child", "--chunk-rows", str(chunk_rows), "--repeat", str(repeat),
        *_param_args(params),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    marked = [row for row in done.stdout.splitlines() if row.startswith("BENCH_RESULT ")]
    if done.returncode != 0 or not marked:
        raise SystemExit(f"training bench: the measured child failed (exit {done.returncode})")
    ours = json.loads(marked[-1].removeprefix("BENCH_RESULT "))
    load_mid = load_1m()
    raw = raw_duckdb(params, repeat)
    load_end = load_1m()
    if ours["rows"] != params.labels or raw["rows"] != params.labels:
        raise SystemExit(f"training bench: expected {params.labels:,} rows, got {ours['rows']:,} and {raw['rows']:,}")
    ours_rate = params.labels / ours["seconds"]
    raw_rate = params.labels / raw["seconds"]
    figures = {
        "training_label_rows_per_s": round(ours_rate, 1),
        "duckdb_raw_rows_per_s": round(raw_rate, 1),
        "training_vs_duckdb_raw": round(ours_rate / raw_rate, 4),
        "training_first_call_vs_duckdb_raw": round(raw["first_seconds"] / ours["first_seconds"], 4),
        "training_peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "training_rss_before_call_mb": round(ours["rss_before_mb"], 1),
        "training_seconds": round(ours["seconds"], 3),
        "duckdb_raw_seconds": round(raw["seconds"], 3),
        "training_all_seconds": [round(x, 3) for x in ours["all_seconds"]],
        "duckdb_raw_all_seconds": [round(x, 3) for x in raw["all_seconds"]],
        "training_first_call_rows_per_s": round(params.labels / ours["first_seconds"], 1),
        "duckdb_raw_first_call_rows_per_s": round(params.labels / raw["first_seconds"], 1),
        "training_repeat": repeat,
        "training_labels": params.labels,
        "training_history_rows": raw["history_rows"],
        "training_entities": params.entities,
        "training_days": params.days,
        "training_ttl_days": params.ttl_days,
        "training_chunk_rows": chunk_rows,
        "training_labels_with_features": ours["with_features"],
        "training_loadavg_1m": [load_start, load_mid, load_end],
        "training_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if record:
        results.update(figures)
    print(
        f"\nmedians of {repeat} calls each (first calls: ratio {raw['first_seconds'] / ours['first_seconds']:.3f})\n"
        f"training set: {ours_rate:,.0f} label rows/s ({ours['seconds']:.2f} s, peak RSS {ours['peak_rss_mb']:,.0f} MB, "
        f"{ours['rss_before_mb']:,.0f} MB before the call)\n"
        f"raw DuckDB:   {raw_rate:,.0f} label rows/s ({raw['seconds']:.2f} s)\n"
        f"ratio {ours_rate / raw_rate:.3f}; load average (1 min) {load_start} / {load_mid} / {load_end}"
        + ("" if record else "\n(not recorded: --no-record)")
    )
    return figures


def _param_args(params: Params) -> list[str]:
    return [
        "--entities", str(params.entities), "--updates", str(params.updates), "--days", str(params.days),
        "--labels", str(params.labels), "--ttl-days", str(params.ttl_days), "--seed", str(params.seed),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from skewless.training.historical import DEFAULT_CHUNK_ROWS

    full = Params()
    parser = argparse.ArgumentParser(
        prog="python -m bench.training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=_env_int("BENCH_TRAINING_ENTITIES", full.entities))
    parser.add_argument("--updates", type=int, default=_env_int("BENCH_TRAINING_UPDATES", full.updates),
                        help="updates per entity")
    parser.add_argument("--history-rows", type=int, default=None,
                        help="total history rows: sets --updates to this / --entities")
    parser.add_argument("--labels", type=int, default=_env_int("BENCH_TRAINING_LABELS", full.labels))
    parser.add_argument("--days", type=int, default=full.days, help="days the history spans (one partition each)")
    parser.add_argument("--ttl-days", type=int, default=full.ttl_days)
    parser.add_argument("--seed", type=int, default=full.seed)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help="join_history(chunk_rows=)")
    parser.add_argument("--repeat", type=int, default=3, help="calls on each side; the median is reported")
    parser.add_argument("--no-record", action="store_true", help="print the figures, leave bench/results.json alone")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.history_rows is not None:
        args.updates = max(1, args.history_rows // args.entities)
    if min(args.entities, args.updates, args.labels, args.days, args.ttl_days, args.chunk_rows, args.repeat) <= 0:
        parser.error("sizes must be positive")
    params = Params(args.entities, args.updates, args.days, args.labels, args.ttl_days, args.seed)
    if args.child:
        print("BENCH_RESULT " + json.dumps(child(params, args.chunk_rows, args.repeat)), flush=True)
        return 0
    run(params, args.chunk_rows, args.repeat, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
