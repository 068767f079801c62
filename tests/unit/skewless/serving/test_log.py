import threading
import time

import pytest

from connectors.cassandra.reader import LiveRow
from skewless.serving import log as log_module
from skewless.serving.errors import ServingError, VerifyError
from skewless.serving.log import ServingLog
from skewless.serving.refs import FeatureRef
from skewless.serving.result import ViewRead, build_response
from skewless.serving.verify import Served, read_log

REFS = (FeatureRef("users", "n_tx"), FeatureRef("users", "avg_amount"))


def response(served_at: int = 1_700_000_000_000):
    reads = [
        {"users": ViewRead("u1", LiveRow({"n_tx": 4, "avg_amount": 0.1 + 0.2}, 1_699_000_000_000, 1_699_000_000_007))},
        {"users": ViewRead("u2", None)},
    ]
    return build_response(served_at, REFS, ["u1", {"user_id": "u2"}], reads)


def test_every_served_value_becomes_one_line_that_verify_reads_back(tmp_path):
    log = ServingLog(tmp_path, 1.0)
    log.record(response())
    log.close()
    assert log.written == 4
    entries = read_log([tmp_path])
    assert entries == [
        Served("u1", "users", "n_tx", 4, 1_699_000_000_000, 1_699_000_000_007, 1_700_000_000_000),
        Served("u1", "users", "avg_amount", 0.1 + 0.2, 1_699_000_000_000, 1_699_000_000_007, 1_700_000_000_000),
        Served("u2", "users", "n_tx", None, None, None, 1_700_000_000_000),
        Served("u2", "users", "avg_amount", None, None, None, 1_700_000_000_000),
    ]
    assert entries[1].value == 0.30000000000000004  # floats survive JSON bit for bit


def test_nothing_is_written_at_sample_zero(tmp_path):
    log = ServingLog(tmp_path, 0.0)
    log.record(response())
    log.close()
    assert list(tmp_path.iterdir()) == []


def test_a_fraction_of_requests_is_sampled(tmp_path):
    import random

    log = ServingLog(tmp_path, 0.25, rng=random.Random(3))
    for _ in range(400):
        log.record(response())
    log.close()
    assert 60 * 4 < log.written < 140 * 4


def test_a_full_queue_drops_samples_instead_of_blocking(tmp_path, monkeypatch):
    release = threading.Event()
    real_lines = log_module._lines

    def slow_lines(r):
        release.wait(10)
        return real_lines(r)

    monkeypatch.setattr(log_module, "_lines", slow_lines)
    log = ServingLog(tmp_path, 1.0, max_queue=1)
    log.record(response())  # taken by the writer, which then blocks
    deadline = time.monotonic() + 5
    while not log._queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    log.record(response())  # queued
    started = time.perf_counter()
    log.record(response())  # dropped at once
    assert time.perf_counter() - started < 0.05
    assert log.dropped == 1
    release.set()
    log.close()
    assert log.written == 8


def test_bad_sample_rates_are_refused(tmp_path):
    with pytest.raises(ServingError, match="between 0 and 1"):
        ServingLog(tmp_path, 1.5)


def test_a_line_still_being_written_is_skipped_and_garbage_is_an_error(tmp_path):
    good = b'{"entity":"u1","view":"users","feature":"n_tx","value":1,"valid_from":1,"written_at":2,"served_at":3}\n'
    (tmp_path / "a.jsonl").write_bytes(good + b'{"entity":"u1","vi')
    assert len(read_log([tmp_path / "a.jsonl"])) == 1
    (tmp_path / "b.jsonl").write_bytes(b"not json\n")
    with pytest.raises(VerifyError, match=r"b.jsonl:1 is not JSON"):
        read_log([tmp_path])
    with pytest.raises(VerifyError, match="does not exist"):
        read_log([tmp_path / "missing"])
