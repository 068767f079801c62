"""Bring the session cluster up and down, and say how it is (`skewless cluster ...`).

`up` starts the supervisor (skewless.cluster.supervisor) unless it runs, and waits until
the JobManager answers with every TaskManager registered; the supervisor starts the
members. Both are idempotent and `down` stops only the processes of this home's pid files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from skewless.cluster.members import cluster_dir, members, rest_url, supervisor, supervisor_argv
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.devstack.process import HOST, ensure_ports_free, is_alive, tail
from skewless.settings import REPO_ROOT, Settings

Say = Callable[[str], None]
# The supervisor stops each member with a 30 s grace; three members' worth before SIGKILL.
SUPERVISOR_GRACE_S = 100.0


@dataclass(frozen=True)
class MemberState:
    name: str
    pid: int | None


def is_up(settings: Settings) -> bool:
    """Whether this home's cluster runs and its JobManager answers."""
    return supervisor(settings).pid() is not None and FlinkRest(rest_url(settings), timeout_s=3.0).answers()


def up(settings: Settings, timeout_s: float, say: Say) -> None:
    process = supervisor(settings)
    pid = process.pid()
    if pid is None:
        if not any(m.process.pid() for m in members(settings)):
            ensure_ports_free({"SKEWLESS_CLUSTER_REST_PORT": settings.cluster.rest_port,
                               "SKEWLESS_CLUSTER_RPC_PORT": settings.cluster.rpc_port})
        pid = process.start(supervisor_argv(settings), cwd=REPO_ROOT, env=_environ(settings))
        say(f"cluster: supervisor started (pid {pid}), log {process.log_file}")
    else:
        say(f"cluster: supervisor running (pid {pid})")
    rest = FlinkRest(rest_url(settings), timeout_s=3.0)
    wanted = settings.cluster.taskmanagers
    started, last = time.monotonic(), -1
    while True:
        registered = _registered(rest)
        if registered is not None and registered >= wanted:
            break
        waited = time.monotonic() - started
        if not is_alive(pid):
            raise ClusterError(f"the cluster's supervisor exited; last lines of {process.log_file}:\n{tail(process.log_file)}")
        if waited > timeout_s:
            raise ClusterError(
                f"the cluster did not come up within {timeout_s:.0f} s ({registered or 0}/{wanted} TaskManagers); "
                f"logs in {cluster_dir(settings) / 'logs'}"
            )
        if int(waited) // 10 > last:
            last = int(waited) // 10
            say(f"cluster: waiting for the JobManager and {wanted} TaskManagers... {waited:.0f}s "
                f"({registered if registered is not None else 'no JobManager yet'} registered)")
        time.sleep(1.0)
    say(f"cluster: up, {wanted} TaskManagers x {settings.cluster.slots} slots; web UI and REST on {rest.url}")


def _environ(settings: Settings) -> dict[str, str]:
    import os

    return {**os.environ, **settings.to_environ()}


def _registered(rest: FlinkRest) -> int | None:
    try:
        return len(rest.taskmanagers())
    except ClusterError:
        return None


def down(settings: Settings, say: Say) -> None:
    stopped = supervisor(settings).stop(SUPERVISOR_GRACE_S)
    say("cluster: supervisor not running" if stopped is None else f"cluster: supervisor stopped (pid {stopped.pid})")
    for member in reversed(members(settings)):  # what a killed supervisor left behind
        left = member.process.stop(30.0)
        if left is not None:
            say(f"cluster: {member.name} stopped (pid {left.pid})")


def status(settings: Settings) -> tuple[list[tuple[str, ...]], bool]:
    """Rows (member, state, pid, detail) and whether the whole cluster is up."""
    rest = FlinkRest(rest_url(settings), timeout_s=3.0)
    supervisor_pid = supervisor(settings).pid()
    rows: list[tuple[str, ...]] = [("member", "state", "pid", "detail")]
    rows.append(("supervisor", "running" if supervisor_pid else "stopped", str(supervisor_pid or "-"), ""))
    try:
        overview = rest.overview()
    except ClusterError:
        overview = None
    healthy = supervisor_pid is not None and overview is not None
    for member in members(settings):
        pid = member.process.pid()
        healthy = healthy and pid is not None
        detail = ""
        if member.is_jobmanager:
            detail = (f"{HOST}:{settings.cluster.rest_port}, {overview['slots-available']}/{overview['slots-total']} "
                      f"slots free, {overview['jobs-running']} jobs running" if overview else "not answering")
        rows.append((member.name, "running" if pid else "stopped", str(pid or "-"), detail))
    if overview is not None and overview["taskmanagers"] < settings.cluster.taskmanagers:
        healthy = False
    return rows, healthy


def member_pid(settings: Settings, name: str) -> int | None:
    """The pid of a member (`jobmanager`, `taskmanager-1`, ...), None when not running: for
    fault-injection tests and operators who want to signal one."""
    for member in members(settings):
        if member.name == name:
            return member.process.pid()
    raise ClusterError(f"no cluster member {name!r}; known: {', '.join(m.name for m in members(settings))}")
