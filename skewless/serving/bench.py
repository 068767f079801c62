"""Latency benchmark of online reads: `python -m skewless.serving.bench [run|load]`, and the
open-loop load generator `bench/serving.py` (the serving part of `make bench`) drives.

`run` (the default) seeds a synthetic 20-feature view in keyspace skewless_bench, starts
`skewless serve` for it in a child process and measures one entity x 20 features at each
rate. The load is open-loop: requests are scheduled at a fixed rate and each latency is
measured from its scheduled instant, so a stalled server shows up as latency rather than
as a slower send rate (no coordinated omission). `open_loop` drives any coroutine this way
(HTTP, the SDK's async path); `open_loop_threads` a blocking call (the SDK's
`get_online_features`) from a pool of threads; `open_loop_callbacks` a call that answers
through a callback (the bare driver's `execute_async`). HTTP is keep-alive HTTP/1.1 over a
small connection pool, on uvloop, to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from skewless.dsl.repo import FeatureRepo
from skewless.serving.errors import ServingError
from skewless.spec import ViewSpec

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list: the smallest value with at least q of
    the values at or below it (q in [0, 1]); NaN for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"percentile q={q!r}: expected 0 <= q <= 1")
    if not ordered:
        return float("nan")
    return float(np.percentile(ordered, 100 * q, method="inverted_cdf"))


@dataclass(frozen=True)
class LoadResult:
    sent: int  # requests scheduled
    ok: int
    errors: int  # failed, or still unanswered when the run ended
    latencies_ms: list[float]  # of every answered request, ok or not, from its scheduled instant
    seconds: float = 0.0  # the schedule's span

    def percentile(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)
        return {
            "sent": self.sent, "ok": self.ok, "errors": self.errors,
            "p50_ms": round(percentile(ordered, 0.50), 3), "p90_ms": round(percentile(ordered, 0.90), 3),
            "p99_ms": round(percentile(ordered, 0.99), 3), "p999_ms": round(percentile(ordered, 0.999), 3),
            "max_ms": round(ordered[-1] if ordered else 0.0, 3),
            "mean_ms": round(statistics.fmean(ordered), 3) if ordered else 0.0,
        }


def check_load(rate: float, seconds: float) -> int:
    """The number of requests of a run; ValueError for a rate or duration that makes none."""
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate {rate!r}: expected a positive number of requests per second")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds {seconds!r}: expected a positive duration")
    total = int(rate * seconds)
    if total < 1:
        raise ValueError(f"{rate} req/s for {seconds} s schedules no request")
    return total


class _Tally:
    """What a run has answered so far. Once a second `due` hands the progress callback a
    LoadResult of the answers since the previous one (cheap: no sort of the whole run)."""

    def __init__(self, total: int, seconds: float, progress: Callable[[LoadResult], None] | None) -> None:
        self.total, self.seconds, self.progress = total, seconds, progress
        self.latencies: list[float] = []
        self.ok = 0
        self._shown = 0
        self._next_tick = time.monotonic() + 1.0

    def answer(self, scheduled: float, ok: bool, answered: float | None = None) -> None:
        self.latencies.append(((answered or time.perf_counter()) - scheduled) * 1000)
        self.ok += ok

    def due(self, sent: int) -> LoadResult | None:
        if self.progress is None or time.monotonic() < self._next_tick:
            return None
        self._next_tick += 1.0
        answered = len(self.latencies)
        recent = self.latencies[self._shown:answered]
        self._shown = answered
        return LoadResult(sent, self.ok, answered - self.ok, recent, self.seconds)

    def result(self) -> LoadResult:
        return LoadResult(self.total, self.ok, self.total - self.ok, self.latencies, self.seconds)


async def open_loop(
    call: Callable[[], Awaitable[bool]],
    *,
    rate: float,
    seconds: float,
    grace_s: float = 5.0,
    progress: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """Start `call()` at `rate` per second for `seconds`, each at its scheduled instant whether or
    not earlier ones answered. A call answers True (ok), False or by raising (an error);
    calls still pending `grace_s` after the last was started are cancelled and count as errors."""
    total = check_load(rate, seconds)
    tally = _Tally(total, seconds, progress)

    async def one(scheduled: float) -> None:
        try:
            ok = await call()
        except asyncio.CancelledError:
            raise
        except Exception:
            ok = False
        tally.answer(scheduled, ok)

    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
        if (snapshot := tally.due(i + 1)) is not None:
            progress(snapshot)
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    return tally.result()


def open_loop_threads(
    call: Callable[[], bool],
    *,
    rate: float,
    seconds: float,
    workers: int = 8,
    progress: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """`open_loop` for a blocking call, made from `workers` threads: thread k makes requests
    k, k + workers, ..., each at its scheduled instant, or as soon as it is free if its
    previous call ran past it; that wait counts in the latency. No hand-off between threads
    stands between the schedule and the call."""
    total = check_load(rate, seconds)
    if workers < 1:
        raise ValueError(f"workers {workers!r}: expected at least 1")
    tally = _Tally(total, seconds, progress)
    lock = threading.Lock()
    stop = threading.Event()
    start = time.perf_counter() + 0.05

    def work(first: int) -> None:
        for i in range(first, total, workers):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                return
            try:
                ok = call()
            except Exception:
                ok = False
            answered = time.perf_counter()  # not after waiting for the lock
            with lock:
                tally.answer(scheduled, ok, answered)
                scheduled_so_far = min(total, int((time.perf_counter() - start) * rate) + 1)
                snapshot = tally.due(scheduled_so_far) if first == 0 else None
            if snapshot is not None:
                progress(snapshot)  # type: ignore[misc]

    threads = [threading.Thread(target=work, args=(k,), name=f"load-{k}", daemon=True) for k in range(min(workers, total))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # wakes for Ctrl-C
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return tally.result()


def open_loop_callbacks(
    start_call: Callable[[Callable[[bool], None]], None],
    *,
    rate: float,
    seconds: float,
    grace_s: float = 5.0,
    progress: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """`open_loop` for a non-blocking call: `start_call(done)` is made at each scheduled
    instant from this thread, and `done(ok)` is called once (from any thread) when it answers;
    the latency is taken in `done`, with no thread woken to see it."""
    total = check_load(rate, seconds)
    tally = _Tally(total, seconds, progress)
    lock = threading.Lock()
    finished = threading.Event()
    answered = [0]

    def answer(scheduled: float, ok: bool) -> None:
        with lock:
            tally.answer(scheduled, ok)
            answered[0] += 1
            if answered[0] == total:
                finished.set()

    begin = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = begin + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            start_call(lambda ok, s=scheduled: answer(s, ok))
        except Exception:
            answer(scheduled, False)
        if progress is not None:
            with lock:
                snapshot = tally.due(i + 1)
            if snapshot is not None:
                progress(snapshot)
    finished.wait(grace_s)
    with lock:
        return LoadResult(total, tally.ok, total - tally.ok, list(tally.latencies), seconds)


# -- HTTP ------------------------------------------------------------------------------


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def run_load(
    host: str,
    port: int,
    body: bytes | Callable[[], bytes],
    *,
    rate: float,
    seconds: float,
    connections: int = 8,
    path: str = "/features",
    progress: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """POST `body` (or a fresh `body()` per request) to the server open-loop; a 200 is ok,
    anything else an error."""
    if host not in LOOPBACK:
        raise ServingError(f"the load generator targets only this machine's loopback, not {host!r}")

    def request(payload: bytes) -> bytes:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        return head.encode() + payload

    fixed = None if callable(body) else request(body)
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection(host, port)))

    async def one() -> bool:
        connection = await pool.get()
        try:
            status = await connection.post(fixed or request(body()))  # type: ignore[operator]
        except asyncio.CancelledError:
            connection.writer.close()
            raise
        except Exception:
            connection.writer.close()  # half-read: never reuse it
            pool.put_nowait(_Connection(*await asyncio.open_connection(host, port)))
            raise
        pool.put_nowait(connection)
        return status == 200

    try:
        return await open_loop(one, rate=rate, seconds=seconds, progress=progress)
    finally:
        while not pool.empty():
            pool.get_nowait().writer.close()


# -- a synthetic 20-feature view, seeded as the sink would write it --------------------

BENCH_KEYSPACE = "skewless_bench"
FEATURES = 20


BENCH_SCHEMA = {"type": "record", "name": "BenchEvent", "fields": [
    {"name": "entity_id", "type": "string"}, {"name": "amount", "type": "double"},
    {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
# Where `skewless serve` of the bench finds its registry (SKEWLESS_HOME of the server).
BENCH_HOME = Path(tempfile.gettempdir()) / "skewless-serving-bench"


def bench_repo(folder: Path) -> FeatureRepo:
    """The bench view as definitions, its schema written to `folder`: what the registry takes."""
    from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

    folder.mkdir(parents=True, exist_ok=True)
    schema = folder / "bench.avsc"
    schema.write_text(orjson.dumps(BENCH_SCHEMA).decode())
    entity = Entity("bench_entity", keys="entity_id")
    source = Source(name="bench", topic="bench", schema=schema, event_time="t")
    windows = [Aggregation("amount", "sum", windows=[Window(f"{i + 1}d", hop="1d")], name=f"f{i:02d}")
               for i in range(FEATURES)]
    view = FeatureView(name="bench20", version=1, entity=entity, source=source, aggregations=windows, ttl="30d")
    return FeatureRepo(folder, {entity.name: entity}, {source.name: source}, {(view.name, view.version): view}, {})


def bench_view() -> ViewSpec:
    return bench_repo(BENCH_HOME / "bench_repo").views[("bench20", 1)].compile()


def register_bench_view(home: Path = BENCH_HOME) -> None:
    """Register the bench view in the registry under `home`, as `skewless apply` would."""
    from skewless.registry.store import Registry, default_url

    with Registry(default_url(home)) as registry:
        plan = registry.apply(bench_repo(home / "bench_repo"))
    if plan.refused:
        raise ServingError(f"the registry under {home} refused the bench view:\n{plan.render()}")

BENCH_REFS = [f"bench20:f{i:02d}" for i in range(FEATURES)]


def entity(i: int) -> str:
    return f"e{i}"


def seed(contact_points: str, entities: int, keyspace: str = BENCH_KEYSPACE) -> None:
    """Create the bench view's table and write `entities` rows (e0, e1, ...) valid now."""
    from cassandra.concurrent import execute_concurrent_with_args

    from connectors.cassandra import cql
    from connectors.cassandra.schema import create_view_table
    from connectors.cassandra.session import connect_cluster
    from connectors.cassandra.views import view_columns, view_table

    spec = bench_view()
    cluster = connect_cluster(contact_points)
    try:
        session = cluster.connect()
        create_view_table(session, keyspace, view_table(spec), view_columns(spec), spec.entity_key)
        columns = [c for c, _ in view_columns(spec)]
        insert = session.prepare(cql.render_upsert(keyspace, view_table(spec), columns))
        now = time.time_ns() // 1_000_000
        rows = ([entity(i), *(float(i + j) for j in range(FEATURES)), now, now, now * 1000, now * 1000, 0]
                for i in range(entities))
        for ok, outcome in execute_concurrent_with_args(session, insert, rows, concurrency=64, raise_on_first_error=False):
            if not ok:
                raise ServingError(f"seeding {keyspace}.{view_table(spec)} failed: {outcome}")
    finally:
        cluster.shutdown()


