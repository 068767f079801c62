"""Removal of the files no snapshot references, on a real pyiceberg SQL catalog: stray files
of killed attempts go once old enough, referenced, fresh and pending-commit files stay, and
rolled-back snapshots are expired on request."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.iceberg.catalog import CatalogConfig
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from connectors.iceberg.orphans import (
    _support_remove_snapshots,
    find_orphans,
    local_path,
    remove_orphans,
    rolled_back_snapshots,
)
from tests.unit.skewless.training.conftest import USER_STATS, history_arrow
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update

HOUR = 3_600_000
NOW = int(time.time() * 1000) + 2 * HOUR  # the tables' snapshots are two hours old by this clock
JOB, OPERATOR = "a1" * 16, "b2" * 16  # a Flink job and committer operator id


def _touch(path: Path, age_ms: int, data: bytes = b"PAR1 stray") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    _age(path, age_ms)
    return path


def _age(path: Path, age_ms: int) -> None:
    seconds = (NOW - age_ms) / 1000
    os.utime(path, (seconds, seconds))


def _age_all(root: Path, age_ms: int = 3 * HOUR) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            _age(path, age_ms)


def _rows(table, snapshot_id: int | None = None) -> Counter:
    rows = table.scan(snapshot_id=snapshot_id).to_arrow().to_pylist()
    return Counter(map(tuple, (r.values() for r in rows)))


def _reloaded(table):
    """The table as a new process sees it."""
    return table.catalog.load_table(table.name())


def _local(uri: str) -> str:
    path = local_path(uri)
    assert path is not None
    return path


def _files_of(table, snapshot) -> set[str]:
    """The manifest list, and the manifests and data files a snapshot added."""
    added = [m for m in snapshot.manifests(table.io) if m.added_snapshot_id == snapshot.snapshot_id]
    entries = [e.data_file.file_path for m in added for e in m.fetch_manifest_entry(table.io)]
    return {_local(snapshot.manifest_list), *(_local(m.manifest_path) for m in added), *map(_local, entries)}


@pytest.fixture
def cfg(tmp_path: Path) -> CatalogConfig:
    return CatalogConfig(state_dir=tmp_path / "state")


@pytest.fixture
def rolled_back(cfg: CatalogConfig):
    """Two appends, every file three hours old, `main` rolled back to the first."""
    table = ensure_history_table(cfg, USER_STATS)
    for batch in range(2):
        updates = [Update(f"u{i}", BASE_MS + i * HOUR, BASE_MS + i * HOUR, batch * 10 + i, (0.5, i)) for i in range(3)]
        table.append(history_arrow(table, updates, USER_STATS))
    first, second = table.snapshots()
    table.manage_snapshots().create_branch(first.snapshot_id, "main").commit()
    root = Path(_local(table.location()))
    _age_all(root)
    return table, root, first, second


def _strays(table, root: Path, first) -> tuple[set[str], Path]:
    """Old stray files of killed attempts (and checksum sidecars), plus one fresh stray."""
    referenced = Path(sorted(p for p in _files_of(table, first) if p.endswith(".parquet"))[0])
    data = referenced.parent
    old = {
        _touch(data / "00000-0-killed-00001.parquet", 3 * HOUR),
        _touch(data / ".00000-0-killed-00001.parquet.crc", 3 * HOUR, b"crc"),
        _touch(root / "data" / "valid_from_day=2030-01-01" / "00000-1-killed-00002.parquet", 2 * HOUR),
        _touch(root / "metadata" / "killed-m0.avro", 3 * HOUR, b"Obj"),
        _touch(root / "metadata" / "snap-1-1-killed.avro", 3 * HOUR, b"Obj"),
        _touch(root / "metadata" / ".gone-m0.avro.crc", 3 * HOUR, b"crc"),  # its file is gone
    }
    never = [
        _touch(data / f".{referenced.name}.crc", 3 * HOUR, b"crc"),  # a referenced file's sidecar
        _touch(root / "metadata" / "00099-killed.metadata.json", 3 * HOUR, b"{}"),
        _touch(root / "metadata" / "version-hint.text", 3 * HOUR, b"1"),
        _touch(root / "metadata" / "notes.stats", 3 * HOUR, b"?"),
    ]
    assert all(p.exists() for p in never)
    fresh = _touch(data / "00000-0-running-00003.parquet", 60_000)  # a running job's in-flight file
    return {str(p) for p in old}, fresh


def test_only_old_unreferenced_files_are_orphans(rolled_back) -> None:
    table, root, first, second = rolled_back
    strays, fresh = _strays(table, root, first)
    found = find_orphans(table, HOUR, now_ms=NOW)
    assert {f.path for f in found} == strays
    assert {f.folder for f in found if "/metadata/" in f.path} == {"metadata"}
    assert all(f.size == os.path.getsize(f.path) for f in found)
    # The rolled-back snapshot is still in the metadata: its files are referenced.
    assert not _files_of(table, second) & {f.path for f in found}
    assert str(fresh) not in {f.path for f in found}
    assert find_orphans(table, 4 * HOUR, now_ms=NOW) == []  # nothing that old


def test_removal_keeps_every_row_and_every_snapshot_readable(rolled_back) -> None:
    table, root, first, second = rolled_back
    strays, fresh = _strays(table, root, first)
    rows, rolled_back_rows = _rows(table), _rows(table, second.snapshot_id)
    referenced = {p for s in (first, second) for p in _files_of(table, s)}

    dry = remove_orphans(table, HOUR, dry_run=True, now_ms=NOW)
    assert (dry.dry_run, dry.files, dry.expired_snapshots) == (True, len(strays), 0)
    assert all(os.path.exists(p) for p in strays)

    report = remove_orphans(table, HOUR, now_ms=NOW)
    assert (report.files, report.data_files, report.metadata_files) == (6, 3, 3)
    assert report.bytes == dry.bytes > 0
    assert not any(os.path.exists(p) for p in strays)
    assert fresh.exists() and all(os.path.exists(p) for p in referenced)
    table = _reloaded(table)
    assert _rows(table) == rows
    assert _rows(table, second.snapshot_id) == rolled_back_rows
    assert find_orphans(table, HOUR, now_ms=NOW) == []


def test_pyiceberg_081_cannot_remove_snapshots_by_itself() -> None:
    from pyiceberg.table.update import RemoveSnapshotsUpdate, _apply_table_update

    import connectors.iceberg.orphans as orphans

    handler = _apply_table_update.dispatch(RemoveSnapshotsUpdate)
    assert handler is _apply_table_update.dispatch(object) or handler is orphans._remove_snapshots
    _support_remove_snapshots()
    _support_remove_snapshots()  # registering twice is a no-op
    assert _apply_table_update.dispatch(RemoveSnapshotsUpdate) is not _apply_table_update.dispatch(object)


def test_expiring_the_rolled_back_snapshot_orphans_its_files(rolled_back) -> None:
    table, root, first, second = rolled_back
    strays, fresh = _strays(table, root, first)
    rows = _rows(table)
    only_second = _files_of(table, second)
    assert rolled_back_snapshots(table, NOW - HOUR) == [second.snapshot_id]
    assert rolled_back_snapshots(table, second.timestamp_ms) == []  # younger than the cutoff: kept

    dry = remove_orphans(table, HOUR, dry_run=True, expire=True, now_ms=NOW)
    assert dry.expired_snapshots == 1 and dry.files == len(strays) + len(only_second)
    assert len(table.snapshots()) == 2 and all(os.path.exists(p) for p in only_second)

    report = remove_orphans(table, HOUR, expire=True, now_ms=NOW)
    assert report.expired_snapshots == 1 and report.files == dry.files and report.bytes == dry.bytes
    assert not any(os.path.exists(p) for p in only_second | strays)
    table = _reloaded(table)
    assert [s.snapshot_id for s in table.snapshots()] == [first.snapshot_id]
    assert second.snapshot_id not in {e.snapshot_id for e in table.metadata.snapshot_log}
    assert table.current_snapshot().snapshot_id == first.snapshot_id and _rows(table) == rows
    assert fresh.exists() and all(os.path.exists(p) for p in _files_of(table, first))
    again = remove_orphans(table, HOUR, expire=True, now_ms=NOW)
    assert (again.expired_snapshots, again.files) == (0, 0)


@pytest.mark.parametrize("ref", ["tag", "branch"])
def test_snapshots_on_a_tag_or_another_branch_are_not_rolled_back(rolled_back, ref: str) -> None:
    table, _, _, second = rolled_back
    manage = table.manage_snapshots()
    (manage.create_tag if ref == "tag" else manage.create_branch)(second.snapshot_id, "kept").commit()
    assert rolled_back_snapshots(table, NOW) == []


def test_removing_a_snapshot_a_ref_points_at_is_refused(rolled_back) -> None:
    from pyiceberg.table.update import RemoveSnapshotsUpdate

    table, _, first, _ = rolled_back
    _support_remove_snapshots()
    with pytest.raises(ValueError, match="main point at"):
        table.catalog.commit_table(table, (), (RemoveSnapshotsUpdate(snapshot_ids=[first.snapshot_id]),))


def test_files_only_deleted_entries_reference_are_kept(cfg: CatalogConfig) -> None:
    """After the snapshot that added a file is expired, the delete that removed it still
    lists it (status DELETED); an older reader of that manifest needs it."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.table.update import RemoveSnapshotsUpdate

    table = ensure_history_table(cfg, USER_STATS)
    table.append(history_arrow(table, [Update("u1", BASE_MS, BASE_MS, 1, (1.0, 1))], USER_STATS))
    added = table.current_snapshot()
    (data_file,) = [_local(t.file.file_path) for t in table.scan().plan_files()]
    table.delete(AlwaysTrue())
    _support_remove_snapshots()
    table.catalog.commit_table(table, (), (RemoveSnapshotsUpdate(snapshot_ids=[added.snapshot_id]),))
    table.refresh()
    _age_all(Path(_local(table.location())))
    assert os.path.exists(data_file) and data_file not in {f.path for f in find_orphans(table, HOUR, now_ms=NOW)}


