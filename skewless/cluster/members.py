"""The processes of the local session cluster: one JobManager, N TaskManagers, and the
supervisor that keeps them up. Each is a `ServiceProcess` (pid file, log, identity marker)
under `<home>/cluster/`, so `up` is idempotent and `down` stops only these processes.

JobManager and TaskManagers run Flink's own scripts from the apache-flink wheel in the
foreground (`jobmanager.sh start-foreground`, which execs the JVM, so the pid is the JVM's),
with FLINK_CONF_DIR at the repository's flink-conf/ and the assembled lib/ of
`skewless.devstack.flink_home` (connectors and the job jar on the system classpath, as in
local runs). What differs per machine comes in as dynamic properties (-D).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from skewless.devstack.process import HOST, ServiceProcess
from skewless.settings import Settings


def cluster_dir(settings: Settings) -> Path:
    return settings.home / "cluster"


def rest_url(settings: Settings) -> str:
    return f"http://{HOST}:{settings.cluster.rest_port}"


@dataclass(frozen=True)
class Member:
    """One JVM of the cluster: `jobmanager` or `taskmanager-<n>`."""

    name: str
    process: ServiceProcess

    @property
    def is_jobmanager(self) -> bool:
        return self.name == "jobmanager"


def _process(settings: Settings, name: str, marker: str) -> ServiceProcess:
    folder = cluster_dir(settings)
    return ServiceProcess(folder / "run" / f"{name}.pid", folder / "logs" / f"{name}.out", marker)


def members(settings: Settings) -> list[Member]:
    """The JobManager first, then the TaskManagers."""
    names = ["jobmanager", *(f"taskmanager-{i}" for i in range(1, settings.cluster.taskmanagers + 1))]
    return [Member(n, _process(settings, n, _identity(settings, n))) for n in names]


def _identity(settings: Settings, name: str) -> str:
    """A dynamic property naming the member's folder: in the command line of the script from the
    first instant and, passed on, of the JVM it execs (Flink ignores keys it does not know)."""
    return f"skewless.member={cluster_dir(settings) / name}{os.sep}"


def supervisor(settings: Settings) -> ServiceProcess:
    return _process(settings, "supervisor", f"skewless.cluster.supervisor {settings.home}")


def supervisor_argv(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "skewless.cluster.supervisor", str(settings.home)]


def launch_argv(member: Member, settings: Settings, flink_home: Path) -> list[str]:
    """The command that runs `member` in the foreground."""
    cluster = settings.cluster
    properties = [member.process.marker, f"jobmanager.rpc.port={cluster.rpc_port}", f"rest.port={cluster.rest_port}"]
    if member.is_jobmanager:
        script = "jobmanager.sh"
    else:
        script = "taskmanager.sh"
        properties.append(f"taskmanager.numberOfTaskSlots={cluster.slots}")
    # "-D" and its value as two arguments: the scripts take a second argument of any other
    # shape for a host name.
    return ["bash", str(flink_home / "bin" / script), "start-foreground", *(a for p in properties for a in ("-D", p))]


def launch_environ(member: Member, settings: Settings, runtime: dict[str, str]) -> dict[str, str]:
    """The environment of a member: the assembled runtime (flink_home.prepare()), its own log
    and pid folders (Flink's scripts name logs by service and a per-folder counter)."""
    folder = cluster_dir(settings)
    logs = folder / "logs" / member.name
    logs.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **runtime, "FLINK_LOG_DIR": str(logs), "FLINK_PID_DIR": str(folder / "run" / member.name)}
