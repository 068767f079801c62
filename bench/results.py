"""bench/results.json (one flat object shared by all benchmark parts) and its two views.

Each part merges its own keys with `update()`: read, merge, write, under a file lock, so
parts run one after another (or side by side) never drop each other's figures. The
markdown table and the plot are then regenerated from the whole file.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

HERE = Path(__file__).resolve().parent
JSON_PATH = HERE / "results.json"
MD_PATH = HERE / "results.md"
PNG_PATH = HERE / "results.png"
LOCK_PATH = HERE / "out" / ".results.lock"

# The engine part's variants: (key prefix, label, what it is).
ENGINE_VARIANTS = (
    ("engine", "skewless tile engine", "to_data_stream -> key by user -> JVM tile engine built from the ViewSpec -> blackhole"),
    ("native_over", "Flink SQL OVER", "five RANGE OVER windows, nested one per SELECT (Java) -> blackhole"),
    ("passthrough", "pass-through (ceiling)", "the same CSV source -> blackhole"),
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of every benchmark figure, linear between closest ranks
    (numpy's default)."""
    if len(values) == 0:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    return float(np.percentile(values, q))


@contextmanager
def _locked() -> Iterator[None]:
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load() -> dict[str, Any]:
    return json.loads(JSON_PATH.read_text()) if JSON_PATH.exists() else {}


