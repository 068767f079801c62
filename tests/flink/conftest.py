"""The jvm/flink jar every test here runs against, built once per session (recompiled only
when its sources changed). Java and Maven are part of the project's toolchain: a machine
without them fails these tests rather than skipping them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def jar() -> str:
    from skewless.devstack.flink_home import build_sink_jar

    return str(build_sink_jar())
