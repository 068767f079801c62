"""`skewless demo`: the whole path on the local stack, in one command.

It uses names of its own (topic `demo.transactions`, keyspace and Iceberg namespace
`skewless_demo`) and resets them first, so it can run again and never touches other data.
"""

from __future__ import annotations

import dataclasses
import json
import time

import click

from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig
from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from features.transactions import USER_TRANSACTIONS
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape, user_id
from skewless.runner import run_job
from skewless.settings import load_settings
from skewless.training import get_historical_features

DEMO = "skewless_demo"
HOUR_MS = 3_600_000


def run_demo(events: int, users: int) -> None:
    settings = load_settings(cassandra={"keyspace": DEMO}, iceberg={"namespace": DEMO}, job={"checkpoint_interval_ms": 2_000})
    spec = dataclasses.replace(USER_TRANSACTIONS, source_topic="demo.transactions")
    catalog = CatalogConfig(state_dir=settings.home, namespace=DEMO)
    now = int(time.time() * 1000)
    shape = StreamShape(seed=7, events=events, users=users, days=60, end_ms=(now // HOUR_MS) * HOUR_MS)

    _step("resetting the demo's topic, Cassandra table and Iceberg table")
    reset_demo(spec, settings, catalog)
    _step(f"producing {events:,} events for {users} users over 60 days to {spec.source_topic}")
    report = produce(shape, spec.source_topic, settings.kafka.bootstrap, partitions=2, malformed=max(5, events // 2000))
    _step("running the Flink job over the topic (bounded: it stops at the topic's end)")
    seconds = run_job(spec, settings, bounded=True, until=now, group_id=f"skewless-demo-{now}")

    _step("online features from Cassandra (skewless online get ...)")
    reader = OnlineReader(OnlineReaderConfig.for_view(spec, settings))
    try:
        shown = [user_id(i) for i in range(5)]
        for user, values in reader.get(shown).items():
            click.echo(f"  {user}: {json.dumps(values, default=str)}")
    finally:
        reader.close()

    _step("a point-in-time-correct training set from the Iceberg history")
    import pandas as pd

    labels = pd.DataFrame(
        [(user_id(i), shape.end_ms - d * 86_400_000, i % 2) for i in range(3) for d in (45, 20, 1)],
        columns=[spec.entity_key, "timestamp", "label"],
    )
    training = get_historical_features(labels, spec.name, catalog, spec.ttl_ms).to_pandas()
    training["timestamp"] = pd.to_datetime(training["timestamp"], unit="ms", utc=True)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        click.echo(training.to_string(index=False))

    history = load_pyiceberg_catalog(catalog).load_table(f"{DEMO}.{spec.name}_history")
    rows = history.scan().to_arrow().num_rows
    bad = sum(report.malformed.values())
    click.echo("")
    click.echo(
        f"{report.events:,} events ({bad} malformed, dead-lettered to {spec.source_topic}.dead-letters) -> "
        f"{rows:,} history rows; job wall time {seconds:.1f}s incl. start-up, "
        f"{report.events / seconds:,.0f} events/s end to end"
    )


def reset_demo(spec, settings, catalog: CatalogConfig) -> None:
    """Delete the demo's topics and tables so a re-run starts from nothing."""
    from kafka.admin import KafkaAdminClient

    from connectors.cassandra.session import connect_cluster

    topics = {spec.source_topic, f"{spec.source_topic}.dead-letters"}
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
    cluster = connect_cluster(settings.cassandra.hosts, settings.cassandra.local_dc)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {DEMO}", timeout=60)
    finally:
        cluster.shutdown()
    iceberg = load_pyiceberg_catalog(catalog)
    identifier = f"{DEMO}.{spec.name}_history"
    if iceberg.table_exists(identifier):
        iceberg.purge_table(identifier)


def _step(text: str) -> None:
    click.secho(f"==> {text}", bold=True, err=True)
