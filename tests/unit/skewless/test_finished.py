"""Finished bounded runs: which job's history is complete, from the journal and the finished record."""

from pathlib import Path

from skewless.checkpoints import Lineage
from skewless.finished import finished_jobs, record_finished, wrote_last_and_finished

UID = "user_transactions-v1"


def start(home: Path, job: str, at_ms: int, uids=(UID,), topic="transactions") -> None:
    Lineage(home, topic, list(uids)).record_start(job, at_ms, None)


def test_a_bounded_run_records_the_jobs_it_started(tmp_path: Path) -> None:
    start(tmp_path, "old", 100)
    start(tmp_path, "mine", 1_000)
    start(tmp_path, "other-lineage", 1_100, uids=("merchant_activity-v1",))
    record_finished(tmp_path, "transactions", [UID], launched_at_ms=900, finished_at_ms=2_000)
    assert finished_jobs(tmp_path) == {"mine": 2_000}


def test_the_last_writer_must_have_finished_with_no_job_of_the_view_since(tmp_path: Path) -> None:
    start(tmp_path, "mine", 1_000)
    record_finished(tmp_path, "transactions", [UID], launched_at_ms=900, finished_at_ms=2_000)
    assert wrote_last_and_finished(tmp_path, UID, "mine")
    assert not wrote_last_and_finished(tmp_path, UID, "unknown")
    assert not wrote_last_and_finished(tmp_path, UID, None)
    start(tmp_path, "of-another-view", 3_000, uids=("merchant_activity-v1",))
    assert wrote_last_and_finished(tmp_path, UID, "mine")
    start(tmp_path, "newer", 3_000, uids=(UID, "merchant_activity-v1"))  # may write Cassandra before it commits
    assert not wrote_last_and_finished(tmp_path, UID, "mine")


def test_nothing_recorded_when_the_journal_has_no_job_of_the_run(tmp_path: Path) -> None:
    record_finished(tmp_path, "transactions", [UID], launched_at_ms=900, finished_at_ms=2_000)
    assert finished_jobs(tmp_path) == {}
