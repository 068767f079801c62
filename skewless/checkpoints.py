"""Where a job's checkpoints and savepoints live, which one a run resumes from, and the journal
of which job restored from what.

A *lineage* is one topic plus one set of view versions: the jobs that run it form a chain,
each resuming from the newest checkpoint or savepoint of the one before. Everything of a
lineage sits in one stable folder, whatever Flink's random job ids:

    <home>/jobs/<lineage>/checkpoints/<job id>/chk-<n>/_metadata   (retained by Flink)
    <home>/jobs/<lineage>/savepoints/<name>/_metadata               (+ skewless.json: job, checkpoint)
    <home>/jobs/journal.jsonl                                       (one line per job started)
    <home>/jobs/<lineage>/running.json                              (the job running now, if any)

The journal lets a restore from an older point find which history commits lie after it
(connectors.iceberg.rollback): the commits of the restored job after that checkpoint, and of
every job that is not an ancestor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from skewless.errors import SkewlessError

_CHECKPOINT = re.compile(r"^chk-(\d+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
SAVEPOINT_INFO = "skewless.json"
_SAVEPOINT = re.compile(r"^savepoint-([0-9a-f]{6})-")
# Flink's _metadata starts with this magic number, a format version, then the checkpoint id.
_METADATA_MAGIC = 0x4960672D


def lineage_name(topic: str, view_uids: Sequence[str]) -> str:
    """`<topic>--<uid>+<uid>...`, sorted, filesystem- and Kafka-safe."""
    return _UNSAFE.sub("_", f"{topic}--{'+'.join(sorted(view_uids))}")


@dataclass(frozen=True)
class RestorePoint:
    path: Path
    kind: str  # "checkpoint" or "savepoint"
    job_id: str | None
    checkpoint_id: int | None
    completed_at_ms: int

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "path": str(self.path)}


@dataclass(frozen=True)
class JournalEntry:
    job_id: str
    lineage: str
    started_at_ms: int
    restored_job_id: str | None
    restored_checkpoint_id: int | None
    restored_path: str | None


class Lineage:
    def __init__(self, home: Path, topic: str, view_uids: Sequence[str]) -> None:
        self.name = lineage_name(topic, view_uids)
        self.topic, self.view_uids = topic, tuple(view_uids)
        self.root = home / "jobs"
        self.folder = self.root / self.name

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder / "checkpoints"

    @property
    def savepoint_dir(self) -> Path:
        return self.folder / "savepoints"

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def running_path(self) -> Path:
        return self.folder / "running.json"

    @property
    def last_stop_path(self) -> Path:
        return self.folder / "last-stop.json"

    def restore_points(self) -> list[RestorePoint]:
        """Every completed checkpoint and savepoint of the lineage, newest first."""
        points = [
            p
            for p in (*(_checkpoint(m) for m in self.checkpoint_dir.glob("*/chk-*/_metadata")),
                      *(savepoint_at(m.parent) for m in self.savepoint_dir.glob("*/_metadata")))
            if p is not None
        ]
        return sorted(points, key=lambda p: (p.completed_at_ms, p.checkpoint_id or 0), reverse=True)

    def newest(self) -> RestorePoint | None:
        points = self.restore_points()
        return points[0] if points else None

    # -- the journal -----------------------------------------------------------------------

    def record_start(self, job_id: str, started_at_ms: int, restored: RestorePoint | None) -> None:
        entry = JournalEntry(
            job_id=job_id,
            lineage=self.name,
            started_at_ms=started_at_ms,
            restored_job_id=restored.job_id if restored else None,
            restored_checkpoint_id=restored.checkpoint_id if restored else None,
            restored_path=str(restored.path) if restored else None,
        )
        self.root.mkdir(parents=True, exist_ok=True)
        with self.journal_path.open("a") as out:
            out.write(json.dumps(asdict(entry)) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def journal(self) -> dict[str, JournalEntry]:
        if not self.journal_path.is_file():
            return {}
        entries = {}
        for line in self.journal_path.read_text().splitlines():
            if line.strip():
                entry = JournalEntry(**json.loads(line))
                entries[entry.job_id] = entry
        return entries

    def identify(self, point: RestorePoint) -> RestorePoint:
        """`point` with its job id: a savepoint taken outside `skewless stop` says only the first
        six hex digits of it in its folder name; the journal knows the whole id."""
        match = _SAVEPOINT.match(point.path.name)
        if point.job_id is not None or not match:
            return point
        jobs = [job for job in self.journal() if job.startswith(match.group(1))]
        return dataclasses.replace(point, job_id=jobs[0]) if len(jobs) == 1 else point

    def ancestry(self, point: RestorePoint) -> tuple[dict[str, int], int | None]:
        """For a restore from `point`: per ancestor job, the newest checkpoint id whose commits
        are in the restored state, and the start time of the chain's first job (None when the
        journal does not know it)."""
        journal = self.journal()
        allowed: dict[str, int] = {}
        job, checkpoint = point.job_id, point.checkpoint_id
        root_started: int | None = None
        while job is not None and checkpoint is not None and job not in allowed:
            allowed[job] = checkpoint
            entry = journal.get(job)
            if entry is None:
                break
            root_started = entry.started_at_ms
            job, checkpoint = entry.restored_job_id, entry.restored_checkpoint_id
        return allowed, root_started

    # -- the running job ---------------------------------------------------------------------

    def record_savepoint(self, job_id: str, path: str) -> Path:
        """skewless.json beside a savepoint's _metadata: which job took it (its checkpoint id is
        in the metadata), so a later restore knows which history commits the savepoint
        includes; and last-stop.json, which `skewless stop --savepoint` reports. Returns the folder."""
        folder = Path(path.removeprefix("file:").removeprefix("//"))
        (folder / SAVEPOINT_INFO).write_text(json.dumps({"job_id": job_id}))
        self.last_stop_path.write_text(json.dumps({"savepoint": str(folder)}))
        return folder

    def mark_running(self, job_id: str, pid: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.running_path.write_text(json.dumps({"job_id": job_id, "pid": pid}))

    def clear_running(self) -> None:
        self.running_path.unlink(missing_ok=True)

    def running(self) -> dict[str, object] | None:
        """The job `skewless run` runs now for this lineage, if its process is alive."""
        try:
            info = json.loads(self.running_path.read_text())
            pid = int(info["pid"])
            os.kill(pid, 0)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return info if _runs_the_job(pid) else None


def running_jobs(home: Path) -> list[tuple[str, dict[str, object]]]:
    """(lineage name, running.json) of every job `skewless run` or a local deploy runs now."""
    found = []
    for path in sorted((home / "jobs").glob("*/running.json")):
        try:
            info = json.loads(path.read_text())
            pid = int(info["pid"])
            os.kill(pid, 0)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _runs_the_job(pid):
            found.append((path.parent.name, info))
    return found


def _runs_the_job(pid: int) -> bool:
    """Whether `pid` is still the job's process: a killed one lingers briefly as a zombie (no
    command line), and a pid can be reused by another program."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.parent.is_dir():  # no /proc: trust the signal check
        return True
    try:
        return b"jobs.pipeline" in cmdline.read_bytes()
    except OSError:
        return False


