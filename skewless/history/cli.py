"""`skewless history compact VIEW`: sort-compact a view's settled history partitions;
`skewless history clean VIEW`: remove the files no snapshot of its history references.

The view comes from the catalogue (the registry), for its default settling time; the
Iceberg catalog is the pipeline's (CatalogConfig.from_settings: SKEWLESS_HOME, SKEWLESS_ICEBERG_*).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from skewless.errors import ConfigError

if TYPE_CHECKING:
    from connectors.iceberg.compaction import PartitionOutcome
    from skewless.settings import Settings
    from skewless.spec import ViewSpec

MIN_SETTLE = timedelta(days=1)
MIN_ORPHAN_AGE = timedelta(hours=1)


def default_older_than(spec: ViewSpec) -> timedelta:
    """How long after its day ends a partition may still receive rows: a correction of an
    update at the day's last instant comes up to out_of_orderness + allowed_lateness
    later (event time, which tracks the clock in a live stream); at least a day."""
    return max(MIN_SETTLE, timedelta(milliseconds=spec.allowed_lateness_ms + spec.out_of_orderness_ms))


def default_clean_older_than(checkpoint_interval_ms: int) -> timedelta:
    """How old an unreferenced file must be to be no running writer's: a writer's file is
    committed about one checkpoint interval after its last write; twice that, at least 1 h."""
    return max(MIN_ORPHAN_AGE, 2 * timedelta(milliseconds=checkpoint_interval_ms))


def parse_duration(text: str) -> timedelta:
    """'2d', '36h', '90m', '1h30m': a duration as definitions write them."""
    from skewless.dsl.durations import to_ms
    from skewless.errors import SpecError

    try:
        return timedelta(milliseconds=to_ms(text, "--older-than"))
    except SpecError as exc:
        raise ConfigError(str(exc)) from None


def _view_spec(settings: Settings, ref: str) -> ViewSpec:
    from skewless.registry.catalogue import Catalogue

    return Catalogue.from_settings(settings).spec(ref)


def _say(outcome: PartitionOutcome) -> None:
    line = f"{outcome.partition}: {outcome.status}, {outcome.rows} rows in {outcome.files_before} files"
    if outcome.status == "compacted":
        line += f" -> {outcome.files_after} sorted file(s), {outcome.row_groups_after} row groups"
        if outcome.attempts > 1:
            line += f" ({outcome.attempts - 1} concurrent commits retried against)"
    click.echo(line)


@click.group()
def history() -> None:
    """Maintain the views' Iceberg history tables."""


def _view_command(older_than_help: str, dry_run_help: str) -> Callable[[Callable[..., None]], click.Command]:
    """A `history` subcommand of one VIEW taking --older-than DURATION and --dry-run."""

    def wrap(function: Callable[..., None]) -> click.Command:
        function = click.option("--dry-run", is_flag=True, help=dry_run_help)(function)
        function = click.option("--older-than", "older_than", default=None, metavar="DURATION",
                                help=older_than_help)(function)
        return history.command()(click.argument("view")(function))

    return wrap


@_view_command("Compact day partitions whose whole day ended at least this long ago (2d, 36h...); "
               "default: the larger of 1 day and the view's allowed lateness plus out-of-orderness.",
               "List the partitions that would be compacted; change nothing.")
def compact(view: str, older_than: str | None, dry_run: bool) -> None:
    """Rewrite a view's settled day partitions sorted by (key, valid_from), in 16k-row groups,
    so that training-set reads prune them; each partition is replaced in one snapshot."""
    from connectors.iceberg.compaction import compact_history
    from skewless.settings import load_settings
    from connectors.iceberg.catalog import CatalogConfig

    settings = load_settings()
    spec = _view_spec(settings, view)
    settle = parse_duration(older_than) if older_than is not None else default_older_than(spec)
    cfg = CatalogConfig.from_settings(settings)
    click.echo(f"{'dry run: ' if dry_run else ''}compacting {spec.name}'s history, days ended more than {settle} ago")
    report = compact_history(cfg, spec.name, settle, dry_run=dry_run, on_partition=_say)
    done = len(report.compacted)
    verb = "would compact" if dry_run else "compacted"
    click.echo(f"{report.table}: {verb} {done} of {len(report.partitions)} partitions ending by {report.cutoff}")


@_view_command("Remove only files last written at least this long ago (1h, 90m...); default: the larger "
               "of 1 hour and twice the checkpoint interval, so a running job's files are never touched.",
               "Count the files that would be removed; change nothing.")
@click.option("--expire-rolled-back", "expire", is_flag=True,
              help="First expire the snapshots a restore rolled back (off main's ancestry, on no branch or "
                   "tag, older than --older-than), so that their files go too.")
def clean(view: str, older_than: str | None, dry_run: bool, expire: bool) -> None:
    """Remove the data files, manifests and manifest lists of a view's history that no snapshot
    references (left by killed job attempts); prints one JSON line of counts and bytes."""
    from connectors.iceberg.orphans import clean_history
    from skewless.settings import load_settings
    from connectors.iceberg.catalog import CatalogConfig

    settings = load_settings()
    spec = _view_spec(settings, view)
    interval = settings.job.checkpoint_interval_ms
    age = parse_duration(older_than) if older_than is not None else default_clean_older_than(interval)
    report = clean_history(CatalogConfig.from_settings(settings), spec.name, age, dry_run=dry_run, expire=expire)
    click.echo(json.dumps(report.to_dict()))
