"""What is deployed on the session cluster: one record per lineage, the desired state.

`skewless deploy` (through jobs/pipeline.py --cluster --detached) writes
`<home>/jobs/<lineage>/deployment.json` once the job is submitted; `skewless stop` removes it.
The record holds the pipeline arguments that submit the job again: the cluster's
supervisor re-runs them for every deployment the JobManager does not know after it
(re)started (no HA store keeps jobs across a JobManager's death), and each resumes from
its lineage's newest checkpoint, as any unbounded run does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

DEPLOYMENT_FILE = "deployment.json"
LOCAL = "local"  # `cluster` of a job deployed on a local mini-cluster (no cluster was up)


@dataclass(frozen=True)
class Deployment:
    lineage: str
    topic: str
    views: tuple[str, ...]  # view uids, sorted
    argv: tuple[str, ...]  # jobs.pipeline arguments that submit the job again
    cluster: str  # the REST URL it was submitted to, or LOCAL
    parallelism: int
    job_id: str
    submitted_at_ms: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        data = json.loads(text)
        return cls(**{**data, "views": tuple(data["views"]), "argv": tuple(data["argv"])})


def deployment_path(home: Path, lineage: str) -> Path:
    return home / "jobs" / lineage / DEPLOYMENT_FILE


def save(home: Path, deployment: Deployment) -> None:
    path = deployment_path(home, deployment.lineage)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(deployment.to_json())
    temporary.replace(path)  # readers (the supervisor) never see half a record


def load(home: Path, lineage: str) -> Deployment | None:
    path = deployment_path(home, lineage)
    try:
        return Deployment.from_json(path.read_text())
    except FileNotFoundError:
        return None


def all_deployments(home: Path) -> list[Deployment]:
    found = []
    for path in sorted((home / "jobs").glob(f"*/{DEPLOYMENT_FILE}")):
        try:
            found.append(Deployment.from_json(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # removed or being replaced meanwhile
    return found


def remove(home: Path, lineage: str) -> None:
    deployment_path(home, lineage).unlink(missing_ok=True)
