"""The edges of the job: how the Kafka source watermarks, and the dead-letter sink.

The source (built from the job spec, jobs.operators) decodes each record as it reads it (a bad record becomes a row with an error,
then a dead letter, instead of failing the job) and derives watermarks per partition from
the decoded event time, never from the producer's record timestamp.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EventTimeWatermarks:
    """How the source derives watermarks from event time."""

    out_of_orderness_ms: int
    # A partition silent this long stops holding back the others.
    idle_ms: int
    # An event time further than this ahead of the clock is dead-lettered and ignored.
    future_bound_ms: int


def _quote(value: str) -> str:
    return value.replace("'", "''")


# Flink appends "-<subtask>-<n>" to the prefix of the sink's transactional ids; short and
# plain, the ids read well in broker logs and ACLs.
TRANSACTIONAL_ID_PREFIX_MAX = 200
# A dead-letter transaction stays open from one checkpoint to the next, and a failed job's
# open one must outlive its restart (else the letters it held are lost and the next commit
# fails). So the timeout must exceed the longest checkpoint interval plus restart time
# (flink-conf: interval 10 s, timeout 5 min, 3 restarts 5 s apart), and it must not exceed
# the broker's transaction.max.timeout.ms (one hour on the local broker, 15 min by Kafka's
# default), which refuses longer ones. While a transaction is open, read_committed readers
# of the topic wait at it: a crashed job's letters hold them back up to this long.
DEAD_LETTER_TRANSACTION_TIMEOUT_MS = 15 * 60 * 1000
# The producer's bound on one record with its overhead: Kafka's default, just below the
# broker's default message.max.bytes (1048588). io.skewless.flink.DeadLetters.MAX_BYTES
# (value plus headers) stays below it by more than a record's overhead.
DEAD_LETTER_MAX_REQUEST_BYTES = 1_048_576


def transactional_id_prefix(topic: str, lineage: str) -> str:
    """A stable transactional-id prefix for the dead-letter sink of `lineage` writing `topic`:
    [A-Za-z0-9._-] only, at most TRANSACTIONAL_ID_PREFIX_MAX characters, and ending in a
    digest of the exact text, so lineages that read alike once cleaned stay apart."""
    text = f"{topic}-{lineage}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", text)[: TRANSACTIONAL_ID_PREFIX_MAX - len(digest) - 1]
    return f"{clean}-{digest}"


def dead_letter_sink_ddl(table: str, topic: str, bootstrap: str, lineage: str) -> str:
    """The dead-letter table: exactly once, in Kafka transactions committed with each checkpoint.

    Letters appear to read_committed consumers when the checkpoint after them completes
    (a bounded run's final checkpoint commits the last ones); read_uncommitted consumers
    would also see the letters of aborted transactions, i.e. duplicates after a restart.
    """
    return f"""
CREATE TEMPORARY TABLE `{table}` (
  `value` BYTES,
  `headers` MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '{_quote(topic)}',
  'properties.bootstrap.servers' = '{_quote(bootstrap)}',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '{transactional_id_prefix(topic, lineage)}',
  'properties.transaction.timeout.ms' = '{DEAD_LETTER_TRANSACTION_TIMEOUT_MS}',
  'properties.max.request.size' = '{DEAD_LETTER_MAX_REQUEST_BYTES}',
  'format' = 'raw'
)"""


def dead_letter_topic(source_topic: str) -> str:
    return f"{source_topic}.dead-letters"