def test_a_pending_flink_commit_keeps_its_files_until_main_holds_it(rolled_back) -> None:
    """A job killed after checkpoint 5 completed but before it committed left its manifest;
    a restore from that checkpoint commits it, so it and the files it lists stay."""
    table, root, first, second = rolled_back
    (manifest,) = [m for m in second.manifests(table.io) if m.added_snapshot_id == second.snapshot_id]
    pending = root / "metadata" / f"{JOB}-{OPERATOR}-00000-0-5-00001.avro"
    shutil.copyfile(_local(manifest.manifest_path), pending)
    entries = manifest.fetch_manifest_entry(table.io)
    listed = {_local(e.data_file.file_path) for e in entries}
    _age(pending, 3 * HOUR)
    recommitted = _rows(table, second.snapshot_id)

    report = remove_orphans(table, HOUR, expire=True, now_ms=NOW)
    assert report.expired_snapshots == 1 and report.pending_commits_kept == 1
    assert pending.exists() and all(os.path.exists(p) for p in listed)

    # The restored job commits checkpoint 5's files: the manifest is a leftover, its files are not.
    commit = {"flink.job-id": JOB, "flink.operator-id": OPERATOR, "flink.max-committed-checkpoint-id": "5"}
    with table.transaction() as tx, tx.update_snapshot(snapshot_properties=commit).fast_append() as append:
        for entry in entries:
            append.append_data_file(entry.data_file)
    assert _rows(table) == recommitted
    found = find_orphans(table, HOUR, now_ms=NOW)
    assert str(pending) in {f.path for f in found} and not listed & {f.path for f in found}


