"""Integration tests share one local stack (Kafka, Cassandra, Prometheus) for the session.

`make test` starts it; the session fixture makes sure it is up (idempotent) and points
in-process PyFlink at the assembled Flink runtime before any JVM starts. Each test then
isolates itself with its own topic, keyspace and Iceberg namespace.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from skewless.devstack import flink_home


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def local_stack() -> None:
    # With Prometheus: tests/integration/monitoring queries it (it scrapes the jobs and the server).
    up = [sys.executable, "-m", "skewless.cli", "stack", "up", "--with", "prometheus"]
    done = subprocess.run(up, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"the local stack did not start:\n{done.stdout}\n{done.stderr}")
    flink_home.apply_to_environ()


@pytest.fixture
def unique_name() -> str:
    """A short lowercase token that keeps one test's topics, keyspaces and tables apart."""
    return f"t{uuid.uuid4().hex[:10]}"
