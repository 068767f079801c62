"""Deploy, list and stop jobs: on the session cluster when it is up, else on a local
mini-cluster in a detached process. Either way a job resumes from its lineage's newest
checkpoint or savepoint (or the one given), as `skewless run --unbounded` does.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.kafka.topics import check_topic_exists
from skewless.checkpoints import Lineage, running_jobs
from skewless.cluster import control, deployments
from skewless.cluster.members import rest_url
from skewless.cluster.rest import ClusterError, FlinkRest
from skewless.devstack.process import ServiceProcess, is_alive, tail
from skewless.errors import SkewlessError
from skewless.registry.catalogue import Catalogue
from skewless.runner import pipeline_command
from skewless.settings import REPO_ROOT, Settings
from skewless.spec import ViewSpec

Say = Callable[[str], None]
SUBMIT_TIMEOUT_S = 300.0  # a PyFlink driver starts a JVM, plans, and submits: ~30-90 s on two cores


@dataclass(frozen=True)
class DeployedJob:
    lineage: str
    job_id: str
    where: str  # the cluster's REST URL, or "local (pid N)"


@dataclass(frozen=True)
class JobRow:
    lineage: str
    job_id: str
    state: str
    where: str
    parallelism: int | None


def _local_process(lineage: Lineage) -> ServiceProcess:
    return ServiceProcess(lineage.folder / "local-job.pid", lineage.folder / "local-job.log", "jobs.pipeline")


def deploy(
    settings: Settings,
    specs: Sequence[ViewSpec],
    schemas: list[Path],
    *,
    parallelism: int | None = None,
    group_id: str | None = None,
    savepoint: str | None = None,
    ignore_unclaimed_state: bool = False,
    say: Say = lambda _: None,
) -> DeployedJob:
    """Start the views' job and return once it runs (all its tasks, on a cluster)."""
    lineage = Lineage(settings.home, specs[0].source_topic, [s.uid for s in specs])
    check_topic_exists(settings.kafka.bootstrap, lineage.topic)
    extra = [] if parallelism is None else ["--parallelism", str(parallelism)]
    if control.is_up(settings):
        url = rest_url(settings)
        cmd, env = pipeline_command(specs, settings, bounded=False, group_id=group_id, schemas=schemas, savepoint=savepoint,
                                    ignore_unclaimed_state=ignore_unclaimed_state, extra=[*extra, "--cluster", url])
        say(f"{lineage.name}: submitting to the cluster at {url}...")
        done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=SUBMIT_TIMEOUT_S)
        if done.returncode != 0:
            raise SkewlessError(f"submitting {lineage.name} failed (exit {done.returncode}):\n{_last_lines(done.stdout)}")
        deployed = deployments.load(settings.home, lineage.name)
        if deployed is None:
            raise SkewlessError(f"submitting {lineage.name} recorded no deployment:\n{_last_lines(done.stdout)}")
        await_running(FlinkRest(url), deployed.job_id, timeout_s=SUBMIT_TIMEOUT_S, say=say)
        return DeployedJob(lineage.name, deployed.job_id, url)
    if lineage.running() is not None:
        raise SkewlessError(f"a job of {lineage.name} is running already; `skewless stop` it first")
    cmd, env = pipeline_command(specs, settings, bounded=False, group_id=group_id, schemas=schemas, savepoint=savepoint,
                                ignore_unclaimed_state=ignore_unclaimed_state, extra=extra)
    process = _local_process(lineage)
    pid = process.start(cmd, cwd=REPO_ROOT, env=env)
    say(f"{lineage.name}: no cluster is up; started a local mini-cluster job (pid {pid}), log {process.log_file}")
    deadline = time.monotonic() + SUBMIT_TIMEOUT_S
    while (running := lineage.running()) is None:
        if not is_alive(pid):
            raise SkewlessError(f"the local job of {lineage.name} exited while starting; last lines of "
                                f"{process.log_file}:\n{tail(process.log_file)}")
        if time.monotonic() > deadline:
            raise SkewlessError(f"the local job of {lineage.name} did not start within {SUBMIT_TIMEOUT_S:.0f} s")
        time.sleep(1.0)
    deployments.save(settings.home, deployments.Deployment(
        lineage=lineage.name, topic=lineage.topic, views=tuple(sorted(lineage.view_uids)), argv=tuple(cmd[3:]),
        cluster=deployments.LOCAL, parallelism=parallelism or settings.job.parallelism, job_id=str(running["job_id"]),
        submitted_at_ms=int(time.time() * 1000),
    ))  # fmt: skip
    return DeployedJob(lineage.name, str(running["job_id"]), f"local (pid {pid})")


