"""Read a dead-letter topic: the committed letters only.

The job writes letters in Kafka transactions that commit with its checkpoints
(jobs/sources.py). A reader must ask for read_committed: otherwise it also gets the letters
of aborted transactions, which a restarted job writes again (duplicates). Committed letters
appear when the checkpoint after them completes; a bounded run's final checkpoint commits
its last ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from skewless.errors import SkewlessError


@dataclass(frozen=True)
class DeadLetter:
    value: bytes
    headers: dict[str, str]  # skewless.* headers, UTF-8 text
    partition: int  # where the letter lies in the dead-letter topic
    offset: int

    @property
    def origin(self) -> tuple[str, int, int]:
        """The refused record's topic, partition and offset."""
        h = self.headers
        return h["skewless.source.topic"], int(h["skewless.source.partition"]), int(h["skewless.source.offset"])

    @property
    def size(self) -> int:
        """Value plus header keys and values, in bytes: what io.skewless.flink.DeadLetters bounds."""
        return len(self.value) + sum(len(k.encode()) + len(v.encode()) for k, v in self.headers.items())


def read_dead_letters(bootstrap: str, topic: str, committed_only: bool = True, timeout_s: float = 60.0) -> list[DeadLetter]:
    """Every letter of `topic` up to its current end (the last stable offset when
    `committed_only`), in partition and offset order."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            raise SkewlessError(f"no topic {topic} at {bootstrap}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise SkewlessError(f"reading {topic} took over {timeout_s:.0f} s")
            for batch in consumer.poll(timeout_ms=500).values():
                letters += [
                    DeadLetter(m.value, {k: v.decode() for k, v in m.headers}, m.partition, m.offset) for m in batch
                ]
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        consumer.close()