def _checkpoint(metadata: Path) -> RestorePoint | None:
    match = _CHECKPOINT.match(metadata.parent.name)
    if not match:
        return None
    return RestorePoint(
        path=metadata.parent,
        kind="checkpoint",
        job_id=metadata.parent.parent.name,
        checkpoint_id=int(match.group(1)),
        completed_at_ms=int(metadata.stat().st_mtime * 1000),
    )


def savepoint_at(folder: Path) -> RestorePoint | None:
    """A savepoint folder (with `_metadata`): its checkpoint id from the metadata, the job that
    took it from skewless.json (written by `skewless stop --savepoint`), else None (see
    `Lineage.identify`)."""
    metadata = folder / "_metadata"
    if not metadata.is_file():
        return None
    info: dict[str, object] = {}
    if (folder / SAVEPOINT_INFO).is_file():
        info = json.loads((folder / SAVEPOINT_INFO).read_text())
    return RestorePoint(
        path=folder,
        kind="savepoint",
        job_id=str(info["job_id"]) if info.get("job_id") else None,
        checkpoint_id=metadata_checkpoint_id(metadata),
        completed_at_ms=int(metadata.stat().st_mtime * 1000),
    )


def metadata_checkpoint_id(metadata: Path) -> int | None:
    """The checkpoint id Flink wrote into a checkpoint's or savepoint's _metadata, if readable."""
    with metadata.open("rb") as f:
        head = f.read(16)
    if len(head) < 16 or int.from_bytes(head[:4], "big") != _METADATA_MAGIC:
        return None
    return int.from_bytes(head[8:16], "big", signed=True)


def restore_point_at(path: str) -> RestorePoint:
    """The checkpoint or savepoint at a path given by the user; an error says what is wrong."""
    folder = Path(path.removeprefix("file:").removeprefix("//")).expanduser()
    if folder.name == "_metadata":
        folder = folder.parent
    if not (folder / "_metadata").is_file():
        raise SkewlessError(
            f"no checkpoint or savepoint at {path}: the folder must hold Flink's _metadata file "
            "(list them with `skewless checkpoints`)"
        )
    point = _checkpoint(folder / "_metadata") if _CHECKPOINT.match(folder.name) else savepoint_at(folder)
    assert point is not None  # _metadata exists
    return point