def await_running(rest: FlinkRest, job_id: str, timeout_s: float, say: Say = lambda _: None) -> None:
    """Until the job and every one of its tasks run; ClusterError if it fails or time runs out."""
    deadline, last = time.monotonic() + timeout_s, ""
    while True:
        details = rest.job_details(job_id)
        state = details["state"]
        tasks = [v["status"] for v in details.get("vertices", [])]
        if state == "RUNNING" and tasks and all(t == "RUNNING" for t in tasks):
            return
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise ClusterError(f"job {job_id} is {state} instead of running; see the JobManager's log")
        if time.monotonic() > deadline:
            raise ClusterError(f"job {job_id} was not running within {timeout_s:.0f} s (state {state}, tasks {tasks})")
        now = f"job {job_id}: {state}, {sum(t == 'RUNNING' for t in tasks)}/{len(tasks)} tasks running"
        if now != last:
            say(now)
            last = now
        time.sleep(1.0)


def await_checkpoint(rest: FlinkRest, job_id: str, timeout_s: float) -> int:
    """Until the job completed a checkpoint after this call; returns its id."""
    before = rest.completed_checkpoints(job_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        details = rest.checkpoints(job_id)
        if int(details["counts"]["completed"]) > before:
            return int(details["latest"]["completed"]["id"])
        state = rest.job_details(job_id)["state"]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise ClusterError(f"job {job_id} is {state}: no checkpoint")
        time.sleep(1.0)
    raise ClusterError(f"job {job_id} completed no checkpoint within {timeout_s:.0f} s")


def stop(settings: Settings, lineage: Lineage, savepoint: bool, timeout_s: float) -> str:
    """Stop the lineage's job, cluster or local; returns what to print (the savepoint's path
    with `savepoint`). Its checkpoints are kept either way, so a later deploy resumes."""
    deployed = deployments.load(settings.home, lineage.name)
    if deployed is not None and deployed.cluster == deployments.LOCAL:
        deployments.remove(settings.home, lineage.name)
    elif deployed is not None:
        rest = FlinkRest(deployed.cluster)
        job = rest.job(deployed.job_id) if rest.answers() else None
        if job is None or not job.alive:
            deployments.remove(settings.home, lineage.name)
            if savepoint:
                raise SkewlessError(f"{lineage.name}'s job {deployed.job_id} is not running on {deployed.cluster} "
                                    "(cluster down, or the job ended); removed its deployment, took no savepoint")
            return f"removed the deployment of {lineage.name} (job {deployed.job_id} was not running)"
        if savepoint:
            path = rest.stop_with_savepoint(job.job_id, lineage.savepoint_dir.as_uri(), timeout_s)
            folder = lineage.record_savepoint(job.job_id, path)
            deployments.remove(settings.home, lineage.name)
            return str(folder)
        rest.cancel(job.job_id)
        _await_gone(rest, job.job_id, timeout_s)
        deployments.remove(settings.home, lineage.name)
        return f"cancelled job {job.job_id}"
    return _stop_local(lineage, savepoint, timeout_s)


def _await_gone(rest: FlinkRest, job_id: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (job := rest.job(job_id)) is not None and job.alive:
        if time.monotonic() > deadline:
            raise ClusterError(f"job {job_id} did not stop within {timeout_s:.0f} s")
        time.sleep(0.5)


def _stop_local(lineage: Lineage, savepoint: bool, timeout_s: float) -> str:
    import os
    import signal

    running = lineage.running()
    if running is None:
        raise SkewlessError(f"no job of {lineage.name} is running")
    pid = int(running["pid"])  # type: ignore[arg-type]
    lineage.last_stop_path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1 if savepoint else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while lineage.running() is not None:
        if time.monotonic() > deadline:
            raise SkewlessError(f"job {running['job_id']} (pid {pid}) did not stop within {timeout_s:.0f} s")
        time.sleep(0.5)
    if savepoint:
        if not lineage.last_stop_path.is_file():
            raise SkewlessError(f"job {running['job_id']} stopped without reporting a savepoint; see its output")
        return str(json.loads(lineage.last_stop_path.read_text())["savepoint"])
    return f"cancelled job {running['job_id']}"


def list_jobs(settings: Settings) -> list[JobRow]:
    """Deployed jobs with their state on the cluster, then local jobs."""
    rows = []
    local = dict(running_jobs(settings.home))
    for deployed in deployments.all_deployments(settings.home):
        if deployed.cluster == deployments.LOCAL:
            info = local.pop(deployed.lineage, None)
            where = f"local (pid {info['pid']})" if info else "local"
            rows.append(JobRow(deployed.lineage, deployed.job_id, "RUNNING" if info else "STOPPED", where, deployed.parallelism))
            continue
        rest = FlinkRest(deployed.cluster, timeout_s=3.0)
        try:
            job = rest.job(deployed.job_id)
            state = job.state if job is not None else "UNKNOWN (being resubmitted?)"
        except ClusterError:
            state = "CLUSTER DOWN"
        rows.append(JobRow(deployed.lineage, deployed.job_id, state, deployed.cluster, deployed.parallelism))
    for name, info in local.items():  # `skewless run`, not deployed
        rows.append(JobRow(name, str(info["job_id"]), "RUNNING", f"local (pid {info['pid']})", None))
    return rows


def upgrade(
    settings: Settings,
    catalogue: Catalogue,
    refs: Sequence[str],
    schemas_of: Callable[[Sequence[ViewSpec]], list[Path]],
    *,
    timeout_s: float = 300.0,
    say: Say = lambda _: None,
) -> DeployedJob:
    """Move the deployed job holding the views of `refs` (NAME@VERSION) to those versions:
    stop it with a savepoint, deploy the new set of views from it (the views kept keep their
    state and offsets; a new version starts empty, at the savepoint's offsets), then check
    that the new job runs and completes a checkpoint. If it does not, the new job is stopped
    and the old set deployed again from the same savepoint; SkewlessError says what happened."""
    wanted = catalogue.select(refs)  # refuses unknown views and versions
    old = _deployment_of(settings, wanted)
    old_specs = catalogue.select([_ref(uid) for uid in old.views])
    new_specs = {**old_specs, **wanted}
    if {s.uid for s in new_specs.values()} == set(old.views):
        raise SkewlessError(f"{old.lineage} runs {', '.join(refs)} already: nothing to upgrade")
    topics = {s.source_topic for s in new_specs.values()}
    if topics != {old.topic}:
        raise SkewlessError(f"the upgraded views must read {old.topic!r}, as the deployed job does; they read {sorted(topics)}")
    say(f"{old.lineage}: stopping job {old.job_id} with a savepoint")
    old_lineage = Lineage(settings.home, old.topic, list(old.views))
    savepoint = stop(settings, old_lineage, savepoint=True, timeout_s=timeout_s)
    say(f"savepoint {savepoint}; deploying {', '.join(sorted(s.uid for s in new_specs.values()))} from it")
    parallelism = old.parallelism
    specs = list(new_specs.values())
    try:
        deployed = deploy(settings, specs, schemas_of(specs), parallelism=parallelism, savepoint=savepoint,
                          ignore_unclaimed_state=True, say=say)
        _verify(settings, deployed, specs, timeout_s)
    except SkewlessError as failure:
        say(f"the upgraded job did not run ({failure}); rolling back to {old.lineage}")
        _undo(settings, specs)
        back = deploy(settings, list(old_specs.values()), schemas_of(list(old_specs.values())), parallelism=parallelism,
                      savepoint=savepoint, say=say)
        raise SkewlessError(f"upgrade refused at run time: {failure}; {old.lineage} runs again as job {back.job_id}, "
                            f"from savepoint {savepoint}") from None
    say(f"{deployed.lineage}: job {deployed.job_id} runs and completed a checkpoint")
    return deployed


def _ref(uid: str) -> str:
    """A view uid (`name-vN`) as a catalogue reference (`name@N`)."""
    name, _, version = uid.rpartition("-v")
    return f"{name}@{version}"


def _deployment_of(settings: Settings, wanted: dict[str, ViewSpec]) -> deployments.Deployment:
    names = set(wanted)
    for deployed in deployments.all_deployments(settings.home):
        if names & {_ref(uid).split("@")[0] for uid in deployed.views}:
            return deployed
    raise SkewlessError(f"no deployed job holds {', '.join(sorted(names))}; `skewless deploy` it first (`skewless jobs` lists them)")


def _verify(settings: Settings, deployed: DeployedJob, specs: Sequence[ViewSpec], timeout_s: float) -> None:
    record = deployments.load(settings.home, deployed.lineage)
    if record is not None and record.cluster != deployments.LOCAL:
        await_checkpoint(FlinkRest(record.cluster), deployed.job_id, timeout_s)
        return
    lineage = Lineage(settings.home, specs[0].source_topic, [s.uid for s in specs])
    started = time.time() * 1000
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lineage.running() is None:
            raise SkewlessError(f"the local job of {deployed.lineage} ended")
        newest = lineage.newest()
        if newest is not None and newest.kind == "checkpoint" and newest.completed_at_ms >= started:
            return
        time.sleep(1.0)
    raise SkewlessError(f"{deployed.lineage} completed no checkpoint within {timeout_s:.0f} s")


def _undo(settings: Settings, specs: Sequence[ViewSpec]) -> None:
    lineage = Lineage(settings.home, specs[0].source_topic, [s.uid for s in specs])
    try:
        stop(settings, lineage, savepoint=False, timeout_s=60.0)
    except SkewlessError:
        deployments.remove(settings.home, lineage.name)  # it never ran


def _last_lines(text: str, n: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])