def serve_command(port: int) -> list[str]:
    """`skewless serve` of the bench view (its keyspace, contact points and registry come from serve_env)."""
    return [sys.executable, "-m", "skewless.cli", "serve", "--port", str(port), "--view", "bench20"]


def serve_env(contact_points: str, keyspace: str = BENCH_KEYSPACE, home: Path = BENCH_HOME) -> dict[str, str]:
    """The server's SKEWLESS_* environment: a home whose registry holds the bench view."""
    register_bench_view(home)
    return {**os.environ, "SKEWLESS_CASSANDRA_HOSTS": contact_points, "SKEWLESS_CASSANDRA_KEYSPACE": keyspace,
            "SKEWLESS_HOME": str(home)}


def wait_ready(port: int, timeout_s: float = 60.0, alive: Callable[[], bool] = lambda: True) -> None:
    import http.client

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise ServingError(f"the bench server on port {port} was not ready within {timeout_s:.0f} s")


def run_bench(
    rates: list[float], seconds: float, entities: int, contact_points: str, port: int
) -> list[dict[str, float]]:
    seed(contact_points, max(entities, 100))
    server = subprocess.Popen(serve_command(port), env=serve_env(contact_points))
    try:
        wait_ready(port, alive=lambda: server.poll() is None)
        body = orjson.dumps({"entities": [entity(i) for i in range(entities)], "features": BENCH_REFS})
        asyncio.run(run_load("127.0.0.1", port, body, rate=min(rates), seconds=2.0))  # warm up
        out = []
        for rate in rates:
            result = asyncio.run(run_load("127.0.0.1", port, body, rate=rate, seconds=seconds))
            out.append({"rate": rate, "entities": entities, "features": FEATURES, **result.summary()})
        return out
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="seed a 20-feature view, start a server, measure (the default)")
    run.add_argument("--rates", type=float, nargs="+", default=[100.0, 500.0])
    run.add_argument("--seconds", type=float, default=20.0)
    run.add_argument("--entities", type=int, default=1, help="entities per request")
    run.add_argument("--port", type=int, default=8765)
    run.add_argument("--contact-points", default="127.0.0.1:9042")
    load = sub.add_parser("load", help="load an already running server")
    load.add_argument("--port", type=int, default=8000)
    load.add_argument("--rate", type=float, default=500.0)
    load.add_argument("--seconds", type=float, default=20.0)
    load.add_argument("--connections", type=int, default=8)
    load.add_argument("--entities", nargs="+", required=True)
    load.add_argument("--features", nargs="+", required=True)
    args = parser.parse_args(argv if argv is not None else None)
    use_uvloop()
    if args.command == "load":
        body = orjson.dumps({"entities": args.entities, "features": args.features})
        result = asyncio.run(run_load("127.0.0.1", args.port, body, rate=args.rate, seconds=args.seconds,
                                      connections=args.connections))
        print(orjson.dumps(result.summary()).decode())
    else:
        if args.command is None:
            args = run.parse_args([])
        for line in run_bench(args.rates, args.seconds, args.entities, args.contact_points, args.port):
            print(orjson.dumps(line).decode())


def use_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


if __name__ == "__main__":
    main()
