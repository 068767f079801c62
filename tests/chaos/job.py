"""The job under test as an operator runs it: `skewless run ...` in a session of its own, and
the checkpoints it leaves under its SKEWLESS_HOME.

A session (and so a process group) of its own lets one signal reach the `skewless run`
process, its `python -m jobs.pipeline` child and the JVM that child starts, the way a
machine crash or an OOM killer takes the whole job down at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from skewless.settings import REPO_ROOT

# Folders of a SKEWLESS_HOME that never hold checkpoints; skipping them keeps each scan cheap.
NOT_CHECKPOINTS = {"iceberg", "flink", "jars", "logs", "specs", "schemas", "stack"}


def skewless_command(*args: str) -> list[str]:
    """The `skewless` CLI of this interpreter's environment."""
    return [sys.executable, "-m", "skewless.cli", *args]


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, from /proc (a child that left the group is still found)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may itself hold spaces or parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class JobProcess:
    """One `skewless run` command, started again and again with the same argv and environment."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_dir: Path, label: str) -> None:
        self.argv, self.env, self.log_dir, self.label = list(argv), dict(env), log_dir, label
        self.starts = 0
        self.issued = 0.0  # monotonic time of the latest start
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self) -> float:
        """Run the command; returns the monotonic time it was issued."""
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{self.label}-{self.starts}.log"
        self.issued = issued = time.monotonic()
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                self.argv, cwd=REPO_ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return issued

    def exit_code(self) -> int | None:
        """None while it runs (or before it started)."""
        return None if self.popen is None else self.popen.poll()

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_all(self, sig: signal.Signals) -> list[int]:
        """Send `sig` to the whole process group and to any descendant outside it; returns their pids."""
        if self.popen is None:
            return []
        pids = [self.popen.pid, *descendants(self.popen.pid)]
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pids

    def kill(self) -> list[int]:
        """kill -9 of everything the command started; waits until they are gone."""
        pids = self.signal_all(signal.SIGKILL)
        self._wait_gone(pids, 30.0)
        return pids

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s`."""
        pids = self.signal_all(signal.SIGTERM)
        if not self._wait_gone(pids, grace_s):
            self.kill()

    def _wait_gone(self, pids: list[int], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        if self.popen is not None:
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
        while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in pids):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


class CheckpointWatch:
    """New completed checkpoints (`chk-N/_metadata`) anywhere under a job's SKEWLESS_HOME.

    Flink writes `_metadata` when it completes a checkpoint and deletes older ones it does
    not retain, so every path not seen before is one completion. Where the folders are
    (per job id today, per lineage once resuming lands) does not matter to the scan.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.seen: set[Path] = set(self._scan())
        self.completed: list[tuple[float, Path]] = []  # (monotonic time first seen, path)

    def poll(self) -> list[Path]:
        new = [p for p in self._scan() if p not in self.seen]
        now = time.monotonic()
        for path in sorted(new, key=_checkpoint_number):
            self.seen.add(path)
            self.completed.append((now, path))
        return new

    def since(self, instant: float) -> list[tuple[float, Path]]:
        return [(t, p) for t, p in self.completed if t >= instant]

    def _scan(self) -> list[Path]:
        found = []
        for folder, dirs, files in os.walk(self.home):
            here = Path(folder)
            if here == self.home:
                dirs[:] = [d for d in dirs if d not in NOT_CHECKPOINTS]
            if here.name.startswith("chk-"):
                dirs[:] = []
                if "_metadata" in files:
                    found.append(here / "_metadata")
        return found


def _checkpoint_number(path: Path) -> int:
    text = path.parent.name.removeprefix("chk-")
    return int(text) if text.isdigit() else -1
