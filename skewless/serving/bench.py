"""Latency benchmark of the feature server: `python -m skewless.serving.bench [run|load|serve]`.

`run` (the default) seeds a synthetic 20-feature view in keyspace skewless_bench, starts the
server in a child process and measures one entity x 20 features at each rate. The load is
open-loop: requests are scheduled at a fixed rate and each latency is measured from its scheduled
instant, so a stalled server shows up as latency rather than as a slower send rate
(no coordinated omission). Keep-alive HTTP/1.1 over a small connection pool, on uvloop,
to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

import orjson

from skewless.serving.errors import ServingError
from skewless.spec import FeatureSpec, ViewSpec


@dataclass(frozen=True)
class LoadResult:
    sent: int
    ok: int
    errors: int
    latencies_ms: list[float]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def summary(self) -> dict[str, float]:
        return {
            "sent": self.sent, "ok": self.ok, "errors": self.errors,
            "p50_ms": round(self.percentile(0.50), 3), "p90_ms": round(self.percentile(0.90), 3),
            "p99_ms": round(self.percentile(0.99), 3), "max_ms": round(max(self.latencies_ms, default=0.0), 3),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 3) if self.latencies_ms else 0.0,
        }


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
    host: str, port: int, body: bytes, *, rate: float, seconds: float, connections: int = 8, path: str = "/features"
) -> LoadResult:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ServingError(f"the load generator targets only this machine's loopback, not {host!r}")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    statuses: list[int] = []

    async def one(scheduled: float) -> None:
        connection = await pool.get()
        try:
            statuses.append(await connection.post(request))
        finally:
            pool.put_nowait(connection)
        latencies.append((time.perf_counter() - scheduled) * 1000)

    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().writer.close()
    ok = sum(1 for s in statuses if s == 200)
    return LoadResult(total, ok, total - ok, latencies)


# -- a self-contained run: a synthetic 20-feature view, the server in a child process --

BENCH_KEYSPACE = "skewless_bench"
DAY_MS = 86_400_000


def bench_view() -> ViewSpec:
    features = tuple(
        FeatureSpec(f"f{i:02d}", "sum", "amount", window_ms=(i + 1) * DAY_MS, hop_ms=DAY_MS) for i in range(20)
    )
    return ViewSpec(name="bench20", version=1, entity_key="entity_id", source_topic="bench", event_time_field="t",
                    features=features, ttl_ms=30 * DAY_MS)


def seed(contact_points: str, entities: int) -> None:
    """Create the bench view's table and write `entities` rows valid now (as the sink would)."""
    from connectors.cassandra import cql
    from connectors.cassandra.schema import create_view_table
    from connectors.cassandra.session import connect_cluster
    from connectors.cassandra.views import view_columns, view_table

    spec = bench_view()
    cluster = connect_cluster(contact_points)
    try:
        session = cluster.connect()
        create_view_table(session, BENCH_KEYSPACE, view_table(spec), view_columns(spec), spec.entity_key)
        columns = [c for c, _ in view_columns(spec)]
        insert = session.prepare(cql.render_upsert(BENCH_KEYSPACE, view_table(spec), columns))
        now = time.time_ns() // 1_000_000
        for i in range(entities):
            session.execute(insert, [f"e{i}", *(float(i + j) for j in range(20)), now, now, now * 1000, now * 1000, 0])
    finally:
        cluster.shutdown()


def serve_bench(port: int, contact_points: str) -> None:
    from skewless.serving.http import FeatureServer, run_server
    from skewless.serving.metrics import ServingMetrics
    from skewless.serving.store import FeatureStore

    metrics = ServingMetrics()
    spec = bench_view()
    app = FeatureServer(
        lambda: FeatureStore({spec.name: spec}, contact_points=contact_points, keyspace=BENCH_KEYSPACE,
                             on_read=metrics.observe_read),
        metrics=metrics,
    )
    run_server(app, "127.0.0.1", port)


def _wait_ready(port: int, timeout_s: float = 60.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
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
    import os
    import subprocess
    import sys

    seed(contact_points, max(entities, 100))
    server = subprocess.Popen([sys.executable, "-m", "skewless.serving.bench", "serve", "--port", str(port),
                               "--contact-points", contact_points], env=os.environ.copy())
    try:
        _wait_ready(port)
        body = orjson.dumps({"entities": [f"e{i}" for i in range(entities)],
                             "features": [f"bench20:f{i:02d}" for i in range(20)]})
        asyncio.run(run_load("127.0.0.1", port, body, rate=min(rates), seconds=2.0))  # warm up
        out = []
        for rate in rates:
            result = asyncio.run(run_load("127.0.0.1", port, body, rate=rate, seconds=seconds))
            out.append({"rate": rate, "entities": entities, "features": 20, **result.summary()})
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
    serve = sub.add_parser("serve", help="(internal) serve the bench view")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--contact-points", default="127.0.0.1:9042")
    load = sub.add_parser("load", help="load an already running server")
    load.add_argument("--port", type=int, default=8000)
    load.add_argument("--rate", type=float, default=500.0)
    load.add_argument("--seconds", type=float, default=20.0)
    load.add_argument("--connections", type=int, default=8)
    load.add_argument("--entities", nargs="+", required=True)
    load.add_argument("--features", nargs="+", required=True)
    args = parser.parse_args(argv if argv is not None else None)
    _use_uvloop()
    if args.command == "serve":
        serve_bench(args.port, args.contact_points)
    elif args.command == "load":
        body = orjson.dumps({"entities": args.entities, "features": args.features})
        result = asyncio.run(run_load("127.0.0.1", args.port, body, rate=args.rate, seconds=args.seconds,
                                      connections=args.connections))
        print(orjson.dumps(result.summary()).decode())
    else:
        if args.command is None:
            args = run.parse_args([])
        for line in run_bench(args.rates, args.seconds, args.entities, args.contact_points, args.port):
            print(orjson.dumps(line).decode())


def _use_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


if __name__ == "__main__":
    main()
