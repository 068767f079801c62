"""Run a local service as a detached JVM process that skewless can find and stop again.

A service is "ours" when its pid file names a live process whose command line contains
the service's state directory. That check, not the pid alone, keeps `down` from
signalling an unrelated process that reused a stale pid, or another checkout's stack.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from skewless.devstack import StackError
from skewless.settings import Settings

HOST = "127.0.0.1"

# Children spawned by this interpreter. Keeping their Popen objects lets liveness checks
# reap them, so a process stopped by the same interpreter does not linger as a zombie
# that still looks alive to os.kill(pid, 0).
_children: dict[int, subprocess.Popen[bytes]] = {}


class PortInUseError(StackError):
    """A port the stack needs is held by a process skewless did not start."""


class StartupError(StackError):
    """A service exited or did not answer in time while starting."""


@dataclass(frozen=True)
class Stopped:
    pid: int
    forced: bool  # True when SIGTERM was not enough and SIGKILL followed


@dataclass(frozen=True)
class ServiceProcess:
    """The pid file, log file and identity marker of one managed process."""

    pid_file: Path
    log_file: Path
    marker: str  # a string that only our process's command line contains

    def pid(self) -> int | None:
        """The pid of our live process, or None. Stale pid files are removed."""
        pid = read_pid(self.pid_file)
        if pid is None:
            return None
        if is_alive(pid) and self.marker in command_line(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> int:
        """Spawn `argv` detached from this terminal, output to the log file (truncated)."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            child = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A new session: Ctrl-C in the terminal that ran `up` must not stop the stack.
                start_new_session=True,
            )
        _children[child.pid] = child
        write_pid(self.pid_file, child.pid)
        return child.pid

    def stop(self, grace: float) -> Stopped | None:
        """SIGTERM our process, SIGKILL it after `grace` seconds; None if it was not running."""
        pid = self.pid()
        if pid is None:
            return None
        forced = False
        try:
            os.kill(pid, signal.SIGTERM)
            if not wait_for_exit(pid, grace):
                forced = True
                os.kill(pid, signal.SIGKILL)
                wait_for_exit(pid, 10.0)
        except ProcessLookupError:
            pass  # it exited between the check and the signal
        self.pid_file.unlink(missing_ok=True)
        return Stopped(pid, forced)


class Service(ABC):
    """A JVM service run locally: the ports it binds, how to launch it, how to ask it."""

    name: ClassVar[str]
    start_timeout: ClassVar[float]  # seconds `up` waits for it to answer
    stop_grace: ClassVar[float] = 30.0  # seconds between SIGTERM and SIGKILL
    java_versions: ClassVar[tuple[int, int | None]]  # supported major versions, inclusive; None = open

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def stack_dir(self) -> Path:
        return self.settings.home / "stack"

    @property
    def logs_dir(self) -> Path:
        return self.stack_dir / "logs"

    @property
    @abstractmethod
    def ports(self) -> Mapping[str, int]:
        """Every port the service binds, by the env variable that configures it; client port first."""

    @property
    def port(self) -> int:
        return next(iter(self.ports.values()))

    @property
    def state_dir(self) -> Path:
        return self.stack_dir / self.name

    @property
    def process(self) -> ServiceProcess:
        return ServiceProcess(
            pid_file=self.stack_dir / "pids" / f"{self.name}.pid",
            log_file=self.logs_dir / f"{self.name}.log",
            # With the separator, /x/stack/kafka does not also match /x/stack/kafka-old/.
            marker=f"{self.state_dir}{os.sep}",
        )

    @abstractmethod
    def prepare(self) -> list[str]:
        """Write the configuration, initialise storage if needed, return the command to run."""

    @abstractmethod
    def answers(self) -> bool:
        """Whether the service serves a real client request right now."""

    def refresh(self, pid: int) -> bool:
        """Make the running process `pid` read its configuration again; False when it cannot (most
        services need a restart, which `up` never does)."""
        return False

    def launch(self) -> int:
        """Check the ports, prepare, and spawn the service; returns its pid."""
        ensure_ports_free(self.ports)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.process.start(self.prepare(), cwd=self.state_dir)

    def java(self) -> str:
        """A java binary whose version this service supports."""
        java = java_binary()
        major = java_major(java)
        low, high = self.java_versions
        if major < low or (high is not None and major > high):
            wanted = f"{low}" if high == low else f"{low}+" if high is None else f"{low} to {high}"
            raise StackError(
                f"{self.name} needs Java {wanted}, but {java} is Java {major}; "
                f"point JAVA_HOME at a Java 17 JDK"
            )
        return java


def wait_until_answering(
    service: Service, pid: int, timeout: float, on_progress: Callable[[float], None] = lambda _: None
) -> float:
    """Poll until the service answers; returns the seconds waited.

    Raises StartupError, with the tail of the service log, when the process exits or
    `timeout` passes first.
    """
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if service.answers():
            return elapsed
        if not is_alive(pid):
            raise StartupError(
                f"{service.name} exited while starting (if its data is damaged, `skewless stack down --purge` "
                f"resets it); last lines of {service.process.log_file}:\n{tail(service.process.log_file)}"
            )
        if elapsed > timeout:
            raise StartupError(
                f"{service.name} did not answer on {HOST}:{service.port} within {timeout:.0f}s; "
                f"last lines of {service.process.log_file}:\n{tail(service.process.log_file)}"
            )
        on_progress(elapsed)
        time.sleep(1.0)


def ensure_ports_free(ports: Mapping[str, int]) -> None:
    """Raise PortInUseError naming the first port something else already listens on."""
    for variable, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # SO_REUSEADDR: a port with only TIME_WAIT leftovers counts as free, as it
            # will for the JVM; a port with a listener does not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise PortInUseError(
                    f"port {port} on {HOST} is already in use by a process skewless did not start; "
                    f"stop it (see `ss -ltnp 'sport = :{port}'`) or choose another port with {variable}"
                ) from exc


def accepts_connections(port: int, timeout: float = 1.0) -> bool:
    """Whether something listens on HOST:port; a cheap check before a real client call."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    partial = pid_file.with_name(f"{pid_file.name}.tmp")
    partial.write_text(f"{pid}\n")
    os.replace(partial, pid_file)


def is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but another user's: command_line() will tell it is not ours
    return True


def command_line(pid: int) -> str:
    """The full command line of `pid`, or "" when it cannot be read."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.parent.is_dir():  # Linux: exact and untruncated
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""
    done = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True)
    return done.stdout.strip()


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def tail(path: Path, lines: int = 40, width: int = 400) -> str:
    """The last lines of a log, each cut to `width` (JVMs log their whole classpath)."""
    try:
        last = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(line if len(line) <= width else line[:width] + " [...]" for line in last)


def java_binary() -> str:
    """$JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            raise StackError(f"JAVA_HOME is {java_home}, but {java} is not an executable; fix or unset JAVA_HOME")
        return str(java)
    java = shutil.which("java")
    if java is None:
        raise StackError("no java on PATH; install a Java 17 JDK or set JAVA_HOME")
    return java


@functools.cache
def java_major(java: str) -> int:
    done = subprocess.run([java, "-version"], capture_output=True, text=True)
    # `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_402").
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if done.returncode != 0 or found is None:
        raise StackError(f"could not tell the version of {java}: {done.stderr.strip() or done.stdout.strip()}")
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major
