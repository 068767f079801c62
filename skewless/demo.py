"""`skewless demo`: the README's path on the local stack, in one command, as a user walks it.

It registers the feature repo (`skewless apply`'s code path), resets the data of the
views of the `transactions` topic (the topic and its dead letters, the views' Cassandra
tables and Iceberg histories, the serving log) so that it can run again, produces a
synthetic stream, runs the views' job bounded, reads online features of every view through
the FeatureStore with a serving log, and builds a training set. Everything goes where the
settings say (SKEWLESS_HOME, keyspace, namespace), so the README's reading commands
(`skewless online get`, `training-set`, `verify --log`) read what the demo wrote.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import click

from skewless.errors import SkewlessError
from skewless.events.synthetic import StreamShape, transactions
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec

TOPIC = "transactions"  # the topic the synthetic stream's schema describes
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SHOWN = 3  # entities shown (and logged) per view


def run_demo(events: int, users: int, repo: Path) -> None:
    from connectors.iceberg.catalog import load_pyiceberg_catalog
    from connectors.iceberg.history import history_identifier
    from skewless.events.producer import produce
    from skewless.registry.catalogue import Catalogue
    from skewless.runner import run_job, write_schemas
    from connectors.iceberg.catalog import CatalogConfig

    settings = load_settings(job={"checkpoint_interval_ms": 2_000})
    _step(f"registering the feature repo {repo} (skewless apply --repo {repo})")
    apply_repo(settings, repo)
    job = Catalogue.from_settings(settings).job((), TOPIC)
    names = ", ".join(s.uid for s in job.specs)
    now = int(time.time() * 1000)
    shape = StreamShape(seed=7, events=events, users=users, days=60, end_ms=(now // HOUR_MS) * HOUR_MS)

    _step(f"resetting topic {TOPIC} and the data of {names}")
    reset_demo(job.specs, settings)
    _step(f"producing {events:,} events for {users} users over 60 days to {TOPIC}")
    report = produce(shape, TOPIC, settings.kafka.bootstrap, partitions=2, malformed=max(5, events // 2000))
    _step(f"running the Flink job of {names} (bounded: it stops at the topic's end)")
    schemas = write_schemas(TOPIC, job.schema_texts, settings)
    seconds = run_job(job.specs, settings, bounded=True, until=now, group_id=f"skewless-demo-{now}", schemas=schemas)

    _step(f"online features from Cassandra, logged to {settings.home / 'serving-log'} for skewless verify")
    show_online(settings, job.specs, _entities(job.specs, shape))

    user_view = next((s for s in job.specs if s.name == "user_transactions"), job.specs[0])
    _step(f"a point-in-time-correct training set of {user_view.name} from the Iceberg history")
    show_training_set(settings, user_view, _entities([user_view], shape)[user_view.name], shape.end_ms)

    catalog = CatalogConfig.from_settings(settings)
    history = load_pyiceberg_catalog(catalog).load_table(history_identifier(catalog.namespace, user_view.name))
    rows = history.scan().to_arrow().num_rows
    bad = sum(report.malformed.values())
    click.echo("")
    click.echo(
        f"{report.events:,} events ({bad} malformed, dead-lettered to {TOPIC}.dead-letters) -> "
        f"{rows:,} history rows of {user_view.name}; job wall time {seconds:.1f}s incl. start-up, "
        f"{report.events / seconds:,.0f} events/s end to end"
    )
    click.echo("next: the README's 'Reading features' commands, e.g. "
               f"skewless online get --view {user_view.name} user-000001")


def apply_repo(settings: Settings, repo: Path) -> None:
    """Register the repo's definitions as `skewless apply --repo` does; refused changes stop the demo."""
    from skewless.registry.catalogue import registry_url
    from skewless.registry.store import Registry

    with Registry(registry_url(settings)) as registry:
        plan = registry.apply(repo)
    click.echo(plan.render(), err=True)
    if plan.refused:
        raise SkewlessError(f"the registry refused the feature repo {repo}; see the plan above")


def reset_demo(specs: Sequence[ViewSpec], settings: Settings) -> None:
    """Delete the topic, the views' tables and the serving log, so a re-run starts from nothing."""
    from kafka.admin import KafkaAdminClient

    from connectors.cassandra.session import connect_cluster
    from connectors.cassandra.views import view_table
    from connectors.iceberg.catalog import load_pyiceberg_catalog
    from connectors.iceberg.history import history_identifier
    from connectors.iceberg.catalog import CatalogConfig

    topics = {TOPIC, f"{TOPIC}.dead-letters"}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap, client_id="skewless-demo")
    try:
        existing = topics & set(admin.list_topics())
        if existing:
            admin.delete_topics(sorted(existing))
        deadline = time.monotonic() + 60
        while topics & set(admin.list_topics()) and time.monotonic() < deadline:
            time.sleep(0.5)  # deletion is asynchronous; recreating too early fails
    finally:
        admin.close()
    keyspace = settings.cassandra.keyspace
    cluster = connect_cluster(settings.cassandra.hosts, settings.cassandra.local_dc)
    try:
        session = cluster.connect()
        for spec in specs:
            session.execute(f"DROP TABLE IF EXISTS {keyspace}.{view_table(spec)}", timeout=60)
    finally:
        cluster.shutdown()
    catalog = CatalogConfig.from_settings(settings)
    iceberg = load_pyiceberg_catalog(catalog)
    for spec in specs:
        identifier = history_identifier(catalog.namespace, spec.name)
        if iceberg.table_exists(identifier):
            iceberg.purge_table(identifier)
    shutil.rmtree(settings.home / "serving-log", ignore_errors=True)


def show_online(settings: Settings, specs: Sequence[ViewSpec], entities: dict[str, list[str]]) -> None:
    """Read every view's features for a few entities through the SDK, logging what is served."""
    from skewless.serving.log import ServingLog
    from skewless.serving.store import FeatureStore

    log = ServingLog(settings.home / "serving-log", 1.0)
    try:
        with FeatureStore.from_settings(settings, specs, log=log) as store:
            for spec in specs:
                response = store.get_online_features(entities[spec.name], [f"{spec.name}:*"])
                for entity, result in zip(entities[spec.name], response, strict=True):
                    click.echo(f"  {spec.name} {entity}: {json.dumps(result.values(), default=str)}")
    finally:
        log.close()


def show_training_set(settings: Settings, spec: ViewSpec, entities: list[str], end_ms: int) -> None:
    import pandas as pd

    from skewless.training import get_historical_features

    labels = pd.DataFrame(
        [(entity, end_ms - d * DAY_MS, i % 2) for i, entity in enumerate(entities) for d in (45, 20, 1)],
        columns=[spec.entity_key, "timestamp", "label"],
    )
    training = get_historical_features(labels, spec, settings=settings).to_pandas()
    training["timestamp"] = pd.to_datetime(training["timestamp"], unit="ms", utc=True)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        click.echo(training.to_string(index=False))


def _entities(specs: Sequence[ViewSpec], shape: StreamShape) -> dict[str, list[str]]:
    """The few entities of each view with the latest events (live online, within the TTL)."""
    last_seen: dict[str, dict[str, int]] = {s.name: {} for s in specs}
    for record in transactions(shape):
        for spec in specs:
            key = record.get(spec.source_key_field)
            if key is not None:
                seen = last_seen[spec.name]
                seen[key] = max(seen.get(key, 0), record["event_time"])
    return {name: sorted(seen, key=lambda k: -seen[k])[:SHOWN] for name, seen in last_seen.items()}


def _step(text: str) -> None:
    click.secho(f"==> {text}", bold=True, err=True)
