"""`python -m bench.cassandra_clients`: the single-entity read through four Cassandra
clients, interleaved in one session, against the local stack's Cassandra.

Clients (each in a worker process of its own, so that none shares an interpreter, a
driver IO thread or a GIL with another):
- `direct`: skewless's direct path (`connectors.cassandra.row_reader.DirectRowReader`,
  blocking, on the calling thread), as the SDK's single-entity read uses it;
- `driver`: cassandra-driver's blocking `Session.execute` of the same prepared statement,
  token-aware, tuple rows (the SDK's fallback);
- `scylla`: the same code as `driver` on scylla-driver (a fork installing the same
  `cassandra` module), from the interpreter given by `--scylla-python`;
- `acsylla`: acsylla's prepared statement, `await session.execute(...)` on an asyncio
  loop (it has no blocking API), from `--acsylla-python`.
The two foreign clients live in throwaway venvs (never the project's), e.g.
`python3.11 -m venv /tmp/venv-scylla && /tmp/venv-scylla/bin/pip install scylla-driver==3.29.12`.

Load: one read in flight (a scoring call: read, then the next), over the same sample of
keys of the same 21-column table, a warm-up, then `--reads` reads per client per round,
`--rounds` rounds in rotating order. Per read: the latency (perf_counter); per worker: the
process's CPU time (every thread, the drivers' IO threads included) over the measured
reads. Results: p50/p99 and CPU per read per client into bench/results.json (`client_ab_*`).

This file's top level imports the standard library only: the foreign clients' workers run
it as a script from their own venvs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

KEYSPACE, TABLE, KEY = "bench_clients", "features", "entity"
FEATURES = tuple(f"f{i}" for i in range(20))
COLUMNS = ("valid_from", *FEATURES)  # as the SDK reads a 20-feature view
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {KEYSPACE}.{TABLE} WHERE {KEY} = ?"
CLIENTS = ("direct", "driver", "scylla", "acsylla")
REPO = Path(__file__).resolve().parents[1]


# -- workers: one client, N reads, figures as one JSON line on stdout ------------------

def _measure(read: Callable[[str], Any], keys: list[str], warmup: int, reads: int) -> dict[str, Any]:
    for key in keys[:warmup]:
        read(key)
    latencies: list[int] = []
    found = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(reads):
        started = time.perf_counter_ns()
        row = read(keys[i % len(keys)])
        latencies.append(time.perf_counter_ns() - started)
        found += row is not None
    return {"latencies_ns": latencies, "cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
            "rows_found": found}


def _driver_worker(contact: tuple[str, int], keys: list[str], warmup: int, reads: int) -> dict[str, Any]:
    import cassandra
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
    from cassandra.query import tuple_factory

    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy("datacenter1")),
                               consistency_level=ConsistencyLevel.LOCAL_QUORUM, row_factory=tuple_factory,
                               request_timeout=2.0)
    cluster = Cluster([contact[0]], port=contact[1], execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    session = cluster.connect()
    select = session.prepare(SELECT)
    try:
        figures = _measure(lambda key: session.execute(select, (key,)).one(), keys, warmup, reads)
    finally:
        cluster.shutdown()
    return figures | {"version": cassandra.__version__}


def _direct_worker(contact: tuple[str, int], keys: list[str], warmup: int, reads: int) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    import cassandra
    from cassandra.query import tuple_factory

    from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
    from connectors.cassandra.row_reader import choose_row_reader
    from connectors.cassandra.session import connect_cluster

    cluster = connect_cluster(f"{contact[0]}:{contact[1]}", row_factory=tuple_factory, request_timeout_s=2.0)
    session = cluster.connect()
    config = OnlineReaderConfig(contact_points=f"{contact[0]}:{contact[1]}", keyspace=KEYSPACE, table=TABLE,
                                key_column=KEY, feature_columns=FEATURES)
    reader = OnlineReader(config, session=session)
    rows = choose_row_reader({TABLE: reader}.__getitem__, session, local_datacenter="datacenter1", timeout_s=2.0)
    if rows.name != "direct":
        raise SystemExit("the direct path was not chosen (see the log line above)")
    try:
        figures = _measure(lambda key: rows.read(TABLE, key), keys, warmup, reads)
    finally:
        rows.close()
        cluster.shutdown()
    return figures | {"version": f"skewless direct path over cassandra-driver {cassandra.__version__}"}


def _acsylla_worker(contact: tuple[str, int], keys: list[str], warmup: int, reads: int) -> dict[str, Any]:
    import asyncio

    import acsylla
    from importlib.metadata import version

    async def run() -> dict[str, Any]:
        cluster = acsylla.create_cluster([contact[0]], port=contact[1], consistency="LOCAL_QUORUM",
                                         load_balance_dc_aware="datacenter1", request_timeout=2.0)
        session = await cluster.create_session(keyspace=KEYSPACE)
        select = await session.create_prepared(SELECT)
        loop = asyncio.get_running_loop()
        latencies: list[int] = []
        found = 0

        async def one(key: str) -> Any:
            return (await session.execute(select.bind([key]))).first()

        for key in keys[:warmup]:
            await one(key)
        cpu, wall = time.process_time(), loop.time()
        for i in range(reads):
            started = time.perf_counter_ns()
            row = await one(keys[i % len(keys)])
            latencies.append(time.perf_counter_ns() - started)
            found += row is not None
        figures = {"latencies_ns": latencies, "cpu_s": time.process_time() - cpu, "wall_s": loop.time() - wall,
                   "rows_found": found}
        await session.close()
        return figures

    return asyncio.run(run()) | {"version": version("acsylla")}


WORKERS = {"direct": _direct_worker, "driver": _driver_worker, "scylla": _driver_worker, "acsylla": _acsylla_worker}


# -- the orchestrator ------------------------------------------------------------------

def _seed(contact: str, entities: int) -> str:
    """The table and its rows (idempotent); Cassandra's release version."""
    from connectors.cassandra.session import connect_cluster

    cluster = connect_cluster(contact)
    try:
        session = cluster.connect()
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.{TABLE} ({KEY} text PRIMARY KEY, valid_from timestamp, "
                        + ", ".join(f"{f} double" for f in FEATURES) + ")")
        insert = session.prepare(f"INSERT INTO {KEYSPACE}.{TABLE} ({KEY}, {', '.join(COLUMNS)}) "
                                 f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})")
        rng = random.Random(1)
        from cassandra.concurrent import execute_concurrent_with_args

        rows = [(f"e{i}", 1_750_000_000_000 + i, *(rng.random() * 100 for _ in FEATURES)) for i in range(entities)]
        execute_concurrent_with_args(session, insert, rows, concurrency=64)
        return session.execute("SELECT release_version FROM system.local").one().release_version
    finally:
        cluster.shutdown()


