"""`python -m skewless.cluster.supervisor HOME`: keeps the local session cluster up.

Started detached by `skewless cluster up`. Every second it checks each member (JobManager,
TaskManagers) by its pid file and starts the ones that are not running, with a growing
back-off for one that keeps dying. A TaskManager's death is Flink's to handle: the
JobManager restarts the job's tasks from the latest checkpoint on the slots left (and on
the restarted TaskManager once it registers). A JobManager's death loses the jobs it ran,
since no HA store keeps them: once the restarted JobManager answers with its TaskManagers
registered, every deployment it does not know (skewless.cluster.deployments) is submitted
again, resuming from its lineage's newest checkpoint. The same happens when the cluster
comes up again after `down`: deployed jobs come back by themselves.

On SIGTERM it stops the TaskManagers, then the JobManager, and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from skewless.cluster import deployments
from skewless.cluster.members import Member, launch_argv, launch_environ, members, rest_url
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.devstack import flink_home
from skewless.settings import REPO_ROOT, Settings, load_settings

log = logging.getLogger("skewless.cluster")
STOP_GRACE_S = 30.0
MAX_BACKOFF_S = 60.0


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.members = members(settings)
        self.rest = FlinkRest(rest_url(settings), timeout_s=5.0)
        self.runtime = flink_home.prepare()
        self.home = Path(self.runtime["FLINK_HOME"])
        self.stopping = threading.Event()
        self.backoff: dict[str, float] = {}
        self.next_start: dict[str, float] = {}
        self.reconcile_pending = True  # once the JobManager answers after this supervisor starts
        self.submitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resubmit")
        self.submitting: dict[str, Future[None]] = {}

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())
        log.info("supervising %s", ", ".join(m.name for m in self.members))
        while not self.stopping.is_set():
            for member in self.members:
                self._keep_up(member)
            if self.reconcile_pending and self._cluster_ready():
                self.reconcile_pending = False
                self._resubmit_unknown()
            self.stopping.wait(1.0)
        self.shutdown()

    def _keep_up(self, member: Member) -> None:
        if member.process.pid() is not None:
            return
        now = time.monotonic()
        if now < self.next_start.get(member.name, 0.0):
            return
        delay = self.backoff.get(member.name, 0.0)
        if member.name in self.next_start:
            log.warning("%s is not running; starting it again", member.name)
        pid = member.process.start(launch_argv(member, self.settings, self.home), cwd=REPO_ROOT,
                                   env=launch_environ(member, self.settings, self.runtime))
        log.info("started %s (pid %d)", member.name, pid)
        # A member that dies again soon waits longer each time (1 s, 2 s, ... 60 s); one that
        # stays up resets in _forgive.
        self.backoff[member.name] = min(MAX_BACKOFF_S, max(1.0, delay * 2))
        self.next_start[member.name] = now + self.backoff[member.name]
        forgive = threading.Timer(MAX_BACKOFF_S * 2, self._forgive, (member.name, pid))
        forgive.daemon = True
        forgive.start()
        if member.is_jobmanager:
            self.reconcile_pending = True

    def _forgive(self, name: str, pid: int) -> None:
        member = next(m for m in self.members if m.name == name)
        if member.process.pid() == pid:
            self.backoff[name] = 0.0

    def _cluster_ready(self) -> bool:
        try:
            return len(self.rest.taskmanagers()) >= len(self.members) - 1
        except ClusterError:
            return False

    def _resubmit_unknown(self) -> None:
        try:
            known = {job.job_id for job in self.rest.jobs()}
        except ClusterError as exc:
            log.warning("cannot list jobs (%s); will try again", exc)
            self.reconcile_pending = True
            return
        for deployment in deployments.all_deployments(self.settings.home):
            if deployment.cluster != self.rest.url:
                continue  # a local job, or another cluster's
            busy = self.submitting.get(deployment.lineage)
            if deployment.job_id in known or (busy is not None and not busy.done()):
                continue
            log.info("job %s of %s is unknown to this JobManager; submitting it again", deployment.job_id, deployment.lineage)
            self.submitting[deployment.lineage] = self.submitter.submit(self._submit, deployment)

    def _submit(self, deployment: deployments.Deployment) -> None:
        env = {**os.environ, **self.runtime, **self.settings.to_environ()}
        for marker in ("PYFLINK_GATEWAY_DISABLED", "_PYFLINK_CONN_INFO_PATH"):
            env.pop(marker, None)
        done = subprocess.run([sys.executable, "-m", "jobs.pipeline", *deployment.argv], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in done.stdout.splitlines()[-20:]:
            log.info("[%s] %s", deployment.lineage, line)
        if done.returncode != 0:
            log.error("submitting %s again failed (exit %d); retrying at the next JobManager start or `cluster up`",
                      deployment.lineage, done.returncode)

    def shutdown(self) -> None:
        log.info("stopping the cluster")
        self.submitter.shutdown(wait=False, cancel_futures=True)
        for member in reversed(self.members):  # TaskManagers first: no job fails over meanwhile
            stopped = member.process.stop(STOP_GRACE_S)
            if stopped is not None:
                log.info("stopped %s (pid %d%s)", member.name, stopped.pid, ", killed" if stopped.forced else "")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    settings = load_settings()
    home = Path((argv if argv is not None else sys.argv[1:])[0]).resolve()
    if home != settings.home:
        log.error("HOME %s differs from SKEWLESS_HOME %s", home, settings.home)
        return 2
    Supervisor(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
