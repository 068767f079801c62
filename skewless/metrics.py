"""The Prometheus series a skewless deployment exports: one catalogue, read by the checks of the
alert rules and the Grafana dashboard (they may name only these) and held to a real scrape by
tests/integration/monitoring (every per-view series must be there, by view).

Names are as Flink's Prometheus reporter renders them: the scope
(`flink_taskmanager_job_task_operator_` for an operator, `flink_jobmanager_job_` for the job) plus
each metric group's key, then the metric's name; each group's key is also a label. The job's own
metrics are defined in the JVM (io.skewless.flink: ViewEventsFunction, TileAggregatorFunction,
DecodeRecordsFunction, metrics.ViewSinkMetrics, metrics.FreshnessSlo); the others are Flink's,
the Kafka connector's and Iceberg's. docs/monitoring.md explains each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OPERATOR = "flink_taskmanager_job_task_operator_"
JOB = "flink_jobmanager_job_"
Kind = Literal["counter", "gauge", "histogram"]
# Where a series comes from: "view" (per view, labelled view=name@version), "topic" (per job's
# topic), "job" (Flink's job-level metrics), "serving" (skewless serve).
Scope = Literal["view", "topic", "job", "serving"]


@dataclass(frozen=True)
class Series:
    name: str
    kind: Kind
    scope: Scope
    labels: tuple[str, ...]
    meaning: str

    def names(self) -> tuple[str, ...]:
        """The names Prometheus stores: a histogram's bucket, count and sum series."""
        if self.kind != "histogram":
            return (self.name,)
        bucket = f"{self.name}_bucket"
        if self.name.startswith(OPERATOR + "view_"):
            # A job's buckets sit under the `le` metric group, whose key the reporter puts in the name.
            bucket = f"{OPERATOR}view_le_{self.name.removeprefix(OPERATOR + 'view_')}_bucket"
        return (bucket, f"{self.name}_count", f"{self.name}_sum")


def _view(name: str, kind: Kind, meaning: str, *labels: str) -> Series:
    return Series(OPERATOR + "view_" + name, kind, "view", ("view", *labels), meaning)


SERIES: tuple[Series, ...] = (
    _view("events_in", "counter", "records of the topic that reached the view's row logic (decoded)"),
    _view("events_filtered_out", "counter", "records the view's filter dropped (no dead letter)"),
    _view("updates_out", "counter", "feature updates the view emitted (events and tile expiries)"),
    _view("reason_code_dead_letters", "counter", "records the view refused, by reason", "reason_code"),
    _view("late_events", "counter", "events behind the allowed lateness (dead-lettered, reason late_event)"),
    _view("newest_event_time_ms", "gauge", "newest event time the view has seen, epoch ms"),
    _view("event_time_lag_ms", "gauge", "wall clock minus the newest event time, ms"),
    _view("freshness_seconds", "histogram",
          "wall clock at the Cassandra acknowledgement minus the written row's valid_from", "le"),
    _view("quantile_freshness_slo_seconds", "gauge",
          "the view's freshness_slo: the seconds its quantile of freshness must stay within", "quantile"),
    _view("cassandra_write_seconds", "histogram", "time from issuing a Cassandra write to its acknowledgement", "le"),
    _view("cassandra_write_errors", "counter", "Cassandra writes that failed after the driver's retries"),
    _view("checkpoint_age_seconds", "gauge", "seconds since the view's operator last saw a checkpoint complete"),
    Series(OPERATOR + "topic_reason_code_dead_letters", "counter", "topic", ("topic", "reason_code"),
           "records of the topic that could not be decoded, by reason"),
    Series(OPERATOR + "dead_letters_decode", "counter", "topic", (), "records the decode stage dead-lettered"),
    Series(OPERATOR + "dead_letters_logic", "counter", "topic", (), "records any view's row logic dead-lettered"),
    Series(OPERATOR + "pendingRecords", "gauge", "topic", (),
           "Kafka consumer lag: records of the source's partitions not yet read (Kafka source, per subtask)"),
    Series(OPERATOR + "KafkaSourceReader_KafkaConsumer_records_lag_max", "gauge", "topic", (),
           "the Kafka consumer's own records-lag-max over its partitions"),
    Series(OPERATOR + "IcebergFilesCommitter_table_elapsedSecondsSinceLastSuccessfulCommit", "gauge", "topic",
           ("table",), "seconds since the view's history table last committed a snapshot (Iceberg's committer)"),
    Series(JOB + "lastCheckpointDuration", "gauge", "job", (), "duration of the job's last completed checkpoint, ms"),
    Series(JOB + "lastCheckpointCompletedTimestamp", "gauge", "job", (),
           "epoch ms the job's last checkpoint completed (-1 before the first): its age is time() - this / 1000"),
    Series(JOB + "numberOfCompletedCheckpoints", "counter", "job", (), "checkpoints completed"),
    Series(JOB + "numberOfFailedCheckpoints", "counter", "job", (), "checkpoints failed"),
    Series(JOB + "numRestarts", "counter", "job", (), "restarts of the job since it was submitted"),
    Series(JOB + "runningTime", "gauge", "job", (), "ms the job has been RUNNING; 0 in any other state"),
    Series("skewless_requests_total", "counter", "serving", ("endpoint", "status"), "HTTP requests answered"),
    Series("skewless_request_duration_seconds", "histogram", "serving", ("endpoint",), "time to answer a request"),
    Series("skewless_cassandra_read_duration_seconds", "histogram", "serving", (), "time for one partition read"),
)


def exported_names() -> set[str]:
    """Every series name Prometheus stores for the catalogue."""
    return {name for series in SERIES for name in series.names()}


def bucket_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The q-quantile of a cumulative histogram ({upper bound: count <= it}, +Inf included), as
    Prometheus's histogram_quantile estimates it: linear within the bucket holding the rank; the
    highest finite bound when the rank falls in +Inf; None without observations.

    For readers of one scrape without a Prometheus (a status line, a benchmark): the job's
    freshness buckets of every subtask summed, cumulative since each writer opened.
    """
    if not 0 < q < 1:
        raise ValueError(f"a quantile is in (0, 1), got {q}")
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != float("inf"):
        raise ValueError("a histogram's buckets end with +Inf")
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return bounds[-2] if len(bounds) > 1 else None
            return lower + (bound - lower) * (rank - below) / (count - below) if count > below else bound
        lower, below = bound, count
    return None  # unreachable: the +Inf bucket holds every observation
