"""The few calls of Flink's REST API that deploying and watching jobs need (stdlib HTTP).

Flink documents the API at /v1 (docs "REST API"); every call here is of that stable surface:
the cluster overview, task managers, jobs, a job's checkpoints, stop-with-savepoint and
cancel. Errors become `ClusterError` with what was asked and what Flink said.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from skewless.errors import SkewlessError

# Job states in which the job is wanted and still holds its slots (or will again).
ALIVE_STATES = frozenset({"INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "FAILING", "RECONCILING"})


class ClusterError(SkewlessError):
    """The cluster could not be reached, or refused a request."""


@dataclass(frozen=True)
class JobOverview:
    job_id: str
    name: str
    state: str
    start_ms: int
    duration_ms: int

    @property
    def alive(self) -> bool:
        return self.state in ALIVE_STATES


class FlinkRest:
    """A Flink cluster's REST endpoint, e.g. http://127.0.0.1:8081."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = "; ".join(str(e).splitlines()[0] for e in json.loads(detail).get("errors", [])) or detail
            except (ValueError, AttributeError):
                pass
            raise ClusterError(f"Flink at {self.url} refused {method} {path}: HTTP {exc.code}: {detail[:300]}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClusterError(f"cannot reach Flink at {self.url} ({reason}); is the cluster up (`skewless cluster status`)?") from None
        return json.loads(text) if text else None

    def answers(self) -> bool:
        try:
            self._call("GET", "/v1/overview")
        except ClusterError:
            return False
        return True

    def overview(self) -> dict[str, Any]:
        return self._call("GET", "/v1/overview")

    def taskmanagers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/taskmanagers")["taskmanagers"]

    def jobs(self) -> list[JobOverview]:
        return [
            JobOverview(j["jid"], j["name"], j["state"], int(j.get("start-time", 0)), int(j.get("duration", 0)))
            for j in self._call("GET", "/v1/jobs/overview")["jobs"]
        ]

    def job(self, job_id: str) -> JobOverview | None:
        return next((j for j in self.jobs() if j.job_id == job_id), None)

    def job_details(self, job_id: str) -> dict[str, Any]:
        """The job's state and its vertices (tasks) with their status."""
        return self._call("GET", f"/v1/jobs/{job_id}")

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """Counts, the latest completed checkpoint (`latest.completed`: id, external_path, ...)."""
        return self._call("GET", f"/v1/jobs/{job_id}/checkpoints")

    def completed_checkpoints(self, job_id: str) -> int:
        return int(self.checkpoints(job_id)["counts"]["completed"])

    def exceptions(self, job_id: str) -> list[dict[str, Any]]:
        """The job's failures, newest first (each with `timestamp`, `exceptionName`, `stacktrace`)."""
        return self._call("GET", f"/v1/jobs/{job_id}/exceptions").get("exceptionHistory", {}).get("entries", [])

    def cancel(self, job_id: str) -> None:
        self._call("PATCH", f"/v1/jobs/{job_id}?mode=cancel")

    def stop_with_savepoint(self, job_id: str, folder: str, timeout_s: float) -> str:
        """Stop the job with a canonical savepoint in `folder` (no drain: timers stay pending in
        it, as `skewless stop --savepoint` of a local job); returns the savepoint's location."""
        body = {"targetDirectory": folder, "drain": False, "formatType": "CANONICAL"}
        trigger = self._call("POST", f"/v1/jobs/{job_id}/stop", body)["request-id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self._call("GET", f"/v1/jobs/{job_id}/savepoints/{trigger}")
            if status["status"]["id"] == "COMPLETED":
                operation = status.get("operation") or {}
                if "location" in operation:
                    return str(operation["location"])
                cause = operation.get("failure-cause", {}).get("stack-trace", "no reason given")
                raise ClusterError(f"stop-with-savepoint of job {job_id} failed: {str(cause).splitlines()[0]}")
            time.sleep(0.5)
        raise ClusterError(f"stop-with-savepoint of job {job_id} did not complete within {timeout_s:.0f} s")
