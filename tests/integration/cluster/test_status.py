"""`skewless status` on a real job: deployed with `skewless deploy` while no cluster is up, so it
runs on a local mini-cluster in a detached process, as a user without a cluster would run it.

The topic (events plus every kind of malformed record, tests/integration/jobs/test_metrics.py) is
this test's own, and so are the registry (a SQLite file in tmp_path), the keyspace and the Iceberg
namespace; the view's name is unique too, as its spec file lives in the shared state folder.
Its events are up to two days old, so its freshness SLO is ten days: the job exports the SLO's
gauge and adds 10 d as a bucket edge, and every write lands below it.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skewless.cluster import control
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape
from skewless.settings import REPO_ROOT, load_settings
from tests.integration.jobs.test_metrics import DECODE_CODES, MALFORMED, codes, decoded

pytestmark = pytest.mark.timeout(300)
HOUR_MS = 3_600_000
REPO = '''
from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

source = Source(name="{name}_source", topic="{topic}", schema="{schema}", event_time="event_time")
view = FeatureView(
    name="{name}_spend", version=1, entity=Entity("user", keys="user_id"), source=source,
    aggregations=[Aggregation("amount", "sum", windows=[Window("1d", hop="1h")])],
    ttl="30d", out_of_orderness="1m", freshness_slo="p99 < 10d",
)
'''
PNG = re.compile(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'")


def skewless(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skewless.cli", *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pngs(page: Path) -> list[bytes]:
    return [base64.b64decode(data) for data in PNG.findall(page.read_text())]


def test_status_of_a_local_deployment(unique_name: str, tmp_path: Path) -> None:
    topic, view = f"{unique_name}.transactions", f"{unique_name}_spend@1"
    repo = tmp_path / "repo"
    repo.mkdir()
    schema = REPO_ROOT / "schemas" / "transactions.avsc"
    (repo / "views.py").write_text(REPO.format(name=unique_name, topic=topic, schema=schema))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SKEWLESS_REGISTRY_URL": f"sqlite:///{tmp_path / 'registry.db'}",
           "SKEWLESS_CASSANDRA_KEYSPACE": unique_name, "SKEWLESS_ICEBERG_NAMESPACE": unique_name,
           "SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS": "2000"}
    settings = load_settings()
    assert not control.is_up(settings), "a session cluster of this home is up: the deploy would go there"
    applied = skewless(env, "apply", "--repo", str(repo))
    assert applied.returncode == 0, applied.stderr
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    report = produce(StreamShape(seed=3, events=300, users=6, days=2, end_ms=end, disorder_ms=0), topic,
                     settings.kafka.bootstrap, partitions=2, malformed=MALFORMED, progress=False)

    deployed = skewless(env, "deploy", "--topic", topic)
    assert deployed.returncode == 0, deployed.stderr
    assert "no cluster is up" in deployed.stderr
    try:
        # Until the job has read the whole topic: its view counts every decoded record.
        want = f"{decoded(report):,}"
        deadline = time.monotonic() + 150
        while True:
            shown = skewless(env, "status", "--topic", topic, timeout=60)
            row = next((line for line in shown.stdout.splitlines() if line.split()[:1] == [view]), None)
            if row is not None and row.split()[1] == want and "none yet" not in shown.stdout:
                break
            assert time.monotonic() < deadline, f"status after 150 s:\n{shown.stdout}\n{shown.stderr}"
            time.sleep(2)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "RUNNING on local (pid" in shown.stdout
        letters = ", ".join(f"{c}={n}" for c, n in sorted(codes(report, DECODE_CODES).items()))
        assert f"decode dead letters: {letters}" in shown.stdout
        assert row.endswith(f"missing_key={report.malformed['missing_key']}"), row
        assert "p99 <= 864000.00 s: ok (" in row, row  # the SLO's gauge, read from the job

        # The report from the stack's Prometheus (make test's stack runs one), then from sampling.
        # Prometheus has the job's rates after two scrapes of it; until then the command samples.
        from_prometheus = tmp_path / "prometheus.html"
        deadline = time.monotonic() + 60
        while True:
            written = skewless(env, "status", "--topic", topic, "--html", str(from_prometheus), "--window", "5",
                               "--sample-seconds", "2")
            assert written.returncode == 0, written.stderr
            if "plots from Prometheus" in written.stderr:
                break
            assert time.monotonic() < deadline, written.stderr
            time.sleep(3)
        sampled = tmp_path / "sampled.html"
        written = skewless({**env, "SKEWLESS_PROMETHEUS_PORT": str(free_port())}, "status", "--topic", topic,
                           "--html", str(sampled), "--sample-seconds", "3")
        assert written.returncode == 0, written.stderr
        assert "read every second for 3 s" in written.stderr
        for page in (from_prometheus, sampled):
            images = pngs(page)
            assert len(images) == 1 and images[0].startswith(b"\x89PNG\r\n\x1a\n"), page
            assert view in page.read_text()
    finally:
        stopped = skewless(env, "stop", "--topic", topic)
    assert stopped.returncode == 0, stopped.stderr
    after = skewless(env, "status", "--topic", topic)
    assert after.returncode == 1 and "no job of topic" in after.stderr, after.stdout + after.stderr
