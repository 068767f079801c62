"""Remove the files of a history table that no snapshot references: what killed attempts leave.

Where they come from: a Flink job killed between checkpoints leaves the data files its
writers opened after the last barrier (no checkpoint ever listed them); a pyiceberg commit
that lost its race leaves its manifest list; a restore that rolls `main` back
(connectors.iceberg.rollback) leaves snapshots off `main`'s ancestry, whose files become
orphans once those snapshots are expired (`expire_rolled_back`).

What counts as referenced: every manifest list of every snapshot in the metadata, every
manifest those list and every data or delete file entry of those manifests, deleted-status
entries included (an older snapshot still reads them). What is listed: the regular files
under the table's `data/` and `metadata/` folders ending in .parquet, .avro or .orc (data
files, delete files, manifests, manifest lists), plus Hadoop's checksum sidecars (`.<name>.crc`,
written next to each file by Java) of those files or of files that are gone. Metadata JSON
files, version hints and any other file are never touched. Java writes `file:/x`, pyiceberg
`file:///x`: both are compared as the local path `/x`.

Safety against the running job:

- Age: only files last modified more than `older_than` ago go. A writer's file is committed
  within about a checkpoint interval (plus the checkpoint's duration) of its last write, so
  an in-flight file is always younger; pass at least that (the CLI's default is the larger of
  1 h and twice the checkpoint interval).
- Pending commits: at a checkpoint, Flink's Iceberg committer writes the checkpoint's files
  into a manifest of its own (`<job id>-<operator id>-<subtask>-<attempt>-<checkpoint>-<n>.avro`
  in metadata/) and commits it when the checkpoint completes. A job killed in between
  re-commits it when restored from that checkpoint, however old: such a manifest and every
  file it lists are kept, unless `main`'s ancestry already holds that job's commit of that
  checkpoint (then only the manifest is left, and it goes).
- Order: the folders are listed and the pending manifests read first, then the table's
  metadata is loaded afresh; any commit that referenced an old file had to finish before
  that, so its snapshot is seen.

Expiry of rolled-back snapshots: pyiceberg 0.8.1 has the `remove-snapshots` update as a
model (RemoveSnapshotsUpdate) but cannot apply it (committing one to a SQL catalog raises
"Unsupported table update"), and has no API to expire snapshots. This module registers the
missing handler with pyiceberg when it has none (a REST catalog applies the update itself):
it removes the snapshots, refuses any a branch or tag points at, and prunes the snapshot log
like Java does. The commit asserts every ref unchanged, so a concurrent commit (the job's)
makes it retry.

Only local (`file:`) tables can be listed; any other location is refused.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import HistoryTable, history_identifier
from connectors.iceberg.rollback import CHECKPOINT_ID, JOB_ID

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.update import RemoveSnapshotsUpdate, _TableMetadataUpdateContext

Folder = Literal["data", "metadata"]
FOLDERS: tuple[Folder, ...] = ("data", "metadata")
EXTENSIONS = (".parquet", ".avro", ".orc")
MAIN = "main"
MAX_ATTEMPTS = 10
# Properties that put a table's files (or Flink's pending manifests) outside data/ and metadata/.
RELOCATING_PROPERTIES = (
    "write.data.path",
    "write.metadata.path",
    "write.folder-storage.path",
    "write.object-storage.path",
    "flink.manifests.location",
)
# Flink's ManifestOutputFileFactory: job id, operator id, subtask, attempt, checkpoint id, count.
_PENDING = re.compile(r"^([0-9a-f]{32})-([0-9a-f]{32})-\d+-\d+-(\d+)-\d+\.avro$")
OPERATOR_ID = "flink.operator-id"  # in the summary of a Flink commit, with JOB_ID and CHECKPOINT_ID


@dataclass(frozen=True)
class OrphanFile:
    path: str  # local absolute path
    size: int  # bytes
    modified_ms: int
    folder: Folder


@dataclass(frozen=True)
class CleanReport:
    table: str
    dry_run: bool
    cutoff: str  # ISO instant: only files last modified before it were considered
    expired_snapshots: int  # rolled-back snapshots expired (or that would be)
    files: int  # files removed (or that would be)
    bytes: int
    data_files: int
    metadata_files: int
    pending_commits_kept: int  # Flink manifests a restore may still commit (kept with their files)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def local_path(uri: str) -> str | None:
    """`/x` for `file:/x`, `file:///x`, `file://localhost/x` and `/x`; None for other schemes."""
    if uri.startswith("/"):
        return os.path.normpath(uri)
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return os.path.normpath(parts.path)


def _key(uri: str) -> str:
    return local_path(uri) or uri


def _root(table: Table) -> str:
    name = ".".join(table.name())
    root = local_path(table.location())
    if root is None:
        raise IcebergError(
            f"table {name} is at {table.location()}: removing orphan files is supported for local "
            "file: warehouses only (listing other file systems is not implemented)"
        )
    relocated = sorted(p for p in RELOCATING_PROPERTIES if p in table.properties)
    if relocated:
        raise IcebergError(
            f"table {name} sets {', '.join(relocated)}: its files may live outside {root}/data and "
            f"{root}/metadata, which orphan removal does not support"
        )
    return root


Listing = dict[str, tuple[os.stat_result, Folder]]


def _modified_ms(info: os.stat_result) -> int:
    return info.st_mtime_ns // 1_000_000


def _listing(root: str) -> Listing:
    """Every regular file under root/data and root/metadata (links are not followed)."""
    files: Listing = {}
    for folder in FOLDERS:
        for directory, _, names in os.walk(os.path.join(root, folder)):
            for name in names:
                path = os.path.join(directory, name)
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    files[path] = (info, folder)
    return files


def _entries(table: Table, manifest_path: str) -> list[str]:
    """The files a manifest lists, deleted-status entries included."""
    from pyiceberg.manifest import ManifestContent, ManifestFile

    manifest = ManifestFile(
        manifest_path=manifest_path, manifest_length=0, partition_spec_id=0, content=ManifestContent.DATA,
        sequence_number=0, min_sequence_number=0, added_snapshot_id=0,
    )
    return [_key(e.data_file.file_path) for e in manifest.fetch_manifest_entry(table.io, discard_deleted=False)]


def _pending_manifests(table: Table, listing: Listing, cutoff_ms: int) -> dict[str, tuple[str, str, int, list[str]]]:
    """Flink's pending manifests in metadata/: path -> (job id, operator id, checkpoint, files).
    One gone meanwhile was committed (or removed): nothing to keep. One unreadable and recent
    is being written (it and its files are too recent to go); one unreadable and old is refused."""
    pending = {}
    for path, (info, folder) in listing.items():
        match = _PENDING.match(os.path.basename(path))
        if folder != "metadata" or match is None:
            continue
        try:
            files = _entries(table, path)
        except FileNotFoundError:
            continue
        except Exception as exc:
            if _modified_ms(info) >= cutoff_ms:
                continue
            raise IcebergError(
                f"table {'.'.join(table.name())}: cannot read Flink's pending manifest {path} ({exc}); "
                "nothing was removed, since the files it lists are unknown"
            ) from exc
        pending[path] = (match.group(1), match.group(2), int(match.group(3)), files)
    return pending


def _committed_checkpoints(table: Table) -> dict[tuple[str, str], int]:
    """(Flink job id, operator id) -> the newest checkpoint committed in `main`'s ancestry."""
    from pyiceberg.table.snapshots import ancestors_of

    committed: dict[tuple[str, str], int] = {}
    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        summary = snapshot.summary or {}
        job, operator, checkpoint = summary.get(JOB_ID), summary.get(OPERATOR_ID), summary.get(CHECKPOINT_ID)
        if job and operator and checkpoint is not None:
            committed[(job, operator)] = max(int(checkpoint), committed.get((job, operator), -1))
    return committed


