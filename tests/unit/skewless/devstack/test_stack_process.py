import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skewless.devstack.process import (
    PortInUseError,
    ServiceProcess,
    ensure_ports_free,
    is_alive,
    java_major,
    read_pid,
    tail,
    write_pid,
)

SLEEPER = "import sys, time; print('ready', flush=True); time.sleep(60)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        pid_file=tmp_path / "pids" / "svc.pid",
        log_file=tmp_path / "logs" / "svc.log",
        marker=str(tmp_path / "svc"),
    )
    yield proc
    pid = read_pid(proc.pid_file)
    if pid is not None and is_alive(pid):
        os.kill(pid, signal.SIGKILL)


def wait_ready(log: Path) -> None:
    deadline = time.monotonic() + 10
    while "ready" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "child never got ready"
        time.sleep(0.05)


def test_pid_file_round_trip_and_garbage(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    assert read_pid(pid_file) is None
    write_pid(pid_file, 4242)
    assert read_pid(pid_file) == 4242
    pid_file.write_text("not a pid\n")
    assert read_pid(pid_file) is None


def test_start_records_the_pid_and_stop_terminates(service: ServiceProcess, tmp_path: Path) -> None:
    pid = service.start([sys.executable, "-c", SLEEPER, service.marker], cwd=tmp_path)
    wait_ready(service.log_file)
    assert read_pid(service.pid_file) == pid
    assert service.pid() == pid

    stopped = service.stop(grace=10)

    assert stopped is not None and (stopped.pid, stopped.forced) == (pid, False)
    assert not is_alive(pid)
    assert not service.pid_file.exists()
    assert service.stop(grace=10) is None  # idempotent


def test_stop_kills_a_process_that_ignores_sigterm(service: ServiceProcess, tmp_path: Path) -> None:
    pid = service.start([sys.executable, "-c", STUBBORN, service.marker], cwd=tmp_path)
    wait_ready(service.log_file)

    stopped = service.stop(grace=0.5)

    assert stopped is not None and stopped.forced
    assert not is_alive(pid)


def test_a_pid_file_naming_someone_elses_process_is_stale(service: ServiceProcess) -> None:
    # A live process whose command line lacks our marker: a reused pid, or another stack.
    foreign = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.DEVNULL)
    try:
        write_pid(service.pid_file, foreign.pid)
        assert service.pid() is None
        assert not service.pid_file.exists()
        write_pid(service.pid_file, foreign.pid)
        assert service.stop(grace=1) is None
        assert foreign.poll() is None, "stop() signalled a process it did not start"
    finally:
        foreign.kill()
        foreign.wait()


def test_a_pid_file_naming_a_dead_process_is_removed(service: ServiceProcess) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pid(service.pid_file, dead.pid)
    assert service.pid() is None
    assert not service.pid_file.exists()


def test_a_taken_port_is_named_with_the_variable_that_moves_it() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use.*SKEWLESS_KAFKA_PORT"):
            ensure_ports_free({"SKEWLESS_KAFKA_PORT": port})
    ensure_ports_free({"SKEWLESS_KAFKA_PORT": port})  # free again once closed


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 2) == "line 98\nline 99"
    log.write_text("x" * 1000 + "\n")
    assert tail(log, width=10) == "xxxxxxxxxx [...]"
    assert "does not exist" in tail(tmp_path / "missing.log")


@pytest.mark.parametrize(
    ("banner", "major"),
    [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_402"', 8), ('openjdk version "25" 2025-09-16', 25)],
)
def test_java_major_reads_the_version_banner(tmp_path: Path, banner: str, major: int) -> None:
    fake = tmp_path / f"java{major}"
    fake.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    fake.chmod(0o755)
    assert java_major(str(fake)) == major
