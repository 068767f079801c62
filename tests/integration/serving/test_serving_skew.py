"""The proof, for real: while the Flink job writes Cassandra and Iceberg, the SDK and the HTTP
server (`skewless serve`, a subprocess) serve reads with the serving log on; afterwards
`skewless verify` recomputes every served value from the Iceberg history "as it was known"
at its served_at and finds no mismatch."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from connectors.iceberg.catalog import CatalogConfig
from features.transactions import USER_TRANSACTIONS
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape
from skewless.runner import run_job
from skewless.serving import FeatureStore, ServingLog, StoreUnavailableError
from skewless.serving.verify import read_log, verify_served
from skewless.settings import REPO_ROOT, load_settings
from tests.conftest import register_example_repo

HOUR_MS = 3_600_000
FEATURES = ["user_transactions:*"]
LAG_MS = 10_000  # verify's default: about one checkpoint interval


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            self.connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = self.connection.getresponse()
            return response.status, response.read()
        except OSError:
            self.connection.close()  # e.g. refused while the server starts: reconnect next time
            raise


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, StoreUnavailableError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture(scope="module")
def served_during_the_job(tmp_path_factory: pytest.TempPathFactory):
    name = f"v{random.Random().getrandbits(40):010x}"
    tmp = tmp_path_factory.mktemp("serving")
    home = tmp / "home"  # its registry holds the example repo: what serve and verify look views up in
    spec = dataclasses.replace(register_example_repo(home).spec("user_transactions"), source_topic=f"{name}.transactions")
    settings = load_settings(home=home, cassandra={"keyspace": name}, iceberg={"namespace": name},
                             job={"checkpoint_interval_ms": 2_000})
    now = int(time.time() * 1000)
    # Every event and tile expiry lies before the reads, so no value is valid after it is served.
    shape = StreamShape(
        seed=3, events=3_000, users=25, days=35, end_ms=(now // HOUR_MS - 1) * HOUR_MS, disorder_ms=30_000
    )
    produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=2, progress=False)
    users = [f"user-{i:06d}" for i in range(shape.users)] + ["no-such-user"]

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.update(settings.to_environ())
    server = subprocess.Popen(
        [sys.executable, "-m", "skewless.cli", "serve", "--port", str(port), "--view", "user_transactions", "--log-sample", "1",
         "--log-path", str(tmp / "http-log"), "--max-entities", "50"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    job_error: list[BaseException] = []

    def job() -> None:
        try:
            run_job(spec, settings, bounded=True, until=now)
        except BaseException as exc:  # reported by the test, not lost in the thread
            job_error.append(exc)

    runner = threading.Thread(target=job, daemon=True)
    runner.start()
    sdk_log = ServingLog(tmp / "sdk-log", 1.0)
    counts = {"sdk": 0, "async": 0, "http": 0}
    try:
        client = Http(port)
        wait_until(lambda: client.request("GET", "/healthz")[0] == 200, 30, "the server to be up")
        store = FeatureStore.from_settings(settings, {spec.name: spec}, log=sdk_log)
        wait_until(lambda: store.prepare() is None, 120, "the job to create the Cassandra table")
        wait_until(lambda: client.request("GET", "/readyz")[0] == 200, 30, "the server to be ready")
        rng = random.Random(9)

        def read_once() -> None:
            batch = rng.sample(users, 3)
            store.get_online_features(batch, FEATURES)
            asyncio.run(store.get_online_features_async(batch[:1], FEATURES))
            body = json.dumps({"entities": batch, "features": FEATURES}).encode()
            status, body = client.request("POST", "/features", body)
            assert status == 200, body
            counts["sdk"] += 1
            counts["async"] += 1
            counts["http"] += 1

        while runner.is_alive():
            read_once()
            time.sleep(0.02)
        job_done_at = int(time.time() * 1000)
        for _ in range(20):  # and after the job, against the final state
            read_once()
        too_many = json.dumps({"entities": ["u"] * 51, "features": FEATURES}).encode()
        unknown = b'{"entities": ["x"], "features": ["user_transactions:no"]}'
        errors = {
            "unknown": client.request("POST", "/features", unknown),
            "malformed": client.request("POST", "/features", b'{"entities": '),
            "too_many": client.request("POST", "/features", too_many),
        }
        metrics = client.request("GET", "/metrics")[1].decode()
        store.close()
    finally:
        sdk_log.close()
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    runner.join(timeout=5)
    if job_error:
        raise job_error[0]
    return {
        "spec": spec, "settings": settings, "tmp": tmp, "env": env, "counts": counts, "errors": errors,
        "job_done_at": job_done_at,
        "metrics": metrics, "server_exit": server.returncode, "server_output": output,
    }


def test_every_value_served_during_the_job_equals_the_known_time_history(served_during_the_job):
    run = served_during_the_job
    spec, settings, tmp = run["spec"], run["settings"], run["tmp"]
    entries = read_log([tmp / "sdk-log", tmp / "http-log"])
    assert run["counts"]["http"] >= 20
    assert len(entries) >= (run["counts"]["sdk"] * 3 + run["counts"]["async"] + run["counts"]["http"] * 3) * 4
    assert any(e.value is not None for e in entries) and any(e.entity == "no-such-user" for e in entries)
    catalog = CatalogConfig.from_settings(settings)
    # Without being told the job has finished, verify settles what the committed history proves
    # complete: everything served before the job's last update (parallelism 1).
    proven = verify_served(entries, {spec.name: spec}, catalog, max_write_lag_ms=LAG_MS, wait_s=0,
                           parallelism=settings.job.parallelism)
    assert proven.total("mismatched") == 0, proven.render_table()
    assert proven.total("checked") + proven.total("unsettled") == len(entries)
    assert proven.total("checked") >= len(entries) // 4
    # Cassandra trails written_at a little while the job runs (~0.1 s measured): values read
    # in between are lagged, and the report says by how much.
    report = verify_served(entries, {spec.name: spec}, catalog, max_write_lag_ms=LAG_MS, history_complete=True)
    print(report.render_table())
    assert report.total("mismatched") == 0, report.render_table()
    assert report.total("unsettled") == 0
    assert report.total("checked") == len(entries)
    assert report.total("matched") >= len(entries) * 3 // 4
    assert report.exit_code() == 0
    # After the job, the store is exactly the history: nothing served then may lag.
    after = [e for e in entries if e.served_at >= run["job_done_at"]]
    exact = verify_served(after, {spec.name: spec}, catalog, max_write_lag_ms=0, history_complete=True)
    assert after and exact.total("matched") == len(after)


def test_the_verify_command_agrees_and_can_sample_live(served_during_the_job):
    run = served_during_the_job
    command = [sys.executable, "-m", "skewless.cli", "verify", "--log", str(run["tmp"] / "http-log"),
               "--sample-live", "10", "--view", "user_transactions", "--max-write-lag-ms", str(LAG_MS), "--history-complete",
               "--json", str(run["tmp"] / "report.json")]
    done = subprocess.run(command, cwd=REPO_ROOT, env=run["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: every served value equals the known-time history" in done.stdout
    report = json.loads((run["tmp"] / "report.json").read_text())
    assert report["ok"] and report["totals"]["mismatched"] == 0 and report["totals"]["checked"] > 40


def test_the_server_answered_bad_requests_with_4xx_and_exposed_metrics(served_during_the_job):
    run = served_during_the_job
    assert run["errors"]["unknown"][0] == 400 and b"unknown_feature" in run["errors"]["unknown"][1]
    assert run["errors"]["malformed"][0] == 400 and b"malformed_json" in run["errors"]["malformed"][1]
    assert run["errors"]["too_many"][0] == 413
    metrics = run["metrics"]
    assert 'skewless_requests_total{endpoint="/features",status="200"}' in metrics
    assert 'skewless_requests_total{endpoint="/features",status="400"} 2.0' in metrics
    assert "skewless_cassandra_read_duration_seconds_bucket" in metrics


def test_the_server_shut_down_gracefully_and_flushed_its_log(served_during_the_job):
    run = served_during_the_job
    # The server drains, shuts the app down (log flushed, session closed), then exits.
    assert run["server_exit"] in (0, -signal.SIGTERM), run["server_output"]
    assert "shutdown complete" in run["server_output"], run["server_output"]
    http_entries = read_log([run["tmp"] / "http-log"])
    assert len(http_entries) == run["counts"]["http"] * 3 * len(USER_TRANSACTIONS.feature_names)