def referenced_files(table: Table, without: Collection[int] = ()) -> set[str]:
    """The local paths of every manifest list, manifest and data/delete file of the table's
    snapshots (but those in `without`), deleted-status entries included."""
    referenced: set[str] = set()
    read: set[str] = set()
    for snapshot in table.metadata.snapshots:
        if snapshot.snapshot_id in without or not snapshot.manifest_list:
            continue
        referenced.add(_key(snapshot.manifest_list))
        try:
            for manifest in snapshot.manifests(table.io):
                path = _key(manifest.manifest_path)
                referenced.add(path)
                if path not in read:
                    read.add(path)
                    referenced.update(_entries(table, manifest.manifest_path))
        except OSError as exc:
            raise IcebergError(
                f"table {'.'.join(table.name())}: cannot read the manifests of snapshot {snapshot.snapshot_id} "
                f"({exc}); nothing can be removed while a snapshot's files are unknown"
            ) from exc
    return referenced


def _orphans(table: Table, cutoff_ms: int, without: Collection[int]) -> tuple[list[OrphanFile], int]:
    """(the orphan files, the pending Flink commits kept); see the module docstring for the order."""
    root = _root(table)
    listing = _listing(root)
    pending = _pending_manifests(table, listing, cutoff_ms)
    table.refresh()
    keep = referenced_files(table, without)
    committed = _committed_checkpoints(table)
    kept = 0
    for path, (job, operator, checkpoint, files) in pending.items():
        if committed.get((job, operator), -1) < checkpoint:
            keep.add(path)
            keep.update(files)
            kept += 1

    def old(path: str) -> bool:
        return _modified_ms(listing[path][0]) < cutoff_ms

    def orphan(path: str) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") and name.endswith(".crc"):  # Hadoop's checksum of `base`
            base = os.path.join(os.path.dirname(path), name[1 : -len(".crc")])
            return old(path) and base.endswith(EXTENSIONS) and (base not in listing or orphan(base))
        return name.endswith(EXTENSIONS) and not name.startswith((".", "_")) and path not in keep and old(path)

    found = [
        OrphanFile(path, info.st_size, _modified_ms(info), folder)
        for path, (info, folder) in sorted(listing.items())
        if orphan(path)
    ]
    return found, kept