def test_an_unreadable_pending_manifest_stops_removal_unless_it_is_being_written(rolled_back) -> None:
    table, root, _, _ = rolled_back
    stray = _touch(root / "data" / "00000-0-killed-00001.parquet", 3 * HOUR)
    pending = _touch(root / "metadata" / f"{JOB}-{OPERATOR}-00000-0-7-00001.avro", 60_000, b"Obj\x01 half")
    assert {f.path for f in find_orphans(table, HOUR, now_ms=NOW)} == {str(stray)}
    _age(pending, 3 * HOUR)
    with pytest.raises(IcebergError, match="cannot read Flink's pending manifest"):
        remove_orphans(table, HOUR, now_ms=NOW)
    assert stray.exists() and pending.exists()


def test_paths_are_compared_as_local_paths() -> None:
    assert local_path("file:/w/t/data/a.parquet") == local_path("file:///w/t/data/a.parquet") == "/w/t/data/a.parquet"
    assert local_path("file://localhost/w/t//a.avro") == local_path("/w/t/a.avro") == "/w/t/a.avro"
    assert local_path("s3://bucket/w/t/a.avro") is None and local_path("file://host/w") is None


class _Remote:
    properties: dict = {}

    def name(self) -> tuple[str, str]:
        return ("skewless", "user_stats_history")

    def location(self) -> str:
        return "s3://bucket/skewless/user_stats_history"


