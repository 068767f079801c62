"""Shared fixtures of the Cassandra connector tests: the stack's address and one session."""

from __future__ import annotations

from typing import Iterator

import pytest

from connectors.cassandra.session import connect_cluster
from skewless.settings import load_settings


@pytest.fixture(scope="module")
def hosts() -> str:
    return load_settings().cassandra.hosts


@pytest.fixture(scope="module")
def session(hosts: str) -> Iterator[object]:
    cluster = connect_cluster(hosts)
    yield cluster.connect()
    cluster.shutdown()
