"""Deployed on a session cluster at parallelism 2 over two TaskManagers, on a 4-partition topic:
kill -9 of a TaskManager and of the JobManager, each recovered by the cluster alone, leave the
results of a fault-free run and of the oracle (per-key order and watermarks across partitions
included: both are judged through the history's steps and the online rows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chaos.cluster import ClusterChaosRun
from tests.chaos.config import ChaosConfig
from tests.chaos.test_chaos import failures

pytestmark = pytest.mark.integration

CONFIG = ChaosConfig(events=8_000, kills=2, users=150, partitions=4, malformed=12, produce_s=110.0, cassandra_outage_s=0.0)


@pytest.mark.timeout(1_500)
def test_taskmanager_and_jobmanager_kills_on_a_cluster_leave_a_fault_free_result(tmp_path: Path, capsys) -> None:
    with capsys.disabled():
        report = ClusterChaosRun(CONFIG, tmp_path).run()
    (tmp_path / "chaos.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"\nrecovery: TaskManager kill {report['taskmanager_recovery_s']} s, "
          f"JobManager kill {report['jobmanager_recovery_s']} s (kill -9 -> next completed checkpoint)")
    if ChaosConfig.from_env().bench:  # `make chaos`
        from bench import results

        results.update({"cluster_recovery_taskmanager_s": report["taskmanager_recovery_s"],
                        "cluster_recovery_jobmanager_s": report["jobmanager_recovery_s"]})
    broken = failures(report, CONFIG)
    assert report["kills"] == 2 and report["parallelism"] == 2
    assert not broken, "\n\n".join(broken) + f"\n\nfull report: {tmp_path / 'chaos.json'}"