def test_unsupported_tables_are_refused(cfg: CatalogConfig) -> None:
    with pytest.raises(IcebergError, match="local file: warehouses only"):
        find_orphans(_Remote(), HOUR)  # type: ignore[arg-type]
    table = ensure_history_table(cfg, USER_STATS)
    with table.transaction() as tx:
        tx.set_properties({"write.data.path": "file:///elsewhere"})
    with pytest.raises(IcebergError, match="sets write.data.path"):
        remove_orphans(table, HOUR, dry_run=True)
    with pytest.raises(IcebergError, match="must not be negative"):
        find_orphans(table, -1)


# ---- the CLI


def test_default_age_covers_the_checkpoint_interval() -> None:
    from skewless.history.cli import default_clean_older_than

    assert default_clean_older_than(10_000) == timedelta(hours=1)
    assert default_clean_older_than(45 * 60_000) == timedelta(minutes=90)


def _cli(*args: str):
    from click.testing import CliRunner

    from skewless.cli import main

    return CliRunner().invoke(main, ["history", "clean", *args])


def test_cli_removes_the_orphans_of_a_views_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import register_example_repo

    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    spec = register_example_repo(tmp_path).spec("user_transactions")
    history = HistoryTable(spec.name, keys=(Column(spec.entity_key, "string"),),
                           features=tuple(Column(f.name, f.value_type) for f in spec.features))
    table = ensure_history_table(CatalogConfig(state_dir=tmp_path), history)
    table.append(history_arrow(table, [Update("u1", BASE_MS, BASE_MS, 1, (1.0, 2, 3.0, 4.0))], history))
    stray = Path(_local(table.location())) / "data" / "00000-0-killed-00001.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"PAR1 stray")
    os.utime(stray, (time.time() - 7200, time.time() - 7200))

    dry = _cli("user_transactions", "--dry-run")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert (report["dry_run"], report["files"], report["bytes"], report["data_files"]) == (True, 1, 10, 1)
    assert stray.exists()
    done = _cli("user_transactions", "--expire-rolled-back")
    assert done.exit_code == 0 and len(done.output.splitlines()) == 1
    assert json.loads(done.output)["files"] == 1 and not stray.exists()
    assert sum(_rows(table.catalog.load_table(table.name())).values()) == 1


def test_cli_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import register_example_repo

    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    register_example_repo(tmp_path)
    for args, message in [
        (["no_such_view"], "no view 'no_such_view' is registered; registered views: merchant_activity, user_transactions"),
        (["user_transactions"], "view 'user_transactions' has no history table"),
        (["user_transactions", "--older-than", "soon"], "--older-than: cannot read duration 'soon'"),
    ]:
        done = _cli(*args)
        assert done.exit_code == 1 and message in done.output and len(done.output.strip().splitlines()) == 1
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path / "bad"))
    register_example_repo(tmp_path / "bad")
    (tmp_path / "bad" / "iceberg" / "catalog.db").mkdir(parents=True)  # not a database file
    bad = _cli("user_transactions")
    assert bad.exit_code == 1 and bad.output.startswith("error: cannot open the sql catalog")
    assert "Traceback" not in bad.output
