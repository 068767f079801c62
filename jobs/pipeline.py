"""The feature pipeline of one topic: Kafka -> decode -> per view: row logic -> tiled windows
-> Cassandra + Iceberg; dead letters of every stage -> `<topic>.dead-letters`.

`build_pipeline` only wires; the logic lives in the JVM operators and connectors/. Every operator it
wires runs in the JVM, built from one job spec (jobs.operators) of the compiled specs: the job calls no Python per record. Run it with
`skewless run` (local mini-cluster, this process awaits the job), `skewless deploy` (`--cluster
URL --detached`: submitted to a session cluster's REST endpoint, recorded as the lineage's
deployment, and this process exits), or `flink run -py jobs/pipeline.py` on a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pyflink.common import Configuration
from pyflink.common.job_client import JobClient
from pyflink.datastream import CheckpointingMode, DataStream, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from connectors.cassandra.schema import ensure_view_table
from connectors.cassandra.config import CassandraSinkConfig
from connectors.iceberg.catalog import CatalogConfig
from connectors.kafka.topics import KEEP_FOREVER, ensure_topic
from connectors.iceberg.flink_sink import add_history_sink
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from jobs.operators import JvmJob, SourceOptions, job_document
from jobs.rows import check_view, record_fields, update_type, view_label
from jobs.sources import EventTimeWatermarks, dead_letter_sink_ddl, dead_letter_topic
from skewless.checkpoints import Lineage, RestorePoint, restore_point_at
from skewless.cluster import deployments
from skewless.cluster.rest import FlinkRest
from skewless.errors import SkewlessError, SpecError
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from skewless.summary import summarize, summary_line


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


def source_options(specs: Sequence[ViewSpec], settings: Settings, options: RunOptions) -> SourceOptions:
    """How the job reads its topic. The watermark is the topic's, so it waits for the most
    out-of-order view."""
    watermarks = EventTimeWatermarks(
        out_of_orderness_ms=max(s.out_of_orderness_ms for s in specs),
        idle_ms=settings.job.source_idle_timeout_ms,
        future_bound_ms=settings.job.future_event_time_bound_ms,
    )
    return SourceOptions(settings.kafka.bootstrap, options.group_id, options.bounded, watermarks)


def add_view(
    t_env: StreamTableEnvironment,
    job: JvmJob,
    events: DataStream,
    spec: ViewSpec,
    cassandra: CassandraSinkConfig,
    catalog: CatalogConfig,
) -> DataStream:
    """One view's branch: its events (from the topic's row-logic stage) -> key by entity -> tiles
    -> Cassandra + Iceberg; returns the tile operator's dead letters (its safety net for late
    events, which the row-logic stage already refuses)."""
    updates = job.aggregate(spec, events).name(f"tiles {spec.name}").uid(f"{spec.uid}-tiles")
    # Each sink runs in a task of its own, fed subtask to subtask (rescale at equal
    # parallelism): chained, the engine and both writers shared one thread while the
    # machine's other core idled (measured: that thread 100% busy, the source 83%
    # back-pressured).
    updates.rescale().sink_to(job.cassandra_sink(spec, cassandra, update_type(spec))).name(f"cassandra {spec.name}").uid(
        f"{spec.uid}-cassandra"
    )
    history = t_env.create_statement_set()
    add_history_sink(t_env, history, updates.rescale(), catalog, history_table(spec))
    set_uid_prefix(t_env, f"{spec.uid}-iceberg")
    history.attach_as_datastream()
    return job.late_events(updates)


def build_pipeline(
    env: StreamExecutionEnvironment,
    t_env: StreamTableEnvironment,
    specs: Sequence[ViewSpec],
    settings: Settings,
    catalog: CatalogConfig,
    schema_texts: list[str],
    options: RunOptions,
) -> None:
    """One job for the views of one topic: read and decode once, run every view's row logic
    in one operator (one dead letter per record at most), then one branch per view.

    Every operator has a uid from the topic (source, decode, logic, dead letters) or from the
    view's name and version (`<name>-v<version>-tiles|cassandra|iceberg...`), so a
    savepoint restores into a job with more views (their operators start empty). Restoring
    into a job with fewer views needs `--ignore-unclaimed-state` (the dropped views' state).
    """
    topic = topic_of(specs)
    fields = record_fields(schema_texts)
    for spec in specs:
        check_view(spec, fields)
    sinks = {spec.uid: CassandraSinkConfig.for_view(spec, settings) for spec in specs}
    # The one crossing into the JVM: every operator below is built from this document.
    job = JvmJob(
        job_document(
            schema_texts, specs, source=source_options(specs, settings, options), sinks=sinks,
            expiry_horizon=options.expiry_horizon,
        )
    )
    raw = job.source(env).uid(f"{topic}-source")
    decoded = job.decode(raw).name(f"decode {topic}").uid(f"{topic}-decode")
    # The logic operator holds no state: its uid is the topic's, whatever the views.
    views = job.view_events(decoded)
    views.stage.name(f"logic {topic}").uid(f"{topic}-logic")
    dead = job.dead_letters(decoded).union(views.stage)
    for spec in specs:
        dead = dead.union(add_view(t_env, job, views.events[spec.uid], spec, sinks[spec.uid], catalog))
    add_dead_letter_sink(t_env, topic, settings, dead, options.group_id)


def add_dead_letter_sink(
    t_env: StreamTableEnvironment, topic: str, settings: Settings, dead: DataStream, lineage: str
) -> None:
    """Letters to `<topic>.dead-letters` in Kafka transactions committed with the checkpoints;
    `lineage` (the job's group id: topic plus view versions) keeps its transactional ids apart
    from other jobs' and the same across its restarts."""
    table = f"{_table_name(topic)}_dead_letters"
    t_env.execute_sql(dead_letter_sink_ddl(table, dead_letter_topic(topic), settings.kafka.bootstrap, lineage))
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
    settings: Settings,
    lineage: Lineage,
    restore: RestorePoint | None,
    bounded: bool,
    ignore_unclaimed_state: bool = False,
    cluster: str | None = None,
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """The job's environments; `restore` restores state (matched to operators by uid).

    An unbounded job checkpoints into its lineage's folder and keeps its checkpoints when it
    fails or is cancelled, so the next `skewless run` resumes from them. A bounded run is a
    replay from the whole topic: its checkpoints serve its own commits only (its final one
    holds finished sources, which no later run could read on from).
    """
    config = flink_configuration()
    if bounded:
        config.set_string("execution.checkpointing.dir", (settings.home / "checkpoints" / "bounded").as_uri())
        config.set_string("execution.checkpointing.externalized-checkpoint-retention", "NO_EXTERNALIZED_CHECKPOINTS")
        # A replay that keeps failing should fail, not retry for ever.
        config.set_string("restart-strategy.exponential-delay.attempts-before-reset-backoff", "6")
    else:
        config.set_string("execution.checkpointing.dir", lineage.checkpoint_dir.as_uri())
        config.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        config.set_string("execution.checkpointing.num-retained", str(settings.job.checkpoints_retained))
    config.set_string("execution.checkpointing.savepoint-dir", lineage.savepoint_dir.as_uri())
    if restore is not None:
        config.set_string("execution.state-recovery.path", restore.path.as_uri())
        # Needed when the savepoint holds state of views this job no longer runs.
        config.set_string("execution.state-recovery.ignore-unclaimed-state", str(ignore_unclaimed_state).lower())
    if cluster is not None:
        env = _remote_environment(config, cluster)
    else:
        env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(settings.job.parallelism)
    env.enable_checkpointing(settings.job.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    t_env = StreamTableEnvironment.create(env)
    return env, t_env


def _remote_environment(config: Configuration, cluster: str) -> StreamExecutionEnvironment:
    """An environment that submits to the session cluster at `cluster` (its REST URL).

    Outside `flink run`, get_execution_environment always builds a local mini-cluster,
    whatever execution.target says; Flink's own constructor honours the target. The job's
    classes are on the cluster's classpath already (its lib/ is the assembled one), so no
    jars ship with it."""
    from pyflink.java_gateway import get_gateway

    host, _, port = cluster.removeprefix("http://").rstrip("/").rpartition(":")
    config.set_string("execution.target", "remote")
    config.set_string("rest.address", host)
    config.set_string("rest.port", port)
    j_env = get_gateway().jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment(
        config._j_configuration)
    return StreamExecutionEnvironment(j_env)


def prepare_history(
    specs: Sequence[ViewSpec], catalog: CatalogConfig, lineage: Lineage, restore: RestorePoint | None
) -> None:
    """Bring each view's history to the state the job starts from, so no row is written twice.

    Resuming from a checkpoint or savepoint: the commits after it are rolled back (the job
    replays them). Starting without state: the job replays the whole topic, so the history is
    rebuilt; the deleting snapshot says so (`skewless.rebuild`).
    """
    from connectors.iceberg.rollback import roll_back, truncate

    for spec in specs:
        table = ensure_history_table(catalog, history_table(spec))
        if restore is None:
            rows = truncate(table, f"{lineage.name} from scratch")
            if rows:
                print(f"history of {spec.name}: rebuilding from the whole topic ({rows} rows replaced)", file=sys.stderr)
            continue
        if restore.job_id is None or restore.checkpoint_id is None:
            print(f"history of {spec.name}: {restore.path} does not say which job made it; not rolled back", file=sys.stderr)
            continue
        allowed, root_started = lineage.ancestry(restore)
        done = roll_back(table, allowed, root_started)
        if done.removed_snapshots:
            print(
                f"history of {spec.name}: rolled back {done.removed_snapshots} commits ({done.removed_rows} rows) "
                f"made after {restore.kind} {restore.path.name}; the job replays them",
                file=sys.stderr,
            )


def prepare_sinks(specs: Sequence[ViewSpec], settings: Settings, catalog: CatalogConfig) -> None:
    """Create the dead-letter topic, and each view's Cassandra table and Iceberg history table."""
    ensure_topic(settings.kafka.bootstrap, dead_letter_topic(topic_of(specs)), 1, KEEP_FOREVER)
    for spec in specs:
        ensure_view_table(CassandraSinkConfig.for_view(spec, settings), spec)
        ensure_history_table(catalog, history_table(spec))


def job_name(specs: Sequence[ViewSpec]) -> str:
    return f"skewless {topic_of(specs)}: {', '.join(s.uid for s in specs)}"


def default_group_id(specs: Sequence[ViewSpec]) -> str:
    """Per topic and set of view versions: a job with other views starts from the beginning."""
    return f"skewless-{topic_of(specs)}-{'+'.join(sorted(s.uid for s in specs))}"


def choose_restore(lineage: Lineage, savepoint: str | None, from_scratch: bool, bounded: bool) -> RestorePoint | None:
    """What the job starts from: a given savepoint, else (unbounded) the lineage's newest
    checkpoint or savepoint, else nothing (a rebuild from the whole topic)."""
    if savepoint:
        if from_scratch:
            raise SpecError("--savepoint and --from-scratch exclude each other")
        return lineage.identify(restore_point_at(savepoint))
    if from_scratch or bounded:
        return None
    newest = lineage.newest()
    return lineage.identify(newest) if newest else None


def run(
    specs: Sequence[ViewSpec],
    settings: Settings,
    catalog: CatalogConfig,
    options: RunOptions,
    schemas: list[Path],
    savepoint: str | None = None,
    ignore_unclaimed_state: bool = False,
    from_scratch: bool = False,
    cluster: str | None = None,
    resubmit_argv: Sequence[str] = (),
) -> float:
    """Run the pipeline to completion (bounded) or forever; returns the wall time in seconds.
    With `cluster` (a REST URL) the job is submitted there detached, recorded as the
    lineage's deployment (`resubmit_argv`: the arguments that submit it again), and this returns.

    A job that finishes (bounded, or stopped with a savepoint) prints its summary on stdout
    as one JSON line (skewless.summary)."""
    lineage = Lineage(settings.home, topic_of(specs), [s.uid for s in specs])
    running = lineage.running()
    if running:
        raise SpecError(f"a job of {lineage.name} is running already (pid {running['pid']}); stop it with `skewless stop`")
    if cluster is not None:
        _refuse_second_deployment(settings, lineage)
    restore = choose_restore(lineage, savepoint, from_scratch, options.bounded)
    prepare_sinks(specs, settings, catalog)
    prepare_history(specs, catalog, lineage, restore)
    print(
        f"{lineage.name}: " + (f"resuming from {restore.kind} {restore.path}" if restore else "starting from the earliest offsets"),
        file=sys.stderr,
    )
    env, t_env = make_environment(settings, lineage, restore, options.bounded, ignore_unclaimed_state, cluster)
    build_pipeline(env, t_env, specs, settings, catalog, [p.read_text() for p in schemas], options)
    started = time.monotonic()
    client = env.execute_async(job_name(specs))
    job_id = str(client.get_job_id())
    lineage.record_start(job_id, int(time.time() * 1000), restore)
    if cluster is not None:
        deployments.save(settings.home, deployments.Deployment(
            lineage=lineage.name, topic=topic_of(specs), views=tuple(sorted(s.uid for s in specs)),
            argv=tuple(resubmit_argv), cluster=cluster, parallelism=settings.job.parallelism,
            job_id=job_id, submitted_at_ms=int(time.time() * 1000),
        ))  # fmt: skip
        print(f"submitted job {job_id} to {cluster}", file=sys.stderr)
        return time.monotonic() - started
    lineage.mark_running(job_id, os.getpid())
    try:
        accumulators = await_job(client, job_id, lineage)
    finally:
        lineage.clear_running()
    if accumulators is not None:
        labels = [view_label(s) for s in specs]
        print(summary_line(summarize(accumulators, topic_of(specs), labels)), flush=True)
    return time.monotonic() - started


def _refuse_second_deployment(settings: Settings, lineage: Lineage) -> None:
    """One job per lineage: two would write the same tables and commit the same offsets."""
    deployed = deployments.load(settings.home, lineage.name)
    if deployed is None or deployed.cluster == deployments.LOCAL:
        return
    job = FlinkRest(deployed.cluster).job(deployed.job_id) if FlinkRest(deployed.cluster).answers() else None
    if job is not None and job.alive:
        raise SpecError(f"{lineage.name} is deployed already as job {job.job_id} ({job.state}) on {deployed.cluster}; "
                        "`skewless stop` it first, or `skewless upgrade`")


def await_job(client: JobClient, job_id: str, lineage: Lineage) -> dict[str, Any] | None:
    """Wait for the job to end, serving `skewless stop`: SIGUSR1 stops it with a savepoint in
    the lineage's folder, SIGTERM cancels it (its checkpoints are retained either way).

    Returns the accumulators of a job that finished (or was stopped), None for a cancelled one."""
    requests: list[int] = []
    for signum in (signal.SIGUSR1, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: requests.append(number))
    result = client.get_job_execution_result()
    stopped = False
    while not result.done():
        if requests:
            stopped = True
            if requests[0] == signal.SIGUSR1:
                path = stop_with_savepoint(client, lineage.savepoint_dir.as_uri())
                lineage.record_savepoint(job_id, path)
                print(f"savepoint: {path}", file=sys.stderr)
            else:
                client.cancel().result()
            break
        time.sleep(0.2)
    try:
        return result.result().get_all_accumulator_results()
    except Exception:  # a cancelled job's result is an error; a stopped one is not a failure
        if not stopped:
            raise
        return None


def stop_with_savepoint(client: JobClient, folder: str) -> str:
    """Stop-with-savepoint (no drain: timers stay pending in the savepoint); returns its path.
    PyFlink 2.1's wrapper misses Flink 2's format argument, so the Java client is called."""
    from pyflink.common.completable_future import CompletableFuture
    from pyflink.java_gateway import get_gateway

    canonical = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    return CompletableFuture(client._j_job_client.stopWithSavepoint(False, folder, canonical), str).result()


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
    parser.add_argument("--from-scratch", action="store_true", help="ignore retained state: rebuild from the whole topic")
    parser.add_argument("--cluster", default=None, metavar="URL",
                        help="submit, detached, to the session cluster at this REST URL (unbounded only)")
    parser.add_argument("--parallelism", type=int, default=None, help="default: SKEWLESS_JOB_PARALLELISM")
    args = parser.parse_args(argv)
    if args.cluster and args.bounded:
        parser.error("--cluster runs unbounded jobs; drop --bounded")
    if args.parallelism is not None and args.parallelism < 1:
        parser.error("--parallelism must be at least 1")
    specs = [ViewSpec.from_dict(json.loads(p.read_text())) for p in args.spec]
    try:
        settings = load_settings()
        if args.parallelism is not None:
            settings = settings.model_copy(update={"job": settings.job.model_copy(update={"parallelism": args.parallelism})})
        options = RunOptions(args.bounded, args.until, args.group_id or default_group_id(specs))
        catalog = CatalogConfig.from_settings(settings)
        # A resubmission resumes from the newest checkpoint: no savepoint, no rebuild.
        again = _without(list(argv if argv is not None else sys.argv[1:]), {"--savepoint": 1, "--from-scratch": 0,
                                                                              "--ignore-unclaimed-state": 0})
        run(specs, settings, catalog, options, args.schema, args.savepoint, args.ignore_unclaimed_state,
            args.from_scratch, args.cluster, again)
    except SkewlessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _without(argv: list[str], flags: dict[str, int]) -> list[str]:
    """argv without the given flags (each with its number of values; --flag=value too)."""
    out, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
        elif arg in flags:
            skip = flags[arg]
        elif arg.split("=", 1)[0] not in flags:
            out.append(arg)
    return out


if __name__ == "__main__":
    sys.exit(main())
