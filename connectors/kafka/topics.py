"""Create topics idempotently. The local broker does not auto-create topics, on purpose:
a mistyped name should fail, not quietly start an empty topic."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from skewless.errors import SkewlessError

# Dead letters and synthetic events (whose times lie in the past) must not be aged out
# by time-based retention.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


def ensure_topic(bootstrap: str, topic: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skewless-admin")
    except Exception as exc:
        raise SkewlessError(f"cannot reach Kafka at {bootstrap}: {exc}; is the stack up (`skewless stack up`)?") from exc
    try:
        new = NewTopic(topic, num_partitions=partitions, replication_factor=1, topic_configs=configs or {})
        admin.create_topics([new])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