def _cutoff(older_than_ms: int, now_ms: int | None) -> int:
    if older_than_ms < 0:
        raise IcebergError(f"older_than must not be negative, got {older_than_ms} ms")
    return (int(time.time() * 1000) if now_ms is None else now_ms) - older_than_ms


def find_orphans(
    table: Table, older_than_ms: int, *, now_ms: int | None = None, without: Collection[int] = ()
) -> list[OrphanFile]:
    """The files under the table's data/ and metadata/ that no snapshot references (snapshots
    in `without` not counted) and that were last modified more than older_than_ms before
    now_ms (default: the clock). Refreshes `table`."""
    return _orphans(table, _cutoff(older_than_ms, now_ms), without)[0]


# ---- rolled-back snapshots


def rolled_back_snapshots(table: Table, cutoff_ms: int) -> list[int]:
    """Snapshots taken before cutoff_ms that no tag points at and that are in no branch's
    ancestry (what a rollback of `main` leaves); none when the table has no `main`."""
    from pyiceberg.table.refs import SnapshotRefType
    from pyiceberg.table.snapshots import ancestors_of

    metadata = table.metadata
    if MAIN not in metadata.refs:
        return []
    kept: set[int] = set()
    for ref in metadata.refs.values():
        if ref.snapshot_ref_type == SnapshotRefType.TAG:
            kept.add(ref.snapshot_id)
        else:
            kept.update(s.snapshot_id for s in ancestors_of(table.snapshot_by_id(ref.snapshot_id), metadata))
    return [s.snapshot_id for s in metadata.snapshots if s.snapshot_id not in kept and s.timestamp_ms < cutoff_ms]


def _remove_snapshots(
    update: RemoveSnapshotsUpdate, base: TableMetadata, context: _TableMetadataUpdateContext
) -> TableMetadata:
    """pyiceberg's missing handler of the remove-snapshots update (see the module docstring)."""
    ids = set(update.snapshot_ids)
    pinned = sorted(name for name, ref in base.refs.items() if ref.snapshot_id in ids)
    if pinned:
        raise ValueError(f"cannot remove snapshots that {', '.join(pinned)} point at")
    snapshots = [s for s in base.snapshots if s.snapshot_id not in ids]
    if len(snapshots) == len(base.snapshots):
        return base
    # Like Java: an entry of a missing snapshot drops the log up to it, since otherwise the log
    # would show the snapshot before it current for the missing one's time too.
    remaining = {s.snapshot_id for s in snapshots}
    log = base.snapshot_log
    missing = [i for i, entry in enumerate(log) if entry.snapshot_id not in remaining]
    context.add_update(update)
    return base.model_copy(update={"snapshots": snapshots, "snapshot_log": log[missing[-1] + 1 :] if missing else log})


