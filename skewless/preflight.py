"""What a job would find out only after its JVM started, checked in a second beforehand.

A Flink job takes seconds to start and reports a bad restore path or an absent broker as a
Java stack trace (the restore path after about 90 s); these checks name the problem first.
"""

from __future__ import annotations

from connectors.kafka.topics import check_reachable, check_topic_name
from skewless.checkpoints import restore_point_at


def check_job_inputs(topic: str, bootstrap: str, savepoint: str | None) -> None:
    """ConfigError for a bad topic name, SkewlessError for a bad restore path,
    KafkaUnreachableError for no broker."""
    check_topic_name(topic)
    if savepoint:
        restore_point_at(savepoint)
    check_reachable(bootstrap)
