"""The streaming-engine part of `make bench`: skewless vs native OVER vs pass-through.

For each variant it runs, each in a fresh process (`bench.job`):
1. the job on an empty file of the same schema: the start-up cost (mini-cluster, job
   graph, Python interpreter for skewless, task deployment, teardown);
2. the job on the workload file.
Wall time is taken from job submission to completion. The headline figure,
`<variant>_events_per_s`, is events / (wall - start-up); the end-to-end rate
(events / wall) is kept beside it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench import machine, results
from bench.progress import JobWatcher
from skewless.progress import Meter
from bench.workload import OUT, Workload, empty_file, ensure_file

REPO = Path(__file__).resolve().parents[1]
# results.json key prefix per bench.job variant
PREFIX = {"skewless": "engine", "native_over": "native_over", "passthrough": "passthrough"}
ORDER = ("passthrough", "native_over", "skewless")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    variant: str
    wall_s: float
    startup_s: float
    net_runtime_s: float
    startup_net_runtime_s: float
    job: dict

    @property
    def processing_s(self) -> float:
        """Wall minus start-up; if noise on a loaded machine makes that non-positive,
        Flink's own net runtime of the job (which excludes client-side start-up) instead."""
        processing = self.wall_s - self.startup_s
        return processing if processing > 0 else self.net_runtime_s

    @property
    def processing_method(self) -> str:
        return "wall - start-up" if self.wall_s > self.startup_s else "flink net runtime (start-up exceeded wall)"

    def events_per_s(self, events: int) -> float:
        return events / self.processing_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(variant: str, path: Path, events: int, parallelism: int, horizon: int, label: str) -> dict:
    port = _free_port()
    cmd = [
        sys.executable, "-m", "bench.job", "--variant", variant, "--input", str(path), "--parallelism", str(parallelism),
        "--rest-port", str(port), "--expiry-horizon", str(horizon), "--work-dir", str(OUT / "flink"),
    ]  # fmt: skip
    log = OUT / "logs" / f"{label.replace(' ', '-')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    line = Meter(label)
    with log.open("w") as err, JobWatcher(port, events, line):
        done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
    marked = [row for row in done.stdout.splitlines() if row.startswith("BENCH_RESULT ")]
    if done.returncode != 0 or not marked:
        tail = log.read_text()[-3000:]
        raise BenchError(f"{label} failed (exit {done.returncode}); log {log}:\n{tail}")
    outcome = json.loads(marked[-1].removeprefix("BENCH_RESULT "))
    line.done(f"{outcome['seconds']:.1f} s wall (Flink net runtime {outcome['net_runtime_s']:.1f} s)")
    return outcome


def measure(variant: str, workload: Workload, path: Path, parallelism: int) -> Measurement:
    startup = run_job(variant, empty_file(), 0, parallelism, workload.end_ms, f"{variant} start-up (empty file)")
    job = run_job(variant, path, workload.events, parallelism, workload.end_ms, f"{variant} {workload.events:,} events")
    return Measurement(variant, job["seconds"], startup["seconds"], job["net_runtime_s"], startup["net_runtime_s"], job)


def run(workload: Workload, parallelism: int, variants: tuple[str, ...] = ORDER) -> dict:
    load_at_start = machine.load_1m()
    path = ensure_file(workload)
    # Discarded: the first job after a while pays for cold page caches (jars, Python
    # packages), which would inflate whichever start-up figure came first.
    run_job("passthrough", empty_file(), 0, parallelism, workload.end_ms, "warm-up job (discarded)")
    measured = [measure(v, workload, path, parallelism) for v in ORDER if v in variants]
    figures: dict = {"events": workload.events, "engine_users": workload.users, "engine_days": workload.days}
    for m in measured:
        prefix = PREFIX[m.variant]
        figures[f"{prefix}_events_per_s"] = round(m.events_per_s(workload.events), 1)
        figures[f"{prefix}_events_per_s_end_to_end"] = round(workload.events / m.wall_s, 1)
        figures[f"{prefix}_wall_s"] = round(m.wall_s, 2)
        figures[f"{prefix}_startup_s"] = round(m.startup_s, 2)
        figures[f"{prefix}_processing_s"] = round(m.processing_s, 2)
        figures[f"{prefix}_processing_from"] = m.processing_method
        figures[f"{prefix}_flink_net_runtime_s"] = round(m.net_runtime_s, 2)
        figures[f"{prefix}_flink_net_runtime_startup_s"] = round(m.startup_net_runtime_s, 2)
    rates = {m.variant: figures[f"{PREFIX[m.variant]}_events_per_s"] for m in measured}
    if "skewless" in rates and "native_over" in rates:
        figures["engine_vs_native_over"] = round(rates["skewless"] / rates["native_over"], 4)
    if "skewless" in rates and "passthrough" in rates:
        figures["engine_vs_passthrough"] = round(rates["skewless"] / rates["passthrough"], 4)
    figures["engine_measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    figures["machine"] = machine.describe(parallelism, measured[-1].job if measured else {}, load_at_start)
    data = results.update(figures)
    _summary(data, measured, workload)
    return data


def _summary(data: dict, measured: list[Measurement], workload: Workload) -> None:
    print(f"\nwrote {results.JSON_PATH.relative_to(REPO)}, {results.MD_PATH.relative_to(REPO)}, {results.PNG_PATH.relative_to(REPO)}")
    for m in measured:
        prefix = PREFIX[m.variant]
        print(f"  {m.variant:<12} {data[f'{prefix}_events_per_s']:>12,.0f} events/s processing   "
              f"{data[f'{prefix}_events_per_s_end_to_end']:>10,.0f} end to end   ({m.wall_s:.1f} s wall, {m.startup_s:.1f} s start-up)")
    if "engine_vs_native_over" in data:
        print(f"  engine_vs_native_over = {data['engine_vs_native_over']:.3f}")
    full = Workload()
    if workload.events < full.events and measured:
        estimate = sum(2 * m.startup_s + full.events / m.events_per_s(workload.events) for m in measured)
        print(f"  the full workload ({full.events:,} events) would take about {estimate / 60:,.0f} min at these rates")