def update(figures: dict[str, Any]) -> dict[str, Any]:
    """Merge `figures` into results.json, stamp it, and regenerate results.md and results.png."""
    with _locked():
        data = load()
        data.update(figures)
        data["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        partial = JSON_PATH.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(partial, JSON_PATH)
        MD_PATH.write_text(render_markdown(data))
        plot(data, PNG_PATH)
    return data


def _num(value: Any, digits: int = 0) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return f"{value:,.{digits}f}"


def render_markdown(data: dict[str, Any]) -> str:
    lines = ["# Benchmark results", "", f"Generated from `bench/results.json` ({data.get('timestamp', '')}).", ""]
    lines += _targets_section(data)
    if "engine_events_per_s" in data:
        lines += _engine_section(data)
    machine = data.get("machine") or {}
    if machine:
        lines += ["## Machine", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in machine.items()]
        lines.append("")
    lines += ["## All figures", "", "| key | value |", "|---|---|"]
    lines += [f"| `{k}` | {_num(v, 3) if isinstance(v, float) else _num(v)} |" for k, v in sorted(data.items()) if k != "machine"]
    return "\n".join(lines) + "\n"


# The targets each headline figure is held to: (key, label, comparison, bound).
TARGETS = (
    ("engine_vs_native_over", "engine vs native OVER (x)", ">=", 10.0),
    ("e2e_events_per_s", "end to end, events/s", ">=", 15_000),
    ("e2e_latency_p99_ms", "event to Cassandra p99 at half max rate, ms", "<=", 2_000),
    ("sdk_p99_ms", "SDK p99, 1 entity x 20 features, ms", "<=", 2.0),
    ("sdk_vs_driver_floor_p99", "SDK p99 / bare driver p99", "<=", 1.3),
    ("http_p99_ms", "HTTP p99, 1 entity x 20 features, ms", "<=", 5.0),
    ("training_label_rows_per_s", "training set, label rows/s", ">=", 250_000),
    ("training_vs_duckdb_raw", "training set vs raw DuckDB ASOF (x)", ">=", 1.0),
)


def _short(value: float) -> str:
    return _num(value, 0 if abs(value) >= 100 else 2)


def _targets_section(data: dict[str, Any]) -> list[str]:
    lines = ["## Targets", "", "| figure | measured | target | |", "|---|---:|---:|---|"]
    for key, label, comparison, bound in TARGETS:
        if key not in data:
            lines.append(f"| {label} | not measured | {comparison} {_short(bound)} | |")
            continue
        value = data[key]
        met = value >= bound if comparison == ">=" else value <= bound
        lines.append(f"| {label} (`{key}`) | {_short(value)} | {comparison} {_short(bound)} | {'met' if met else '**missed**'} |")
    return [*lines, ""]


def _engine_section(data: dict[str, Any]) -> list[str]:
    ceiling = data.get("passthrough_events_per_s")
    lines = [
        "## Streaming engine: five features per event",
        "",
        f"{_num(data.get('events'))} events, {_num(data.get('engine_users'))} users, {_num(data.get('engine_days'))} days; "
        "30d avg and 30d count (hop 1d), 7d max (hop 1d), 1d sum (hop 1h), 1h count (hop 1h). "
        "Each variant reads the same CSV file in a fresh process. *Processing* subtracts the "
        "wall time of the same job on an empty file (start-up) from its wall time on the events.",
        "",
        "| variant | events/s (processing) | events/s (end to end) | wall s | start-up s | vs native OVER | of pass-through |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    native = data.get("native_over_events_per_s")
    for prefix, label, _ in ENGINE_VARIANTS:
        rate = data.get(f"{prefix}_events_per_s")
        if rate is None:
            continue
        vs_native = f"{rate / native:.3f}x" if native else ""
        of_ceiling = f"{100 * rate / ceiling:.1f}%" if ceiling else ""
        lines.append(
            f"| {label} | {_num(rate)} | {_num(data.get(f'{prefix}_events_per_s_end_to_end'))} | "
            f"{_num(data.get(f'{prefix}_wall_s'), 1)} | {_num(data.get(f'{prefix}_startup_s'), 1)} | {vs_native} | {of_ceiling} |"
        )
    lines += ["", *[f"- **{label}**: {what}" for _, label, what in ENGINE_VARIANTS], ""]
    if "engine_vs_native_over" in data:
        lines += [f"`engine_vs_native_over` = **{data['engine_vs_native_over']:.3f}** (processing-only events/s ratio).", ""]
    return lines


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [(label, prefix) for prefix, label, _ in ENGINE_VARIANTS if f"{prefix}_events_per_s" in data]
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    if not bars:
        ax.text(0.5, 0.5, "no engine figures yet", ha="center", va="center")
        ax.set_axis_off()
    else:
        x = range(len(bars))
        width = 0.38
        processing = [data[f"{p}_events_per_s"] for _, p in bars]
        end_to_end = [data.get(f"{p}_events_per_s_end_to_end") or 0 for _, p in bars]
        colours = ["#d95f02" if p == "engine" else "#7570b3" if p == "native_over" else "#999999" for _, p in bars]
        b1 = ax.bar([i - width / 2 for i in x], processing, width, color=colours, label="processing only")
        b2 = ax.bar([i + width / 2 for i in x], end_to_end, width, color=colours, alpha=0.45, hatch="//", label="end to end (incl. start-up)")
        for rects in (b1, b2):
            for r in rects:
                if r.get_height() > 0:
                    ax.annotate(f"{r.get_height():,.0f}", (r.get_x() + r.get_width() / 2, r.get_height()),
                                ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_yscale("log")
        positive = [v for v in processing + end_to_end if v > 0]
        ax.set_ylim(10 ** math.floor(math.log10(min(positive) * 0.8)), max(positive) * 3)
        ax.set_xticks(list(x), [label for label, _ in bars])
        ax.set_ylabel("events/s (log scale)")
        ratio = data.get("engine_vs_native_over")
        title = f"Streaming engine, {data.get('events', 0):,} events x 5 features"
        if ratio is not None:
            title += f"\nskewless / native OVER = {ratio:.3f}x"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        machine = data.get("machine") or {}
        foot = f"{machine.get('cores', '?')} cores, {machine.get('cpu_model', '')}, load {machine.get('loadavg_1m_at_start', '?')}; " \
               f"Flink {machine.get('flink', '?')}, Java {machine.get('java', '?')}, p={machine.get('parallelism', '?')}; {data.get('timestamp', '')}"
        fig.text(0.01, 0.01, foot, fontsize=6.5, color="#555555")
        ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
