"""Which Flink jobs ran to their end: a bounded run that returned has committed all it wrote.

`skewless run --bounded` (skewless.runner) records each such job in
`<home>/jobs/finished.jsonl`; `skewless verify` reads it: a view whose newest history
snapshot was committed by a finished job holds every update that job wrote, so values
served before it finished can be judged without waiting (or `--history-complete`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from skewless.checkpoints import Lineage

JOURNAL_READER = ("", ())  # any lineage reads the one journal of every job under <home>/jobs


def _path(home: Path) -> Path:
    return Path(home) / "jobs" / "finished.jsonl"


def record_finished(home: Path, topic: str, view_uids: Sequence[str], launched_at_ms: int, finished_at_ms: int) -> None:
    """Record the lineage's jobs started since `launched_at_ms` (the journal knows their ids) as finished."""
    lineage = Lineage(Path(home), topic, view_uids)
    jobs = [e.job_id for e in lineage.journal().values() if e.lineage == lineage.name and e.started_at_ms >= launched_at_ms]
    if not jobs:
        return
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        for job in jobs:
            out.write(json.dumps({"job_id": job, "lineage": lineage.name, "finished_at_ms": finished_at_ms}) + "\n")
        out.flush()
        os.fsync(out.fileno())


def finished_jobs(home: Path) -> dict[str, int]:
    """Job id -> when its bounded run returned (epoch ms)."""
    path = _path(home)
    if not path.is_file():
        return {}
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            out[entry["job_id"]] = int(entry["finished_at_ms"])
    return out


def wrote_last_and_finished(home: Path, view_uid: str, job_id: str | None) -> bool:
    """Whether job `job_id` (which committed a view's newest history snapshot) ran to its end and
    no job of that view has started since: then the history holds all Cassandra can serve."""
    finished_at = finished_jobs(home).get(job_id or "")
    if finished_at is None:
        return False
    journal = Lineage(Path(home), *JOURNAL_READER).journal()
    mine = journal.get(job_id or "")
    since = mine.started_at_ms if mine else finished_at
    for entry in journal.values():
        uids = entry.lineage.partition("--")[2].split("+")
        if entry.job_id != job_id and view_uid in uids and entry.started_at_ms >= since:
            return False
    return True
