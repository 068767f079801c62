"""Reach the brokers and create topics idempotently, with errors that say what to fix.

The local broker does not auto-create topics, on purpose: a mistyped name should fail,
not quietly start an empty topic.
"""

from __future__ import annotations

import re

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from skewless.errors import ConfigError, SkewlessError

# Dead letters and synthetic events (whose times lie in the past) must not be aged out
# by time-based retention.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
# Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic).
_LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]+")
MAX_TOPIC_LENGTH = 249
# A broker on a reachable network answers in milliseconds; waiting Kafka's default 30 s
# only delays the message that it is not there.
REACH_TIMEOUT_MS = 3_000


class KafkaUnreachableError(SkewlessError):
    """No broker answered at the bootstrap address."""


def check_topic_name(topic: str) -> None:
    """ConfigError unless Kafka would accept `topic` as a name."""
    if topic in ("", ".", ".."):
        raise ConfigError(f"topic {topic!r} is not a valid Kafka topic name: it must not be empty, '.' or '..'")
    if len(topic) > MAX_TOPIC_LENGTH or not _LEGAL_TOPIC.fullmatch(topic):
        raise ConfigError(
            f"topic {topic!r} is not a valid Kafka topic name: use at most {MAX_TOPIC_LENGTH} characters, "
            "each a letter, digit, '.', '_' or '-'"
        )


def unreachable(bootstrap: str) -> KafkaUnreachableError:
    return KafkaUnreachableError(
        f"cannot reach Kafka at {bootstrap}: start the local stack with `skewless stack up`, "
        "or point SKEWLESS_KAFKA_BOOTSTRAP at a running broker"
    )


def admin_client(bootstrap: str, client_id: str = "skewless-admin") -> KafkaAdminClient:
    """An admin client of the cluster at `bootstrap`, or KafkaUnreachableError within a few seconds."""
    try:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            bootstrap_timeout_ms=REACH_TIMEOUT_MS,
        )
    except (KafkaError, OSError) as exc:
        raise unreachable(bootstrap) from exc


def check_reachable(bootstrap: str) -> None:
    """KafkaUnreachableError unless a broker answers at `bootstrap`."""
    admin_client(bootstrap, "skewless-probe").close()


def check_topic_exists(bootstrap: str, topic: str) -> None:
    """SkewlessError unless `topic` exists: an unbounded job on a missing topic would restart
    for ever, failing to list its partitions."""
    admin = admin_client(bootstrap, "skewless-probe")
    try:
        known = set(admin.list_topics())
    except KafkaError as exc:
        raise SkewlessError(f"Kafka at {bootstrap} did not list its topics: {type(exc).__name__}") from exc
    finally:
        admin.close()
    if topic not in known:
        raise SkewlessError(f"topic {topic!r} does not exist on {bootstrap}; produce to it "
                            f"(`skewless produce --topic {topic}`) or create it first")


def ensure_topic(bootstrap: str, topic: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    check_topic_name(topic)
    admin = admin_client(bootstrap)
    try:
        new = NewTopic(topic, num_partitions=partitions, replication_factor=1, topic_configs=configs or {})
        admin.create_topics([new])
    except TopicAlreadyExistsError:
        pass
    except KafkaError as exc:
        raise SkewlessError(f"Kafka at {bootstrap} refused to create topic {topic!r}: {type(exc).__name__}") from exc
    finally:
        admin.close()
