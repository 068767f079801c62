"""`skewless serve` (the HTTP feature server) and `skewless verify` (the skew proof).

Both read where Cassandra and Iceberg are from SKEWLESS_* settings (skewless.settings)
and the views from the catalogue (skewless.registry.catalogue: the registry).
"""

from __future__ import annotations

import logging
import random
import sys
from pathlib import Path
from typing import Any

import click

from skewless.errors import ConfigError
from skewless.options import WritablePath
from skewless.serving import defaults


def _views(settings: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The views named (NAME[@VERSION]), or the latest of every registered view, from the catalogue."""
    from skewless.registry.catalogue import Catalogue

    return Catalogue.from_settings(settings).select(names)


@click.command()
@click.option("--host", default=None, help="address to bind (default: SKEWLESS_SERVING_HOST, 127.0.0.1; 0.0.0.0 exposes the server)")
@click.option("--port", default=None, type=click.IntRange(0, 65535), help="port (default: SKEWLESS_SERVING_PORT, 8000; 0: any free one)")
@click.option("--view", "view_names", multiple=True, metavar="NAME[@VERSION]",
              help="registered view to serve; repeatable (default: every registered view)")
@click.option("--max-entities", default=defaults.MAX_ENTITIES, show_default=True, type=click.IntRange(min=1),
              help="entities allowed in one request")
@click.option("--consistency", default="LOCAL_QUORUM", show_default=True,
              type=click.Choice(["ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL"]))
@click.option("--read-timeout-ms", default=defaults.READ_TIMEOUT_MS, show_default=True, type=click.IntRange(min=1))
@click.option("--log-sample", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="fraction of requests whose served values are logged for `skewless verify`")
@click.option("--log-path", type=click.Path(file_okay=False, path_type=Path),
              help="serving-log directory (default: <SKEWLESS_HOME>/serving-log)")
@click.option("--graceful-timeout-s", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="on SIGTERM, how long in-flight requests may take to finish")
@click.option("--header-timeout-s", default=5.0, show_default=True, type=click.FloatRange(min=0.001),
              help="how long a request's head may take to arrive, and an idle keep-alive connection may stay open")
@click.option("--body-timeout-s", default=10.0, show_default=True, type=click.FloatRange(min=0.001),
              help="how long a request's body may take to arrive (408 after)")
def serve(host, port, view_names, max_entities, consistency, read_timeout_ms, log_sample, log_path,
          graceful_timeout_s, header_timeout_s, body_timeout_s) -> None:
    """Serve online features over HTTP: POST /features, GET /healthz /readyz /metrics."""
    from connectors.cassandra.session import parse_contact_points
    from skewless.serving.http import FeatureServer
    from skewless.serving.log import ServingLog
    from skewless.serving.metrics import ServingMetrics
    from skewless.serving.server import ServerLimits, claim_address, run_server
    from skewless.serving.store import FeatureStore
    from skewless.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = load_settings()
    host = host or settings.serving.host
    port = claim_address(host, settings.serving.port if port is None else port)  # before anything slow: a bad --host or a busy --port fails at once
    views = _views(settings, view_names)
    try:
        parse_contact_points(settings.cassandra.hosts)
    except ValueError as exc:
        raise ConfigError(f"SKEWLESS_CASSANDRA_HOSTS: {exc}") from exc
    log_directory = log_path or settings.home / "serving-log"
    if log_sample > 0:
        ServingLog(log_directory, log_sample).close()  # a bad directory is one line here, not in the worker
        click.echo(f"logging {log_sample:.0%} of requests to {log_directory}", err=True)

    def make_app() -> FeatureServer:
        """Run in the server's worker process: threads (the serving log's writer, the driver's)
        do not survive the fork that starts it, so nothing that owns one is built before."""
        serving_log = ServingLog(log_directory, log_sample) if log_sample > 0 else None
        metrics = ServingMetrics()

        def make_store() -> FeatureStore:
            return FeatureStore.from_settings(
                settings, views, max_entities=max_entities, consistency=consistency,
                request_timeout_s=read_timeout_ms / 1000, log=serving_log, on_read=metrics.observe_read,
            )

        return FeatureServer(make_store, metrics=metrics, serving_log=serving_log, freeze_gc=True,
                             body_timeout_s=body_timeout_s)

    run_server(make_app, host, port, ServerLimits(header_timeout_s=header_timeout_s, graceful_timeout_s=graceful_timeout_s))


@click.command()
@click.option("--log", "log_paths", multiple=True, type=click.Path(path_type=Path),
              help="serving-log file or directory (serve --log-sample writes <SKEWLESS_HOME>/serving-log); repeatable")
@click.option("--sample-live", type=click.IntRange(min=1),
              help="also read N random entities per view now and verify them")
@click.option("--view", "view_names", multiple=True, metavar="NAME[@VERSION]",
              help="views for --sample-live; repeatable (default: every registered view)")
@click.option("--max-write-lag-ms", default=defaults.MAX_WRITE_LAG_MS, show_default=True, type=click.IntRange(min=0),
              help="how far Cassandra may trail the history's written_at (the sink's write lag, about a "
                   "checkpoint interval); 0 = exact")
@click.option("--wait-s", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="how long to wait for the history to commit what was written before each value was served")
@click.option("--parallelism", type=click.IntRange(min=1), help="the job's parallelism (default: SKEWLESS_JOB_PARALLELISM)")
@click.option("--history-complete", is_flag=True,
              help="the job writing these views has finished (a bounded run returned): judge every value "
                   "against the committed history without waiting for proof that it is complete")
@click.option("--json", "json_path", type=WritablePath(), help="also write the report as JSON here")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--seed", type=int, help="seed of the --sample-live draw")
def verify(log_paths, sample_live, view_names, max_write_lag_ms, wait_s, parallelism, history_complete, json_path,
           fmt, seed) -> None:
    """Check served values against point-in-time ("known_time") values recomputed from Iceberg.

    Exit 0: every value proven; 1: a mismatch; 2: no mismatch, but some values could not be
    judged because the history had not committed what preceded them within --wait-s.
    """
    from skewless.finished import wrote_last_and_finished
    from skewless.serving.log import served_records
    from skewless.serving.store import FeatureStore
    from skewless.serving.verify import Served, read_log, verify_served
    from skewless.settings import load_settings
    from connectors.iceberg.catalog import CatalogConfig

    if not log_paths and not sample_live:
        raise click.UsageError("pass --log PATH (a serving log) and/or --sample-live N")
    settings = load_settings()
    views = _views(settings, ())
    entries = read_log(log_paths) if log_paths else []
    if sample_live:
        sampled = _views(settings, view_names)
        rng = random.Random(seed)
        with FeatureStore.from_settings(settings, views) as store:
            for name in sorted(sampled):
                keys = store.client.sample_keys(name, sample_live, rng)
                if not keys:
                    raise ConfigError(f"view {name!r} has no rows in Cassandra keyspace {settings.cassandra.keyspace}")
                response = store.get_online_features(keys, [f"{name}:*"])
                entries += [Served.from_record(r) for r in served_records(response)]
    report = verify_served(
        entries, views, CatalogConfig.from_settings(settings), max_write_lag_ms=max_write_lag_ms, wait_s=wait_s,
        parallelism=parallelism or settings.job.parallelism, history_complete=history_complete,
        finished=lambda spec, job: wrote_last_and_finished(settings.home, spec.uid, job),
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_bytes(report.to_json())
    click.echo(report.to_json().decode() if fmt == "json" else report.render_table())
    sys.exit(report.exit_code())
