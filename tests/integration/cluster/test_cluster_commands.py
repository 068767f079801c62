"""The session cluster's commands for real, as an operator types them: `cluster up` (twice),
`deploy --parallelism 2`, `jobs`, `upgrade --view V@2` (savepoint, new set, checkpoint),
`stop --savepoint`, `cluster down`; and their refusals in one line each."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from skewless.registry.store import Registry
from tests.chaos.job import skewless_command

pytestmark = pytest.mark.integration

REPO_MODULE = '''"""The example view on the test's topic, at version {version}."""
import dataclasses

import features.transactions as example

source = dataclasses.replace(example.transactions, topic={topic!r})
user_transactions = dataclasses.replace(example.user_transactions, source=source, version={version},
                                        description="version {version}")
'''


class Operator:
    def __init__(self, tmp: Path) -> None:
        name = f"k{uuid.uuid4().hex[:8]}"
        self.topic = f"{name}.transactions"
        self.tmp = tmp
        self.registry = f"sqlite:///{tmp / 'registry.db'}"
        self.env = {
            **os.environ, "SKEWLESS_HOME": str(tmp / "home"), "SKEWLESS_REGISTRY_URL": self.registry,
            "SKEWLESS_CASSANDRA_KEYSPACE": name, "SKEWLESS_ICEBERG_NAMESPACE": name,
            "SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS": "2000",
            "SKEWLESS_CLUSTER_REST_PORT": "28081", "SKEWLESS_CLUSTER_RPC_PORT": "26123",
        }

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(skewless_command(*args), env=self.env, capture_output=True, text=True, timeout=timeout)

    def apply(self, version: int) -> None:
        repo = self.tmp / f"repo_v{version}_{uuid.uuid4().hex[:6]}"
        repo.mkdir()
        (repo / "__init__.py").write_text(REPO_MODULE.format(topic=self.topic, version=version))
        with Registry(self.registry) as registry:
            plan = registry.apply(repo)
        assert not plan.refused, plan


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and message in done.stderr, done.stderr


@pytest.mark.timeout(1_200)
def test_up_deploy_upgrade_stop_down(tmp_path: Path) -> None:
    op = Operator(tmp_path)
    try:
        ok(op("cluster", "up"))
        assert "supervisor running" in ok(op("cluster", "up"))  # idempotent
        status = ok(op("cluster", "status"))
        assert [line.split()[1] for line in status.splitlines()[1:]] == ["running"] * 4 and "4/4 slots free" in status

        op.apply(1)
        refused(op("deploy", "--topic", op.topic), f"topic {op.topic!r} does not exist")
        ok(op("produce", "--topic", op.topic, "--events", "2000", "--partitions", "4", "--users", "50"))
        deployed = ok(op("deploy", "--topic", op.topic, "--parallelism", "2"))
        assert "running on http://127.0.0.1:28081" in deployed
        listed = ok(op("jobs"))
        assert "user_transactions-v1" in listed and "RUNNING" in listed and " 2" in listed
        refused(op("deploy", "--topic", op.topic), "is deployed already")

        refused(op("upgrade", "--view", "user_transactions@1"), "nothing to upgrade")
        op.apply(2)
        upgraded = ok(op("upgrade", "--view", "user_transactions@2"))
        assert "runs and completed a checkpoint" in upgraded and "user_transactions-v2" in upgraded
        listed = ok(op("jobs"))
        assert "user_transactions-v2" in listed and "user_transactions-v1" not in listed

        path = Path(ok(op("stop", "--topic", op.topic, "--savepoint")).strip().splitlines()[0])
        assert (path / "_metadata").is_file()
        assert "no jobs deployed or running" in ok(op("jobs"))
    finally:
        ok(op("cluster", "down"))
    assert op("cluster", "status").returncode == 1
    assert "not running" in ok(op("cluster", "down"))  # idempotent
