"""The `skewless` command: thin wiring over the package's modules.

Subcommands import their modules lazily, so `skewless --help` is instant and a command
only pays for what it uses.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from skewless.errors import SkewlessError
from skewless.options import EPOCH_MS


class _Group(click.Group):
    """Turn skewless's own errors into one readable line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SkewlessError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="skewless")
def main() -> None:
    """skewless: streaming features on Flink with zero training-serving skew."""


@main.command()
def jars() -> None:
    """Resolve every JVM component's jars with Maven and build the Flink sink jar."""
    from skewless.devstack import flink_home
    from skewless.devstack.jars import classpath, components

    for component in components():
        count = len([p for p in classpath(component).split(":") if p])
        click.echo(f"{component}: {count} jars")
    flink_home.prepare()
    click.echo("flink runtime assembled")


@main.command()
@click.option("--topic", default="transactions", show_default=True)
@click.option("--events", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--users", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=60, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True)
@click.option("--end", "end_ms", type=EPOCH_MS, default=None, help="last event time, epoch ms (default: now, to the hour)")
@click.option("--disorder-ms", default=30_000, show_default=True, type=click.IntRange(min=0))
@click.option("--partitions", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--malformed", default=0, show_default=True, type=click.IntRange(min=0), help="malformed records to mix in")
def produce(topic, events, users, days, seed, end_ms, disorder_ms, partitions, malformed) -> None:
    """Produce a deterministic synthetic Avro transaction stream to a Kafka topic."""
    from skewless.events.producer import produce as run_produce
    from skewless.events.synthetic import StreamShape
    from skewless.settings import load_settings

    settings = load_settings()
    end = end_ms if end_ms is not None else (int(time.time() * 1000) // 3_600_000) * 3_600_000
    try:
        shape = StreamShape(seed=seed, events=events, users=users, days=days, end_ms=end, disorder_ms=disorder_ms)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    report = run_produce(shape, topic, settings.kafka.bootstrap, partitions=partitions, malformed=malformed)
    click.echo(report.to_json())


@main.command()
@click.option("--view", "views", multiple=True, metavar="NAME[@VERSION]", help="a view to run (repeatable; latest version by default)")
@click.option("--topic", default=None, help="run every registered view of this topic")
@click.option("--bounded/--unbounded", default=True, show_default=True, help="stop at the topic's current end")
@click.option("--until", type=EPOCH_MS, default=None, help="expiry horizon, epoch ms (bounded default: now)")
@click.option("--group-id", default=None, help="Kafka consumer group (default: per topic and view versions)")
@click.option("--savepoint", default=None, help="restore operator state from this savepoint or checkpoint (matched by operator uid)")
@click.option("--from-scratch", is_flag=True, help="ignore the retained state and rebuild from the whole topic")
def run(
    views: tuple[str, ...],
    topic: str | None,
    bounded: bool,
    until: int | None,
    group_id: str | None,
    savepoint: str | None,
    from_scratch: bool,
) -> None:
    """Run one job for the views of one topic on a local Flink mini-cluster.

    Unbounded, it resumes from the newest checkpoint or savepoint of its lineage (the topic
    plus the view versions), or rebuilds from the whole topic when it has none. A bounded run
    is a replay: it always rebuilds. Views come from the registry (`skewless apply` fills it).

    A run that finishes (bounded, or stopped with `skewless stop --savepoint`) ends with one JSON
    line that holds its summary: per view, events in, updates out, dead letters by reason code
    and late events, and the topic's decode dead letters by reason code.
    """
    from skewless.runner import run_job, write_schemas

    settings, job = _job_views(views, topic)
    schemas = write_schemas(job.topic, job.schema_texts, settings)
    if bounded and until is None:
        until = int(time.time() * 1000)
    summaries: list[dict] = []
    seconds = run_job(
        job.specs,
        settings,
        bounded=bounded,
        until=until,
        group_id=group_id,
        schemas=schemas,
        savepoint=savepoint,
        from_scratch=from_scratch,
        on_summary=summaries.append,
    )
    result = {"topic": job.topic, "views": [s.uid for s in job.specs], "seconds": round(seconds, 1)}
    click.echo(json.dumps({**result, **({"summary": summaries[-1]} if summaries else {})}))


def _job_views(views: tuple[str, ...], topic: str | None):  # type: ignore[no-untyped-def]
    from skewless.runner import job_views

    return job_views(views, topic)


def _lineage(views: tuple[str, ...], topic: str | None):  # type: ignore[no-untyped-def]
    from skewless.checkpoints import Lineage

    settings, job = _job_views(views, topic)
    return Lineage(settings.home, job.topic, [s.uid for s in job.specs])


@main.command()
@click.option("--view", "views", multiple=True, metavar="NAME[@VERSION]", help="a view of the job (repeatable)")
@click.option("--topic", default=None, help="the job of every registered view of this topic")
def checkpoints(views: tuple[str, ...], topic: str | None) -> None:
    """List the retained checkpoints and savepoints of a job's lineage, newest first (JSON lines).

    `skewless run` resumes from the first one listed; `--savepoint PATH` picks another.
    """
    lineage = _lineage(views, topic)
    points = lineage.restore_points()
    if not points:
        click.echo(f"{lineage.name}: no checkpoint or savepoint yet", err=True)
    for point in points:
        click.echo(json.dumps({"lineage": lineage.name, **point.to_dict()}))


@main.command()
@click.option("--view", "views", multiple=True, metavar="NAME[@VERSION]", help="a view of the job (repeatable)")
@click.option("--topic", default=None, help="the job of every registered view of this topic")
@click.option("--savepoint", is_flag=True, help="stop with a savepoint (printed) instead of cancelling")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(min=1), help="seconds to wait")
def stop(views: tuple[str, ...], topic: str | None, savepoint: bool, timeout: float) -> None:
    """Stop a lineage's job, deployed on the cluster or running locally; its checkpoints are
    retained, so `run` or `deploy` resumes."""
    from skewless.checkpoints import Lineage
    from skewless.cluster.jobs import stop as stop_job

    settings, job = _job_views(views, topic)
    click.echo(stop_job(settings, Lineage(settings.home, job.topic, [s.uid for s in job.specs]), savepoint, timeout))


@main.command()
@click.option("--events", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--users", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--repo", default="features", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="the feature repo to register first (as skewless apply --repo does)")
def demo(events: int, users: int, repo: Path) -> None:
    """Register the feature repo, produce events to its topic, run its views' job bounded, then show
    online features (logged for skewless verify) and a training set."""
    from skewless.demo import run_demo

    run_demo(events=events, users=users, repo=repo)


def _register_subgroups() -> None:
    from skewless.deploy.cli import kubernetes
    from skewless.history.cli import history
    from skewless.monitor.cli import monitor
    from skewless.online.cli import online
    from skewless.registry.cli import COMMANDS as registry_commands
    from skewless.serving.cli import serve, verify
    from skewless.devstack.cli import stack
    from skewless.cluster.cli import cluster, deploy, jobs, status_command, upgrade
    from skewless.training.cli import training_set

    main.add_command(stack)
    main.add_command(cluster)
    main.add_command(deploy)
    main.add_command(jobs)
    main.add_command(upgrade)
    main.add_command(status_command)
    main.add_command(kubernetes)
    main.add_command(online)
    main.add_command(history)
    main.add_command(training_set, name="training-set")
    main.add_command(monitor)
    for command in registry_commands:
        main.add_command(command)
    main.add_command(serve)
    main.add_command(verify)


_register_subgroups()

if __name__ == "__main__":
    main()
