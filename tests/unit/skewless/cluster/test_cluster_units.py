"""The cluster package's parts that need no cluster: the deployment record, the members'
command lines, the REST client's errors, and upgrade's sequence including its rollback."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from skewless.cluster import deployments, jobs
from skewless.cluster.members import launch_argv, members
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.errors import SkewlessError
from skewless.settings import load_settings
from jobs.pipeline import _without


def _record(lineage: str = "t--v-v1", cluster: str = "http://127.0.0.1:1") -> deployments.Deployment:
    return deployments.Deployment(lineage, "t", ("v-v1",), ("--spec", "a.json"), cluster, 2, "j1", 5)


def test_a_deployment_round_trips_and_is_listed_and_removed(tmp_path: Path) -> None:
    record = _record()
    deployments.save(tmp_path, record)
    assert deployments.load(tmp_path, record.lineage) == record
    (tmp_path / "jobs" / "broken").mkdir()
    (tmp_path / "jobs" / "broken" / deployments.DEPLOYMENT_FILE).write_text("{not json")
    assert deployments.all_deployments(tmp_path) == [record]  # a half-written record is skipped
    deployments.remove(tmp_path, record.lineage)
    assert deployments.load(tmp_path, record.lineage) is None


def test_members_are_one_jobmanager_then_taskmanagers_with_dynamic_properties_as_pairs(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, cluster={"taskmanagers": 3, "slots": 4, "rest_port": 18081})
    found = members(settings)
    assert [m.name for m in found] == ["jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3"]
    argv = launch_argv(found[2], settings, Path("/flink"))
    assert argv[:3] == ["bash", "/flink/bin/taskmanager.sh", "start-foreground"]
    pairs = argv[3:]
    assert pairs[::2] == ["-D"] * (len(pairs) // 2)  # the scripts take any other shape for a host name
    assert "rest.port=18081" in pairs and "taskmanager.numberOfTaskSlots=4" in pairs
    assert found[2].process.marker in pairs  # the member's identity is in its command line from the start
    assert found[1].process.marker not in found[2].process.marker  # taskmanager-1 is not a prefix match


def test_a_resubmission_drops_the_restore_flags() -> None:
    argv = ["--spec", "a", "--savepoint", "/sp/1", "--from-scratch", "--ignore-unclaimed-state", "--cluster", "u",
            "--savepoint=/sp/2"]
    assert _without(argv, {"--savepoint": 1, "--from-scratch": 0, "--ignore-unclaimed-state": 0}) == [
        "--spec", "a", "--cluster", "u"]


class _Flink(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the handler's API
        if self.path == "/v1/jobs/overview":
            body, code = {"jobs": [{"jid": "j1", "name": "n", "state": "RUNNING", "start-time": 1, "duration": 2}]}, 200
        else:
            body, code = {"errors": ["org.apache.flink.runtime.rest.NotFoundException: Job j9 not found\n\tat x"]}, 404
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_the_rest_client_reads_jobs_and_reports_refusals_and_absence_in_one_line() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rest = FlinkRest(f"http://127.0.0.1:{server.server_port}")
        assert rest.job("j1").alive and rest.job("j9") is None
        with pytest.raises(ClusterError, match=r"HTTP 404: org.apache.flink.runtime.rest.NotFoundException: Job j9 not found$"):
            rest.job_details("j9")
    finally:
        server.shutdown()
    with pytest.raises(ClusterError, match=r"cannot reach Flink at http://127.0.0.1:1 .*skewless cluster status"):
        FlinkRest("http://127.0.0.1:1", timeout_s=1).jobs()


class _Catalogue:
    """Two versions of view v on topic t."""

    def __init__(self) -> None:
        import dataclasses

        from features.transactions import USER_TRANSACTIONS

        base = dataclasses.replace(USER_TRANSACTIONS, source_topic="t")
        self.specs = {(n, ver): dataclasses.replace(base, name=n, version=ver) for n, ver in (("v", 1), ("v", 2), ("w", 1))}

    def select(self, refs):  # type: ignore[no-untyped-def]
        out = {}
        for ref in refs:
            name, _, ver = ref.partition("@")
            if (name, int(ver)) not in self.specs:
                raise SkewlessError(f"no view {ref}")
            out[name] = self.specs[(name, int(ver))]
        return out


def test_upgrade_stops_with_a_savepoint_deploys_the_new_set_and_rolls_back_when_it_does_not_run(tmp_path, monkeypatch) -> None:
    settings = load_settings(home=tmp_path)
    deployments.save(tmp_path, deployments.Deployment("t--v-v1+w-v1", "t", ("v-v1", "w-v1"), (), "http://c", 2, "old", 1))
    calls: list[tuple] = []

    def stop(_settings, lineage, savepoint, timeout_s):  # type: ignore[no-untyped-def]
        calls.append(("stop", lineage.name, savepoint))
        return "/sp/1"

    def deploy(_settings, specs, _schemas, *, parallelism, savepoint, ignore_unclaimed_state=False, say):  # type: ignore[no-untyped-def]
        uids = tuple(sorted(s.uid for s in specs))
        calls.append(("deploy", uids, savepoint, ignore_unclaimed_state, parallelism))
        return jobs.DeployedJob("+".join(uids), "new" if "v-v2" in uids else "again", "http://c")

    def verify(_settings, deployed, _specs, _timeout):  # type: ignore[no-untyped-def]
        if fail:
            raise SkewlessError("no checkpoint within 5 s")

    monkeypatch.setattr(jobs, "stop", stop)
    monkeypatch.setattr(jobs, "deploy", deploy)
    monkeypatch.setattr(jobs, "_verify", verify)
    schemas = lambda specs: []  # noqa: E731

    fail = False
    assert jobs.upgrade(settings, _Catalogue(), ["v@2"], schemas).job_id == "new"
    assert calls == [("stop", "t--v-v1+w-v1", True), ("deploy", ("v-v2", "w-v1"), "/sp/1", True, 2)]

    calls.clear()
    fail = True
    with pytest.raises(SkewlessError, match=r"upgrade refused at run time: no checkpoint within 5 s; t--v-v1\+w-v1 runs again"):
        jobs.upgrade(settings, _Catalogue(), ["v@2"], schemas)
    assert calls == [
        ("stop", "t--v-v1+w-v1", True),
        ("deploy", ("v-v2", "w-v1"), "/sp/1", True, 2),
        ("stop", "t--v-v2+w-v1", False),  # the new job goes
        ("deploy", ("v-v1", "w-v1"), "/sp/1", False, 2),  # the old set comes back from the same savepoint
    ]

    with pytest.raises(SkewlessError, match="runs v@1 already: nothing to upgrade"):
        jobs.upgrade(settings, _Catalogue(), ["v@1"], schemas)
    with pytest.raises(SkewlessError, match="no view v@7"):
        jobs.upgrade(settings, _Catalogue(), ["v@7"], schemas)
