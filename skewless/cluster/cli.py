"""`skewless cluster up|down|status`, `skewless deploy`, `skewless jobs`, `skewless upgrade`, `skewless status`."""

from __future__ import annotations

from pathlib import Path

import click

from skewless.settings import load_settings, writable_home


def _say(message: str) -> None:
    click.echo(message, err=True)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group()
def cluster() -> None:
    """A Flink session cluster on 127.0.0.1 (one JobManager, SKEWLESS_CLUSTER_TASKMANAGERS TaskManagers),
    run from the apache-flink package and kept up by a supervisor process."""


@cluster.command()
@click.option("--timeout", type=click.FloatRange(min=1), default=180.0, show_default=True,
              help="seconds to wait for the JobManager and every TaskManager")
def up(timeout: float) -> None:
    """Start the cluster unless it runs; wait until every TaskManager has registered. Jobs
    deployed before (and not stopped) are submitted again, from their newest checkpoint."""
    from skewless.cluster import control

    settings = load_settings()
    writable_home(settings)
    control.up(settings, timeout, _say)


@cluster.command()
def down() -> None:
    """Stop the cluster's processes (this home's only). Deployed jobs stay deployed: they come
    back with the next `cluster up`; `skewless stop` them to end them."""
    from skewless.cluster import control

    control.down(load_settings(), _say)


@cluster.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Each member's state and pid; exit 0 only if the whole cluster is up."""
    from skewless.cluster import control

    rows, healthy = control.status(load_settings())
    _table(rows)
    ctx.exit(0 if healthy else 1)


@click.command()
@click.option("--view", "views", multiple=True, metavar="NAME[@VERSION]", help="a view to run (repeatable)")
@click.option("--topic", default=None, help="every registered view of this topic")
@click.option("--parallelism", type=click.IntRange(min=1), default=None, help="default: SKEWLESS_JOB_PARALLELISM")
@click.option("--group-id", default=None, help="Kafka consumer group (default: per topic and view versions)")
@click.option("--savepoint", default=None, help="restore from this savepoint or checkpoint instead of the newest")
def deploy(views: tuple[str, ...], topic: str | None, parallelism: int | None, group_id: str | None,
           savepoint: str | None) -> None:
    """Start the unbounded job of a topic's views, detached: on the session cluster when it is
    up, else on a local mini-cluster. It resumes from its lineage's newest checkpoint or savepoint."""
    from skewless.cluster.jobs import deploy as deploy_job
    from skewless.runner import job_views, write_schemas

    settings, job = job_views(views, topic)
    schemas = write_schemas(job.topic, job.schema_texts, settings)
    deployed = deploy_job(settings, job.specs, schemas, parallelism=parallelism, group_id=group_id,
                          savepoint=savepoint, say=_say)
    click.echo(f"{deployed.lineage}: job {deployed.job_id} running on {deployed.where}")


@click.command()
def jobs() -> None:
    """The deployed and local jobs, with their state."""
    from skewless.cluster.jobs import list_jobs

    rows = list_jobs(load_settings())
    if not rows:
        _say("no jobs deployed or running")
        return
    _table([("lineage", "job", "state", "where", "parallelism"),
            *((r.lineage, r.job_id, r.state, r.where, str(r.parallelism or "-")) for r in rows)])


@click.command()
@click.option("--view", "refs", multiple=True, required=True, metavar="NAME@VERSION",
              help="the version to move to (repeatable); the deployed job holding the view is upgraded")
@click.option("--timeout", type=click.FloatRange(min=10), default=300.0, show_default=True,
              help="seconds for each step: the savepoint, the new job running, its first checkpoint")
def upgrade(refs: tuple[str, ...], timeout: float) -> None:
    """Move a deployed job to other versions of its views: stop it with a savepoint, deploy the new
    set of views from it, check that the new job runs and completes a checkpoint, and roll back
    to the old set (from the same savepoint) if it does not. Kept views keep their state; a new
    version starts empty at the savepoint's offsets."""
    from skewless.cluster.jobs import upgrade as upgrade_job
    from skewless.registry.catalogue import Catalogue
    from skewless.runner import write_schemas

    settings = load_settings()
    writable_home(settings)
    catalogue = Catalogue.from_settings(settings)

    def schemas_of(specs):  # type: ignore[no-untyped-def]
        return write_schemas(specs[0].source_topic, catalogue.schema_texts(specs), settings)

    deployed = upgrade_job(settings, catalogue, refs, schemas_of, timeout_s=timeout, say=_say)
    click.echo(f"{deployed.lineage}: job {deployed.job_id} running on {deployed.where}")


@click.command(name="status")
@click.option("--topic", default=None, help="only the job of this topic")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write an HTML report with plots of freshness and throughput over time")
@click.option("--window", type=click.IntRange(min=1), default=15, show_default=True,
              help="minutes of history for --html when the stack's Prometheus answers")
@click.option("--sample-seconds", type=click.IntRange(min=2), default=10, show_default=True,
              help="without Prometheus, --html reads the jobs' endpoints every second for this long")
@click.pass_context
def status_command(ctx: click.Context, topic: str | None, html_out: Path | None, window: int, sample_seconds: int) -> None:
    """Per deployed or running job and view: state, last checkpoint age, Kafka lag, freshness p50
    and p99 against the view's SLO, dead letters by reason. Exit 1 when a job is not running or
    an SLO is breached."""
    from skewless.cluster.status import collect, render

    settings = load_settings()
    statuses = collect(settings, topic)
    if not statuses:
        _say("no jobs deployed or running")
        return
    text = render(statuses)
    for line in text:
        click.echo(line)
    if html_out is not None:
        from skewless.cluster.report import report

        source = report(settings, html_out, text, statuses, window_min=window, sample_seconds=sample_seconds)
        _say(f"wrote {html_out} (plots from {source})")
    problems = [p for s in statuses for p in s.problems()]
    for problem in problems:
        _say(f"not healthy: {problem}")
    ctx.exit(1 if problems else 0)
