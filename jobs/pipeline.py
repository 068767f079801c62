"""The feature pipeline of one topic: Kafka -> decode -> per view: row logic -> tiled windows
-> Cassandra + Iceberg; dead letters of every stage -> `<topic>.dead-letters`.

`build_pipeline` only wires; the logic lives in udfs/ and connectors/. Every operator it
wires runs in the JVM, built from the compiled specs: the job calls no Python per record. Run it with
`skewless run` (local mini-cluster) or `flink run -py jobs/pipeline.py` on a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pyflink.common import Configuration
from pyflink.datastream import CheckpointingMode, DataStream, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from connectors.cassandra.schema import ensure_view_table
from connectors.cassandra.sink import CassandraSinkConfig, cassandra_sink
from connectors.iceberg.catalog import CatalogConfig
from connectors.kafka.topics import KEEP_FOREVER, ensure_topic
from connectors.iceberg.flink_sink import add_history_sink
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from jobs.sources import dead_letter_sink_ddl, dead_letter_topic, kafka_source_ddl
from skewless.errors import SpecError
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from udfs.aggregator import aggregate, late_events_of, update_type
from udfs.decode import Field, check_view, dead_letters_of, decode_records, record_fields, view_events


@dataclass(frozen=True)
class RunOptions:
    bounded: bool
    # Tile-expiry updates are not emitted past this instant (epoch ms); None = follow the watermark.
    expiry_horizon: int | None
    group_id: str


def topic_of(specs: Sequence[ViewSpec]) -> str:
    """The one source topic of `specs`; raises SpecError when they cannot share a job."""
    if not specs:
        raise SpecError("a job needs at least one view")
    topics = {s.source_topic for s in specs}
    if len(topics) > 1:
        raise SpecError(f"one job reads one topic; these views read {sorted(topics)}: run one job per topic")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SpecError(f"a job runs one version per view; got {sorted(s.uid for s in specs)}")
    if len({s.event_time_field for s in specs}) > 1:
        raise SpecError(f"views of topic {specs[0].source_topic} disagree on the event time field")
    return specs[0].source_topic


def set_uid_prefix(t_env: StreamTableEnvironment, prefix: str) -> None:
    """Give the operators the planner translates next stable uids `<prefix>-<type>-<transformation>`.

    The planner's default uids count nodes JVM-wide, so they move when views are added;
    it translates `to_data_stream` at once and each statement set when attached, so the
    prefix can change between those calls.
    """
    config = t_env.get_config()
    config.set("table.exec.uid.generation", "ALWAYS")
    config.set("table.exec.uid.format", f"{prefix}-<type>-<transformation>")
    # Iceberg's v1 sink leaves its writer and committer without uids; the v2 (Sink V2) one
    # takes its uids from the table name, i.e. from the view name.
    config.set("table.exec.iceberg.use-v2-sink", "true")


def read_topic(t_env: StreamTableEnvironment, topic: str, specs: Sequence[ViewSpec], settings: Settings, options: RunOptions) -> DataStream:
    """The topic's raw records (value, topic, partition, offset), watermarked from the Kafka timestamp.

    The watermark is the topic's, so it waits for the most out-of-order view.
    """
    out_of_orderness = max(s.out_of_orderness_ms for s in specs)
    table = f"{_table_name(topic)}_raw"
    t_env.execute_sql(kafka_source_ddl(table, topic, settings.kafka_bootstrap, options.group_id, out_of_orderness, options.bounded))
    set_uid_prefix(t_env, f"{topic}-source")
    return t_env.to_data_stream(t_env.from_path(table))


def add_view(
    t_env: StreamTableEnvironment,
    decoded: DataStream,
    spec: ViewSpec,
    fields: Sequence[Field],
    settings: Settings,
    catalog: CatalogConfig,
    options: RunOptions,
) -> DataStream:
    """One view's branch: row logic -> key by entity -> tiles -> Cassandra + Iceberg; returns its dead letters."""
    events = view_events(decoded, spec, fields).name(f"logic {spec.name}").uid(f"{spec.uid}-logic")
    updates = aggregate(events, spec, options.expiry_horizon).name(f"tiles {spec.name}").uid(f"{spec.uid}-tiles")
    # Each sink runs in a task of its own, fed subtask to subtask (rescale at equal
    # parallelism): chained, the engine and both writers shared one thread while the
    # machine's other core idled (measured: that thread 100% busy, the source 83%
    # back-pressured).
    cassandra = CassandraSinkConfig.for_view(spec, settings)
    updates.rescale().sink_to(cassandra_sink(cassandra, update_type(spec))).name(f"cassandra {spec.name}").uid(
        f"{spec.uid}-cassandra"
    )
    history = t_env.create_statement_set()
    add_history_sink(t_env, history, updates.rescale(), catalog, history_table(spec))
    set_uid_prefix(t_env, f"{spec.uid}-iceberg")
    history.attach_as_datastream()
    return dead_letters_of(events).union(late_events_of(updates))


