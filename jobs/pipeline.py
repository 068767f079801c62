"""The feature pipeline for one view: Kafka -> decode -> tiled windows -> Cassandra + Iceberg.

`build_pipeline` only wires; the logic lives in udfs/ and connectors/. Run it with
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

from pyflink.common import Configuration, Types
from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from connectors.cassandra.schema import ensure_view_table
from connectors.cassandra.sink import CassandraSinkConfig, cassandra_sink
from connectors.iceberg.catalog import CatalogConfig
from connectors.kafka.topics import KEEP_FOREVER, ensure_topic
from connectors.iceberg.flink_sink import add_history_sink
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from jobs.sources import dead_letter_sink_ddl, dead_letter_topic, kafka_source_ddl
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from udfs.aggregator import LATE_EVENTS, TileAggregator, update_type
from udfs.decode import DEAD_LETTERS, DecodeEvents, event_type


@dataclass(frozen=True)
class RunOptions:
    bounded: bool
    # Tile-expiry updates are not emitted past this instant (epoch ms); None = follow the watermark.
    expiry_horizon: int | None
    group_id: str


def build_pipeline(
    env: StreamExecutionEnvironment,
    t_env: StreamTableEnvironment,
    spec: ViewSpec,
    settings: Settings,
    catalog: CatalogConfig,
    schema_texts: list[str],
    options: RunOptions,
) -> None:
    raw_table = f"{spec.name}_raw"
    t_env.execute_sql(
        kafka_source_ddl(
            raw_table,
            spec.source_topic,
            settings.kafka_bootstrap,
            options.group_id,
            spec.out_of_orderness_ms,
            options.bounded,
        )
    )
    raw = t_env.to_data_stream(t_env.from_path(raw_table))
    decoded = (
        raw.process(DecodeEvents(spec, schema_texts), output_type=event_type(spec))
        .name(f"decode {spec.source_topic}")
        .uid(f"{spec.uid}-decode")
    )
    updates = (
        decoded.key_by(lambda e: e[0], key_type=Types.STRING())
        .process(TileAggregator(spec, options.expiry_horizon), output_type=update_type(spec))
        .name(f"tiles {spec.name}")
        .uid(f"{spec.uid}-tiles")
    )

    cassandra = CassandraSinkConfig.for_view(spec, settings)
    updates.sink_to(cassandra_sink(cassandra, update_type(spec))).name(f"cassandra {spec.name}").uid(f"{spec.uid}-cassandra")

    statements = t_env.create_statement_set()
    add_history_sink(t_env, statements, updates, catalog, history_table(spec))

    dlq_table = f"{spec.name}_dead_letters"
    t_env.execute_sql(dead_letter_sink_ddl(dlq_table, dead_letter_topic(spec.source_topic), settings.kafka_bootstrap))
    dead = decoded.get_side_output(DEAD_LETTERS).union(updates.get_side_output(LATE_EVENTS))
    statements.add_insert(dlq_table, t_env.from_data_stream(dead))
    statements.attach_as_datastream()


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


def make_environment(settings: Settings) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    config = flink_configuration()
    config.set_string("execution.checkpointing.dir", (settings.home / "checkpoints").as_uri())
    # Watermarks of an idle partition must not hold back the others.
    config.set_string("table.exec.source.idle-timeout", "30 s")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(settings.parallelism)
    env.enable_checkpointing(settings.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("table.exec.source.idle-timeout", "30 s")
    return env, t_env


def prepare_sinks(spec: ViewSpec, settings: Settings, catalog: CatalogConfig) -> None:
    """Create the dead-letter topic, the Cassandra table and the Iceberg history table."""
    ensure_topic(settings.kafka_bootstrap, dead_letter_topic(spec.source_topic), 1, KEEP_FOREVER)
    ensure_view_table(CassandraSinkConfig.for_view(spec, settings), spec)
    ensure_history_table(catalog, history_table(spec))


def run(spec: ViewSpec, settings: Settings, catalog: CatalogConfig, options: RunOptions, schemas: list[Path]) -> float:
    """Run the pipeline to completion (bounded) or forever; returns the wall time in seconds."""
    prepare_sinks(spec, settings, catalog)
    env, t_env = make_environment(settings)
    build_pipeline(env, t_env, spec, settings, catalog, [p.read_text() for p in schemas], options)
    started = time.monotonic()
    env.execute(f"skewless {spec.name} v{spec.version}")
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Entry point for `flink run -py jobs/pipeline.py --spec view.json [...]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True, type=Path, help="compiled view spec (JSON)")
    parser.add_argument("--schema", action="append", type=Path, required=True, help=".avsc writer schema(s)")
    parser.add_argument("--bounded", action="store_true", help="stop at the topic's current end")
    parser.add_argument("--until", type=int, default=None, help="expiry horizon, epoch ms")
    parser.add_argument("--group-id", default=None)
    args = parser.parse_args(argv)
    spec = ViewSpec.from_dict(json.loads(args.spec.read_text()))
    settings = load_settings()
    options = RunOptions(args.bounded, args.until, args.group_id or f"skewless-{spec.uid}")
    catalog = CatalogConfig(state_dir=settings.home, namespace=settings.iceberg_namespace)
    run(spec, settings, catalog, options, args.schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