def _run_worker(client: str, python: str, args: argparse.Namespace, keys_file: Path) -> dict[str, Any]:
    command = [python, str(Path(__file__).resolve()), "worker", client, "--contact", args.contact,
               "--keys-file", str(keys_file), "--reads", str(args.reads), "--warmup", str(args.warmup)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"the {client} worker failed ({' '.join(command)}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contact", default="127.0.0.1:9042")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000, help="keys drawn (seed 7) and read in turn")
    parser.add_argument("--reads", type=int, default=4_000, help="measured reads per client per round")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--scylla-python", default="/tmp/venv-scylla/bin/python")
    parser.add_argument("--acsylla-python", default="/tmp/venv-acsylla/bin/python")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch bench/results.json")
    args = parser.parse_args(argv)
    pythons = {"direct": sys.executable, "driver": sys.executable, "scylla": args.scylla_python,
               "acsylla": args.acsylla_python}
    missing = [c for c, p in pythons.items() if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"no interpreter for {', '.join(missing)}: make the throwaway venvs (see this module's "
                         "docstring) or pass --scylla-python / --acsylla-python")

    cassandra_version = _seed(args.contact, args.entities)
    keys = random.Random(7).sample([f"e{i}" for i in range(args.entities)], args.sample)
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    keys_file = out / "cassandra_clients_keys.json"
    keys_file.write_text(json.dumps(keys))

    load_start = round(os.getloadavg()[0], 2)
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CLIENTS}
    for round_ in range(args.rounds):
        order = CLIENTS[round_ % len(CLIENTS):] + CLIENTS[:round_ % len(CLIENTS)]
        for client in order:
            figures = _run_worker(client, pythons[client], args, keys_file)
            figures["loadavg_1m"] = round(os.getloadavg()[0], 2)
            runs[client].append(figures)
            print(f"round {round_ + 1} {client:8s} p50 {_percentile(sorted(figures['latencies_ns']), 0.5):.3f} ms "
                  f"cpu/read {figures['cpu_s'] / args.reads * 1e6:.0f} us  load {figures['loadavg_1m']}", flush=True)

    figures: dict[str, Any] = {}
    for client, client_runs in runs.items():
        latencies = sorted(ns for run in client_runs for ns in run["latencies_ns"])
        reads = len(latencies)
        prefix = f"client_ab_{client}"
        figures |= {
            f"{prefix}_p50_ms": round(_percentile(latencies, 0.50), 3),
            f"{prefix}_p99_ms": round(_percentile(latencies, 0.99), 3),
            f"{prefix}_cpu_us_per_read": round(sum(r["cpu_s"] for r in client_runs) / reads * 1e6, 1),
            f"{prefix}_round_p50_ms": [round(_percentile(sorted(r["latencies_ns"]), 0.5), 3) for r in client_runs],
            f"{prefix}_round_cpu_us_per_read": [round(r["cpu_s"] / len(r["latencies_ns"]) * 1e6, 1)
                                                for r in client_runs],
            f"{prefix}_reads": reads,
            f"{prefix}_version": client_runs[0]["version"],
        }
        if sum(r["rows_found"] for r in client_runs) != reads:
            raise SystemExit(f"{client} read no row for some sampled keys: its figures would not compare")
    figures |= {
        "client_ab_method": (f"single-entity read of {len(COLUMNS)} columns (valid_from + 20 doubles), one in flight, "
                             f"{args.sample} sampled keys of {args.entities}, {args.warmup} warm-up + {args.reads} "
                             f"reads per client per round, {args.rounds} rounds in rotating order, one worker "
                             "process per client and round; CPU = the worker's process CPU (all threads) over "
                             "the measured reads"),
        "client_ab_machine": {"cores": os.cpu_count(), "cpu_model": _cpu_model(), "python": platform.python_version(),
                              "cassandra": cassandra_version, "loadavg_1m_at_start": load_start,
                              "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
                              "loadavg_1m_per_run": {c: [r["loadavg_1m"] for r in rs] for c, rs in runs.items()}},
        "client_ab_measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps({k: v for k, v in figures.items() if not k.endswith("_machine")}, indent=1))
    if not args.no_write:
        _write(figures)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _write(figures: dict[str, Any]) -> None:
    sys.path.insert(0, str(REPO))
    from bench import results

    try:
        results.update(figures)
    except ModuleNotFoundError as exc:  # results.json and .md are written before the plot
        print(f"bench/results.json updated; results.png not redrawn ({exc}: install the bench extra)")


def _worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=CLIENTS)
    parser.add_argument("--contact", required=True)
    parser.add_argument("--keys-file", type=Path, required=True)
    parser.add_argument("--reads", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.contact.rpartition(":")
    keys = json.loads(args.keys_file.read_text())
    figures = WORKERS[args.client]((host, int(port)), keys, args.warmup, args.reads)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker(sys.argv[2:])
    else:
        main()
