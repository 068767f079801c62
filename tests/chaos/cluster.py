"""The chaos run on a session cluster: `skewless cluster up`, `skewless deploy --parallelism 2`,
then kill -9 of a TaskManager (Flink restarts the tasks from the latest checkpoint by
itself, the supervisor restarts the TaskManager) and of the JobManager (the supervisor
restarts it and submits the deployment again, from the lineage's newest checkpoint). No
command is run after a kill: recovery is the cluster's own. Judged as the local chaos run is,
against a fault-free bounded run and the oracle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from skewless.cluster import deployments
from skewless.cluster.control import member_pid
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.checkpoints import lineage_name
from skewless.devstack.process import wait_for_exit
from tests.chaos.config import ChaosConfig
from skewless.settings import Settings, load_settings
from tests.chaos.harness import ChaosRun, Pending
from tests.chaos.job import JobProcess, skewless_command

MEMBER_KILLS = ("taskmanager", "jobmanager")
PARALLELISM = 2
# The run's own cluster, beside any other on the machine.
CLUSTER_PORTS = {"SKEWLESS_CLUSTER_REST_PORT": "18081", "SKEWLESS_CLUSTER_RPC_PORT": "16123"}


class DeployedJob(JobProcess):
    """The job as `skewless deploy` leaves it: the command ends once the job runs on the
    cluster; from then on the job is alive as long as its deployment's job is not failed."""

    def __init__(self, run: ClusterChaosRun) -> None:
        super().__init__(
            skewless_command("deploy", "--topic", run.topic, "--parallelism", str(PARALLELISM)),
            run.chaos_env(), run.logs, "deploy",
        )
        self.run = run
        self._asked, self._answer = 0.0, None

    def exit_code(self) -> int | None:
        code = super().exit_code()
        if code != 0:
            return code
        if time.monotonic() - self._asked > 1.0:  # the harness asks many times a second
            self._asked, self._answer = time.monotonic(), self._job_exit()
        return self._answer

    def _job_exit(self) -> int | None:
        deployed = deployments.load(self.run.chaos.home, self.run.lineage)
        if deployed is None:
            return 1
        try:
            job = FlinkRest(deployed.cluster, timeout_s=2.0).job(deployed.job_id)
        except ClusterError:
            return None  # the JobManager is being restarted
        return 1 if job is not None and job.state in ("FAILED", "CANCELED", "FINISHED") else None

    @property
    def running(self) -> bool:
        return self.exit_code() is None

    def kill(self) -> list[int]:
        return super().kill() if super().exit_code() is None else []


class ClusterChaosRun(ChaosRun):
    job_kills = MEMBER_KILLS

    def __init__(self, cfg: ChaosConfig, workdir: Path) -> None:
        super().__init__(cfg, workdir)
        self.lineage = ""
        self.cluster_log = self.logs / "cluster.log"
        self.kill_marks: dict[int, tuple[int, str | None]] = {}  # id(pending) -> (kill wall ms, job id then)

    def chaos_env(self) -> dict[str, str]:
        return {**self.chaos.env(self.registry_url, self.cfg.checkpoint_ms), **CLUSTER_PORTS}

    def chaos_settings(self) -> Settings:
        return load_settings(home=self.chaos.home, cluster={"rest_port": int(CLUSTER_PORTS["SKEWLESS_CLUSTER_REST_PORT"]),
                                                            "rpc_port": int(CLUSTER_PORTS["SKEWLESS_CLUSTER_RPC_PORT"])})

    def make_job(self) -> JobProcess:
        self.lineage = lineage_name(self.topic, [self.spec_uid])
        self._cluster("up")
        return DeployedJob(self)

    def register_view(self):  # type: ignore[no-untyped-def]
        spec = super().register_view()
        self.spec_uid = spec.uid
        return spec

    def fault_kinds(self) -> list[str]:
        return [MEMBER_KILLS[i % 2] for i in range(self.cfg.kills)]

    def kill_job(self, mode: str) -> None:
        self.wait_recovered()
        checkpoint = self.wait_new_checkpoint(max(60.0, 20 * self.cfg.checkpoint_ms / 1000))
        member = "jobmanager" if mode == "jobmanager" else "taskmanager-1"
        pid = member_pid(self.chaos_settings(), member)
        if pid is None:
            raise RuntimeError(f"{member} of the run's cluster is not running: nothing to kill")
        deployed = deployments.load(self.chaos.home, self.lineage)
        os.kill(pid, signal.SIGKILL)
        killed, killed_ms = time.monotonic(), int(time.time() * 1000)
        wait_for_exit(pid, 30.0)
        self.watch.poll()
        after = checkpoint.parent.name if checkpoint else "no new checkpoint"
        self.faults.append({"kind": mode, "at_s": round(killed - self.started, 1), "after": after, "pid": pid})
        pending = Pending(mode, killed)
        self.kill_marks[id(pending)] = (killed_ms, deployed.job_id if deployed else None)
        self.pending.append(pending)
        self.say(f"kill -9 {member} (pid {pid}, after {after}); nothing run: the cluster recovers by itself")
        self.wait_recovered()

    def progressed(self, pending: Pending) -> bool:
        """A member kill is recovered from at the first checkpoint after the job restarted: a
        checkpoint can still complete between the kill and the cluster noticing it."""
        if id(pending) not in self.kill_marks:
            return super().progressed(pending)
        killed_ms, job_then = self.kill_marks[id(pending)]
        deployed = deployments.load(self.chaos.home, self.lineage)
        if deployed is None:
            return False
        if deployed.job_id != job_then:  # submitted again after the JobManager's restart
            return True
        try:
            failures = FlinkRest(deployed.cluster, timeout_s=2.0).exceptions(deployed.job_id)
        except ClusterError:
            return False
        return any(int(e.get("timestamp", 0)) >= killed_ms for e in failures)

    def stop_job(self) -> None:
        stop = subprocess.run(skewless_command("stop", "--topic", self.topic, "--timeout", "60"), env=self.chaos_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
        (self.logs / "stop.log").write_text(stop.stdout)
        self.stopped_cleanly = stop.returncode == 0

    def cleanup(self) -> None:
        try:
            super().cleanup()
        finally:
            self._cluster("down")

    def _cluster(self, verb: str) -> None:
        with self.cluster_log.open("a") as log:
            done = subprocess.run(skewless_command("cluster", verb), env=self.chaos_env(), stdout=log,
                                  stderr=subprocess.STDOUT, timeout=600)
        if done.returncode != 0 and verb == "up":
            raise RuntimeError(f"`skewless cluster up` failed (exit {done.returncode}); see {self.cluster_log}")

    def report(self, *args: Any) -> dict[str, Any]:
        out = super().report(*args)
        for kind in MEMBER_KILLS:
            times = [r.recovery_s for r in self.recoveries if r.kind == kind]
            out[f"{kind}_recovery_s"] = max(times) if times else None
        out["parallelism"] = PARALLELISM
        return out
