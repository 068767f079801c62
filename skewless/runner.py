"""Launch a pipeline job on a local Flink mini-cluster, in a child process.

The child gets the assembled Flink runtime (connector jars on the classpath) through its
environment, so the JVM that PyFlink starts sees them from its first class load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from skewless.errors import SkewlessError
from skewless.finished import record_finished
from skewless.preflight import check_job_inputs
from skewless.settings import REPO_ROOT, Settings
from skewless.registry.catalogue import JobViews
from skewless.spec import ViewSpec
from skewless.devstack import flink_home
from skewless.summary import parse_summary_line

SCHEMAS = REPO_ROOT / "schemas"


def job_views(views: Sequence[str], topic: str | None) -> tuple[Settings, JobViews]:
    """The settings, and the views one job runs (`--view` refs or `--topic`), from the catalogue."""
    from connectors.kafka.topics import check_topic_name
    from skewless.registry.catalogue import Catalogue
    from skewless.settings import load_settings, writable_home

    if topic is not None:
        check_topic_name(topic)
    settings = load_settings()
    writable_home(settings)  # the default registry, the specs and the checkpoints live there
    return settings, Catalogue.from_settings(settings).job(views, topic)


def write_specs(specs: Sequence[ViewSpec], settings: Settings) -> list[Path]:
    """One JSON file per spec under <home>/specs, named by its uid."""
    folder = settings.home / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.uid}.json"
        path.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True))
        paths.append(path)
    return paths


def write_schemas(source: str, texts: Sequence[str], settings: Settings) -> list[Path]:
    """Registry schema texts as .avsc files (oldest first) for the job's --schema."""
    folder = settings.home / "schemas" / source
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"v{i + 1}.avsc" for i in range(len(texts))]
    for path, text in zip(paths, texts):
        path.write_text(text)
    return paths


def run_job(
    specs: ViewSpec | Sequence[ViewSpec],
    settings: Settings,
    *,
    bounded: bool,
    until: int | None,
    group_id: str | None = None,
    schemas: list[Path] | None = None,
    savepoint: str | None = None,
    from_scratch: bool = False,
    on_summary: Callable[[dict], None] | None = None,
) -> float:
    """Run jobs/pipeline.py for the views of one topic; returns the wall time. Raises if the job fails.

    The job's output passes through, except its summary line (skewless.summary) when
    `on_summary` is given: that gets the summary instead.
    """
    specs = [specs] if isinstance(specs, ViewSpec) else list(specs)
    cmd, env = pipeline_command(specs, settings, bounded=bounded, until=until, group_id=group_id, schemas=schemas,
                                savepoint=savepoint, from_scratch=from_scratch)
    started = time.monotonic()
    launched_at_ms = int(time.time() * 1000)
    with subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE if on_summary else None, text=True) as child:
        try:
            if on_summary is not None and child.stdout is not None:
                _pass_through(child.stdout, on_summary)
            child.wait()
        except BaseException:  # as subprocess.run: an interrupted launcher takes the job down with it
            child.kill()
            raise
    if child.returncode != 0:
        names = ", ".join(s.uid for s in specs)
        raise SkewlessError(f"the Flink job for {names} failed (exit {child.returncode}); see its output above")
    if bounded:  # it returned at the topic's end: everything it wrote is committed
        record_finished(settings.home, specs[0].source_topic, [s.uid for s in specs], launched_at_ms,
                        int(time.time() * 1000))
    return time.monotonic() - started


def pipeline_command(
    specs: Sequence[ViewSpec],
    settings: Settings,
    *,
    bounded: bool,
    until: int | None = None,
    group_id: str | None = None,
    schemas: list[Path] | None = None,
    savepoint: str | None = None,
    from_scratch: bool = False,
    ignore_unclaimed_state: bool = False,
    extra: Sequence[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a jobs/pipeline.py process for these views (specs
    and schemas written under the home first), after checking what it needs is there."""
    check_job_inputs(specs[0].source_topic, settings.kafka.bootstrap, savepoint)
    env = {**os.environ, **flink_home.prepare()}
    # A process that ran a Python function of a local Flink job (a notebook, a test run)
    # carries PyFlink's markers of a UDF worker, which forbid launching a gateway; the job
    # process must launch its own.
    for marker in ("PYFLINK_GATEWAY_DISABLED", "_PYFLINK_CONN_INFO_PATH"):
        env.pop(marker, None)
    env.update(settings.to_environ())
    cmd = [sys.executable, "-m", "jobs.pipeline"]
    for path in write_specs(specs, settings):
        cmd += ["--spec", str(path)]
    for schema in schemas or [SCHEMAS / "transactions.avsc"]:
        cmd += ["--schema", str(schema)]
    if bounded:
        cmd.append("--bounded")
    if until is not None:
        cmd += ["--until", str(until)]
    if group_id:
        cmd += ["--group-id", group_id]
    if savepoint:
        cmd += ["--savepoint", savepoint]
    if from_scratch:
        cmd.append("--from-scratch")
    if ignore_unclaimed_state:
        cmd.append("--ignore-unclaimed-state")
    return [*cmd, *extra], env


def _pass_through(lines: Iterable[str], on_summary: Callable[[dict], None]) -> None:
    """Copy a job's output to stdout as it comes, handing its summary line to `on_summary` instead."""
    for line in lines:
        summary = parse_summary_line(line)
        if summary is None:
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            on_summary(summary)