def build_pipeline(
    env: StreamExecutionEnvironment,
    t_env: StreamTableEnvironment,
    specs: Sequence[ViewSpec],
    settings: Settings,
    catalog: CatalogConfig,
    schema_texts: list[str],
    options: RunOptions,
) -> None:
    """One job for the views of one topic: read and decode once, then one branch per view.

    Every operator has a uid from the topic (source, decode, dead letters) or from the
    view's name and version (`<name>-v<version>-logic|tiles|cassandra|iceberg...`), so a
    savepoint restores into a job with more views (their operators start empty). Restoring
    into a job with fewer views needs `--ignore-unclaimed-state` (the dropped views' state).
    """
    topic = topic_of(specs)
    fields = record_fields(schema_texts)
    for spec in specs:
        check_view(spec, fields)
    raw = read_topic(t_env, topic, specs, settings, options)
    decoded = (
        decode_records(raw, schema_texts, fields, specs[0].event_time_field).name(f"decode {topic}").uid(f"{topic}-decode")
    )
    dead = dead_letters_of(decoded)
    for spec in specs:
        dead = dead.union(add_view(t_env, decoded, spec, fields, settings, catalog, options))
    add_dead_letter_sink(t_env, topic, settings, dead)


def add_dead_letter_sink(t_env: StreamTableEnvironment, topic: str, settings: Settings, dead: DataStream) -> None:
    table = f"{_table_name(topic)}_dead_letters"
    t_env.execute_sql(dead_letter_sink_ddl(table, dead_letter_topic(topic), settings.kafka_bootstrap))
    statements = t_env.create_statement_set()
    statements.add_insert(table, t_env.from_data_stream(dead))
    set_uid_prefix(t_env, f"{topic}-dead-letters")
    statements.attach_as_datastream()


def _table_name(topic: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in topic)


def flink_configuration() -> Configuration:
    """flink-conf/config.yaml, parsed by Flink itself, so local runs match cluster runs."""
    from pyflink.java_gateway import get_gateway

    conf_dir = os.environ.get("FLINK_CONF_DIR", str(Path(__file__).resolve().parents[1] / "flink-conf"))
    j_config = get_gateway().jvm.org.apache.flink.configuration.GlobalConfiguration.loadConfiguration(conf_dir)
    return Configuration(j_configuration=j_config)


def history_table(spec: ViewSpec) -> HistoryTable:
    return HistoryTable(
        view=spec.name,
        keys=(Column(spec.entity_key, "string"),),
        features=tuple(Column(f.name, f.value_type) for f in spec.features),
    )


def make_environment(
    settings: Settings, savepoint: str | None = None, ignore_unclaimed_state: bool = False
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """The job's environments; `savepoint` restores state (matched to operators by uid)."""
    config = flink_configuration()
    config.set_string("execution.checkpointing.dir", (settings.home / "checkpoints").as_uri())
    # Watermarks of an idle partition must not hold back the others.
    config.set_string("table.exec.source.idle-timeout", "30 s")
    if savepoint:
        config.set_string("execution.state-recovery.path", savepoint)
        # Needed when the savepoint holds state of views this job no longer runs.
        config.set_string("execution.state-recovery.ignore-unclaimed-state", str(ignore_unclaimed_state).lower())
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(settings.parallelism)
    env.enable_checkpointing(settings.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("table.exec.source.idle-timeout", "30 s")
    return env, t_env


def prepare_sinks(specs: Sequence[ViewSpec], settings: Settings, catalog: CatalogConfig) -> None:
    """Create the dead-letter topic, and each view's Cassandra table and Iceberg history table."""
    ensure_topic(settings.kafka_bootstrap, dead_letter_topic(topic_of(specs)), 1, KEEP_FOREVER)
    for spec in specs:
        ensure_view_table(CassandraSinkConfig.for_view(spec, settings), spec)
        ensure_history_table(catalog, history_table(spec))


def job_name(specs: Sequence[ViewSpec]) -> str:
    return f"skewless {topic_of(specs)}: {', '.join(s.uid for s in specs)}"


def default_group_id(specs: Sequence[ViewSpec]) -> str:
    """Per topic and set of view versions: a job with other views starts from the beginning."""
    return f"skewless-{topic_of(specs)}-{'+'.join(sorted(s.uid for s in specs))}"


def run(
    specs: Sequence[ViewSpec],
    settings: Settings,
    catalog: CatalogConfig,
    options: RunOptions,
    schemas: list[Path],
    savepoint: str | None = None,
    ignore_unclaimed_state: bool = False,
) -> float:
    """Run the pipeline to completion (bounded) or forever; returns the wall time in seconds."""
    prepare_sinks(specs, settings, catalog)
    env, t_env = make_environment(settings, savepoint, ignore_unclaimed_state)
    build_pipeline(env, t_env, specs, settings, catalog, [p.read_text() for p in schemas], options)
    started = time.monotonic()
    env.execute(job_name(specs))
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Entry point for `flink run -py jobs/pipeline.py --spec a.json [--spec b.json] [...]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", action="append", required=True, type=Path, help="compiled view spec (JSON), one per view")
    parser.add_argument("--schema", action="append", type=Path, required=True, help=".avsc writer schema(s), oldest first")
    parser.add_argument("--bounded", action="store_true", help="stop at the topic's current end")
    parser.add_argument("--until", type=int, default=None, help="expiry horizon, epoch ms")
    parser.add_argument("--group-id", default=None)
    parser.add_argument("--savepoint", default=None, help="restore state from this savepoint or checkpoint")
    parser.add_argument(
        "--ignore-unclaimed-state", action="store_true", help="restore even if the savepoint has state of views not run"
    )
    args = parser.parse_args(argv)
    specs = [ViewSpec.from_dict(json.loads(p.read_text())) for p in args.spec]
    settings = load_settings()
    options = RunOptions(args.bounded, args.until, args.group_id or default_group_id(specs))
    catalog = CatalogConfig(state_dir=settings.home, namespace=settings.iceberg_namespace)
    run(specs, settings, catalog, options, args.schema, args.savepoint, args.ignore_unclaimed_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
