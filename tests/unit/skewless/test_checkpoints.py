"""Lineage folders, restore points and the journal of restores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skewless.checkpoints import Lineage, lineage_name, restore_point_at
from skewless.errors import SkewlessError


def metadata(folder: Path, mtime: float, checkpoint_id: int = 0) -> Path:
    """A _metadata file as Flink starts it: magic number, format version, checkpoint id."""
    folder.mkdir(parents=True)
    head = (0x4960672D).to_bytes(4, "big") + (6).to_bytes(4, "big") + checkpoint_id.to_bytes(8, "big")
    (folder / "_metadata").write_bytes(head + b"rest")
    os.utime(folder / "_metadata", (mtime, mtime))
    return folder


def test_lineage_name_is_stable_and_safe() -> None:
    assert lineage_name("tx", ["b-v2", "a-v1"]) == lineage_name("tx", ["a-v1", "b-v2"]) == "tx--a-v1+b-v2"
    assert lineage_name("a/b c", ["v-v1"]) == "a_b_c--v-v1"


def test_restore_points_newest_first_and_ancestry_through_the_journal(tmp_path: Path) -> None:
    lineage = Lineage(tmp_path, "tx", ["v-v1"])
    metadata(lineage.checkpoint_dir / "J1" / "chk-4", 100)
    metadata(lineage.checkpoint_dir / "J1" / "chk-5", 200)
    metadata(lineage.checkpoint_dir / "J2" / "chk-9", 300)
    (lineage.checkpoint_dir / "J2" / "chk-10").mkdir()  # in progress: no _metadata
    saved = metadata(lineage.savepoint_dir / "savepoint-ab12", 400, checkpoint_id=11)
    (saved / "skewless.json").write_text('{"job_id": "J2"}')
    points = lineage.restore_points()
    assert [(p.kind, p.job_id, p.checkpoint_id) for p in points] == [
        ("savepoint", "J2", 11),
        ("checkpoint", "J2", 9),
        ("checkpoint", "J1", 5),
        ("checkpoint", "J1", 4),
    ]
    lineage.record_start("J1", 10, None)
    lineage.record_start("J2", 20, points[2])  # J2 resumed from J1@5
    assert lineage.ancestry(points[1]) == ({"J2": 9, "J1": 5}, 10)
    assert lineage.ancestry(points[3]) == ({"J1": 4}, 10)
    # A savepoint taken by Flink's own commands: job id from its folder name's prefix.
    foreign = metadata(lineage.savepoint_dir / "savepoint-0a1b2c-5e6f7a8b9c0d", 500, checkpoint_id=12)
    lineage.record_start("0a1b2c" + "f" * 26, 30, None)
    point = lineage.identify(next(p for p in lineage.restore_points() if p.path == foreign))
    assert (point.job_id, point.checkpoint_id) == ("0a1b2c" + "f" * 26, 12)


def test_a_path_without_metadata_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SkewlessError, match="no checkpoint or savepoint"):
        restore_point_at(str(tmp_path / "missing"))
    folder = metadata(tmp_path / "job" / "chk-3", 1)
    point = restore_point_at(f"file:{folder}/_metadata")
    assert (point.kind, point.job_id, point.checkpoint_id) == ("checkpoint", "job", 3)


def test_running_needs_a_live_process(tmp_path: Path) -> None:
    lineage = Lineage(tmp_path, "tx", ["v-v1"])
    assert lineage.running() is None
    lineage.mark_running("J", os.getpid())
    assert lineage.running() is None  # alive, but not a job process (pytest's command line)
    lineage.mark_running("J", 2**22 + 12345)  # no such process
    assert lineage.running() is None
    job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "jobs.pipeline"])
    try:
        lineage.mark_running("J", job.pid)
        assert lineage.running() == {"job_id": "J", "pid": job.pid}
        job.kill()
        job.wait()
        assert lineage.running() is None
    finally:
        job.kill()
