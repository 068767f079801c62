"""The faults the chaos test injects, other than job kills (see job.py): a stack service's kill -9
and the operator's answer to it, `skewless stack up`.

The service is found through the stack's own pid files, so only the Kafka and Cassandra this
checkout's stack started are ever signalled.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from skewless.devstack.cli import service_pid
from skewless.devstack.process import wait_for_exit

from tests.chaos.job import skewless_command

JOB_KILLS = ("after-checkpoint", "mid-interval")


def kill_service(name: str) -> int:
    """kill -9 the stack's `name` service; returns its pid once it is gone."""
    pid = service_pid(name)
    if pid is None:
        raise RuntimeError(f"{name} is not running: nothing to kill")
    os.kill(pid, signal.SIGKILL)
    if not wait_for_exit(pid, 30.0):
        raise RuntimeError(f"{name} (pid {pid}) still alive 30 s after SIGKILL")
    return pid


def stack_up(log: Path, while_waiting: Callable[[], None] = lambda: None) -> float:
    """Run `skewless stack up` (in the stack's own environment), calling `while_waiting`
    meanwhile; returns its duration. Raises when the stack does not come back."""
    started = time.monotonic()
    # Inherits the test process's environment, which is the stack's: its SKEWLESS_HOME (not
    # the job's) holds the pid files.
    with log.open("ab") as out:
        child = subprocess.Popen(skewless_command("stack", "up"), stdout=out, stderr=subprocess.STDOUT)
        while child.poll() is None:
            while_waiting()
            time.sleep(0.2)
    if child.returncode != 0:
        raise RuntimeError(f"`skewless stack up` failed (exit {child.returncode}); see {log}")
    return time.monotonic() - started


def schedule(kills: int, rng: random.Random) -> list[str]:
    """The order of faults: `kills` job kills of both kinds in random order, the Cassandra outage
    a quarter of the way and the Kafka outage half way, so that both (slow to recover from)
    fall while the producer still sends."""
    kinds = [JOB_KILLS[i % 2] for i in range(kills)]
    rng.shuffle(kinds)
    total = kills + 2
    kinds.insert(max(1, total // 4), "cassandra")
    kinds.insert(max(2, total // 2), "kafka")
    return kinds
