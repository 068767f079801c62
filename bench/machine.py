"""What the figures were measured on, and what processes cost while they ran: psutil's view
of this machine, shared by every benchmark part (engine, e2e, serving, training)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil


def load_1m() -> float:
    return round(psutil.getloadavg()[0], 2)


def loads() -> list[float]:
    """The 1, 5 and 15 min load averages."""
    return [round(x, 2) for x in psutil.getloadavg()]


def describe(parallelism: int, job: dict, load_at_start: float) -> dict:
    """Cores, RAM, CPU model, load, and the versions a job reported from inside its JVM."""
    return {
        "cores": psutil.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": cpu_model(),
        "loadavg_1m_at_start": load_at_start,
        "loadavg_1m_at_end": load_1m(),
        "python": platform.python_version(),
        "java": job.get("java_version"),
        "flink": job.get("flink_version"),
        "execution_mode": f"local mini-cluster, python.execution-mode={job.get('execution_mode')}",
        "parallelism": parallelism,
        "os": f"{platform.system()} {platform.release()}",
    }


def cpu_model() -> str:
    """psutil does not report the model name: on Linux it is in /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def process_cpu_seconds() -> float:
    """CPU seconds (user + system) this process has used so far."""
    cpu = psutil.Process().cpu_times()
    return cpu.user + cpu.system


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (idle and iowait count as not busy)."""
    times = psutil.cpu_times()
    total = sum(times)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    total = 0.0
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                cpu = process.cpu_times()
                total += cpu.user + cpu.system
        except (psutil.Error, ProcessLookupError):
            continue  # gone meanwhile
    return total


def descendants(root: int) -> dict[int, float]:
    """Every live descendant of `root`: pid -> creation time (to tell a reused pid apart)."""
    try:
        children = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return {}
    found: dict[int, float] = {}
    for child in children:
        try:
            found[child.pid] = child.create_time()
        except psutil.Error:
            continue
    return found


def alive(pid: int, created: float) -> bool:
    """Whether `pid` still runs and is the process created at `created` (not a reused pid)."""
    try:
        process = psutil.Process(pid)
        return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def command_line(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def rss_bytes() -> int:
    """This process's resident memory now."""
    return psutil.Process().memory_info().rss


def reset_peak_rss() -> bool:
    """Restart this process's peak RSS (VmHWM) at its current RSS: Linux's clear_refs, which
    psutil has no call for; False where it cannot (then the peak is the process's lifetime one)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """This process's peak RSS since it started or since `reset_peak_rss()`: VmHWM, which
    psutil does not report (its `memory_info()` has the current RSS only)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return rss_bytes()


def listening_ports(pids: list[int]) -> set[int]:
    """TCP ports the processes listen on."""
    ports: set[int] = set()
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports.update(c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN)
    return ports