def _support_remove_snapshots() -> None:
    from pyiceberg.table.update import RemoveSnapshotsUpdate, _apply_table_update

    if _apply_table_update.dispatch(RemoveSnapshotsUpdate) is _apply_table_update.dispatch(object):
        _apply_table_update.register(RemoveSnapshotsUpdate)(_remove_snapshots)


def expire_rolled_back(table: Table, cutoff_ms: int, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Remove `rolled_back_snapshots` from the table's metadata in one commit that asserts no
    ref moved meanwhile (retried on a concurrent commit); returns how many were removed."""
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.table.update import AssertRefSnapshotId, RemoveSnapshotsUpdate

    _support_remove_snapshots()
    name = ".".join(table.name())
    for attempt in range(1, max_attempts + 1):
        table.refresh()
        ids = rolled_back_snapshots(table, cutoff_ms)
        if not ids:
            return 0
        unchanged = tuple(AssertRefSnapshotId(ref=n, snapshot_id=r.snapshot_id) for n, r in table.metadata.refs.items())
        try:
            table.catalog.commit_table(table, unchanged, (RemoveSnapshotsUpdate(snapshot_ids=ids),))
        except CommitFailedException:
            time.sleep(min(2.0, 0.05 * 2**attempt))
            continue
        except ValueError as exc:
            raise IcebergError(f"table {name}: cannot expire rolled-back snapshots: {exc}") from exc
        table.refresh()
        return len(ids)
    raise IcebergError(f"table {name}: {max_attempts} concurrent commits in a row; no snapshot expired, try again later")


# ---- removal


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


def remove_orphans(
    table: Table,
    older_than_ms: int,
    dry_run: bool = False,
    *,
    expire: bool = False,
    now_ms: int | None = None,
) -> CleanReport:
    """Delete `find_orphans(table, older_than_ms)` (dry_run: only count them). With expire,
    the rolled-back snapshots taken before the cutoff are expired first (dry_run: the count
    assumes they were)."""
    cutoff = _cutoff(older_than_ms, now_ms)
    name = ".".join(table.name())
    _root(table)  # refuse an unsupported table before changing anything
    without: list[int] = []
    expired = 0
    if expire and dry_run:
        table.refresh()
        without = rolled_back_snapshots(table, cutoff)
        expired = len(without)
    elif expire:
        expired = expire_rolled_back(table, cutoff)
    found, kept = _orphans(table, cutoff, without)
    if not dry_run:
        for orphan in found:
            try:
                os.remove(orphan.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise IcebergError(f"table {name}: cannot remove orphan file {orphan.path}: {exc}") from exc
    return CleanReport(
        table=name,
        dry_run=dry_run,
        cutoff=_iso(cutoff),
        expired_snapshots=expired,
        files=len(found),
        bytes=sum(f.size for f in found),
        data_files=sum(1 for f in found if f.folder == "data"),
        metadata_files=sum(1 for f in found if f.folder == "metadata"),
        pending_commits_kept=kept,
    )


def clean_history(
    cfg: CatalogConfig,
    view: str,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    expire: bool = False,
    now_ms: int | None = None,
    catalog: Catalog | None = None,
) -> CleanReport:
    """`remove_orphans` on a view's history table."""
    catalog = catalog or load_pyiceberg_catalog(cfg)
    identifier = history_identifier(cfg.namespace, view)
    if not catalog.table_exists(identifier):
        raise IcebergError(f"view {view!r} has no history table {identifier} in the {cfg.describe()}; "
                           "run the view's job first, or check the catalog")
    try:
        table = catalog.load_table(identifier)
    except Exception as exc:
        raise IcebergError(f"cannot load {identifier} from the {cfg.describe()}: {exc}") from exc
    HistoryTable.from_iceberg(table)  # refuses a table that is not a history table
    return remove_orphans(table, older_than // timedelta(milliseconds=1), dry_run, expire=expire, now_ms=now_ms)
