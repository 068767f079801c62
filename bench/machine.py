"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def describe(parallelism: int, job: dict, load_at_start: float) -> dict:
    """Cores, RAM, CPU model, load, and the versions a job reported from inside its JVM."""
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(_meminfo_kib("MemTotal") / 2**20, 1),
        "cpu_model": _cpu_model(),
        "loadavg_1m_at_start": load_at_start,
        "loadavg_1m_at_end": load_1m(),
        "python": platform.python_version(),
        "java": job.get("java_version"),
        "flink": job.get("flink_version"),
        "execution_mode": f"local mini-cluster, python.execution-mode={job.get('execution_mode')}",
        "parallelism": parallelism,
        "os": f"{platform.system()} {platform.release()}",
    }


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
