"""Bad configuration and unreachable services: one line that says what to fix, fast, never a trace.

No service is needed: Kafka is pointed at a port nothing listens on.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skewless.cli import main
from skewless.settings import REPO_ROOT


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in list(os.environ):
        if name.upper().startswith("SKEWLESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKEWLESS_KAFKA_BOOTSTRAP", f"127.0.0.1:{_closed_port()}")
    return dict(os.environ)


def _invoke(*args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, list(args))
    return result, time.monotonic() - started


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("error: ", "Error: ")), result.output
    return lines[0].split(": ", 1)[1]


@pytest.fixture
def registered(env: dict[str, str]) -> dict[str, str]:
    applied = CliRunner().invoke(main, ["apply", "--repo", str(REPO_ROOT / "features")])
    assert applied.exit_code == 0, applied.output
    return env


@pytest.mark.parametrize("command", [["produce", "--events", "1"], ["online", "get", "u1"], ["stack", "status"]])
def test_a_bad_port_is_reported_by_its_own_variable(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                    command: list[str]) -> None:
    monkeypatch.delenv("SKEWLESS_KAFKA_BOOTSTRAP")  # then it follows the port, which is bad
    monkeypatch.setenv("SKEWLESS_KAFKA_PORT", "abc")
    result, _ = _invoke(*command)
    assert _one_error_line(result) == "SKEWLESS_KAFKA_PORT: must be an integer 1-65535, got 'abc'"


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles(env: dict[str, str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEWLESS_CHECKPOINT_INTERVAL_MS", "2000")
    result, _ = _invoke("produce", "--events", "1")
    assert _one_error_line(result) == (
        "SKEWLESS_CHECKPOINT_INTERVAL_MS is not a setting; did you mean SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS?"
    )


TOPIC_RULE = (
    "topic 'bad topic!' is not a valid Kafka topic name: use at most 249 characters, "
    "each a letter, digit, '.', '_' or '-'"
)


@pytest.mark.parametrize("command", [["produce", "--events", "1"], ["run"]])
def test_an_invalid_topic_says_why(registered: dict[str, str], command: list[str]) -> None:
    result, seconds = _invoke(*command, "--topic", "bad topic!")
    assert _one_error_line(result) == TOPIC_RULE
    assert seconds < 1.0  # decided before any broker is asked


@pytest.mark.parametrize("command", [["produce", "--events", "1"], ["run", "--view", "user_transactions"]])
def test_an_unreachable_kafka_names_the_address_and_the_fix(registered: dict[str, str], command: list[str]) -> None:
    result, seconds = _invoke(*command)
    assert _one_error_line(result) == (
        f"cannot reach Kafka at {registered['SKEWLESS_KAFKA_BOOTSTRAP']}: start the local stack with "
        "`skewless stack up`, or point SKEWLESS_KAFKA_BOOTSTRAP at a running broker"
    )
    assert seconds < 6.0  # Kafka's client would wait 30 s


def test_a_missing_savepoint_fails_at_once(registered: dict[str, str]) -> None:
    result, seconds = _invoke("run", "--view", "user_transactions", "--savepoint", "/missing/path")
    assert _one_error_line(result) == (
        "no checkpoint or savepoint at /missing/path: the folder must hold Flink's _metadata file "
        "(list them with `skewless checkpoints`)"
    )
    assert seconds < 1.0  # it used to be a Java trace after about 90 s


@pytest.fixture
def locked_dir() -> Iterator[Path]:
    """A read-only folder (0555)."""
    parent = Path(tempfile.mkdtemp(prefix="skewless-locked-"))
    parent.chmod(0o755)
    locked = parent / "locked"
    locked.mkdir(mode=0o555)
    yield locked
    locked.chmod(0o755)
    shutil.rmtree(parent)


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _obey_permission_bits() -> None:
    """Root ignores permission bits through two capabilities; drop them for the command (CI runs as root)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _run_unprivileged(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skewless.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=_obey_permission_bits)


@pytest.mark.parametrize(
    ("command", "home", "problem"),
    [
        (["run", "--view", "user_transactions"], "", "cannot write to it"),
        (["run", "--view", "user_transactions"], "home", "cannot create it"),
        (["stack", "up"], "", "cannot write to it"),
        (["apply"], "home", "cannot create it"),
        (["jars"], "", "cannot write to it"),
    ],
)
def test_an_unwritable_home_is_named_at_the_first_command_that_needs_it(
    env: dict[str, str], locked_dir: Path, command: list[str], home: str, problem: str
) -> None:
    path = locked_dir / home if home else locked_dir
    done = _run_unprivileged(command, {**env, "SKEWLESS_HOME": str(path)})
    assert done.returncode == 1
    assert done.stderr.strip().split(": ", 1)[1] == (
        f"SKEWLESS_HOME={path}: {problem} (Permission denied); point SKEWLESS_HOME at a folder you can write"
    )
    assert done.stdout == ""
