"""The dead-letter sink's table: exactly once, with transactional ids and a timeout the broker takes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jobs.sources import (
    DEAD_LETTER_MAX_REQUEST_BYTES,
    DEAD_LETTER_TRANSACTION_TIMEOUT_MS,
    TRANSACTIONAL_ID_PREFIX_MAX,
    dead_letter_sink_ddl,
    transactional_id_prefix,
)
from skewless.devstack.kafka import render_server_properties

FLINK_CONF = Path(__file__).resolve().parents[3] / "flink-conf" / "config.yaml"
KAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1_048_588
KAFKA_DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = 900_000


def options(ddl: str) -> dict[str, str]:
    return dict(re.findall(r"'([^']+)' = '([^']*)'", ddl))


def test_the_sink_is_exactly_once_with_a_stable_prefix_per_lineage() -> None:
    ddl = options(dead_letter_sink_ddl("t", "orders.dead-letters", "localhost:9092", "skewless-orders-a-v1+b-v2"))
    assert ddl["sink.delivery-guarantee"] == "exactly-once"
    assert ddl["sink.transactional-id-prefix"] == transactional_id_prefix("orders.dead-letters", "skewless-orders-a-v1+b-v2")
    again = options(dead_letter_sink_ddl("t", "orders.dead-letters", "other:9092", "skewless-orders-a-v1+b-v2"))
    assert again["sink.transactional-id-prefix"] == ddl["sink.transactional-id-prefix"]
    other = options(dead_letter_sink_ddl("t", "orders.dead-letters", "localhost:9092", "skewless-orders-a-v1+b-v3"))
    assert other["sink.transactional-id-prefix"] != ddl["sink.transactional-id-prefix"]


def test_prefixes_are_plain_short_and_apart_for_lineages_that_clean_alike() -> None:
    for lineage in ("skewless-t-a-v1+b-v2", "ä ö/ü" * 40, "x" * 500, "'; DROP"):
        prefix = transactional_id_prefix("t.dead-letters", lineage)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", prefix) and len(prefix) <= TRANSACTIONAL_ID_PREFIX_MAX
    assert transactional_id_prefix("t", "a+b") != transactional_id_prefix("t", "a_b")
    assert transactional_id_prefix("t", "x" * 500) != transactional_id_prefix("t", "x" * 501)
    assert transactional_id_prefix("t", "a+b").startswith("t-a_b-")


def test_the_transaction_timeout_fits_the_broker_and_outlasts_a_checkpoint(tmp_path: Path) -> None:
    ddl = options(dead_letter_sink_ddl("t", "t.dead-letters", "localhost:9092", "lineage"))
    timeout = int(ddl["properties.transaction.timeout.ms"])
    assert timeout == DEAD_LETTER_TRANSACTION_TIMEOUT_MS
    broker = dict(
        line.split("=", 1)
        for line in render_server_properties(port=1, controller_port=2, data_dir=tmp_path).splitlines()
        if line and not line.startswith("#")
    )
    assert timeout <= int(broker["transaction.max.timeout.ms"])
    assert timeout <= KAFKA_DEFAULT_TRANSACTION_MAX_TIMEOUT_MS  # a broker with Kafka's default takes it too
    checkpointing = yaml.safe_load(FLINK_CONF.read_text())["execution"]["checkpointing"]
    seconds = {"s": 1, "min": 60}
    longest = sum(int(n) * seconds[unit] for n, unit in (checkpointing[k].split() for k in ("interval", "timeout")))
    assert timeout > 2 * longest * 1000  # a checkpoint at its slowest, then time to restart


def test_the_producer_takes_a_whole_letter_and_the_broker_takes_the_request() -> None:
    ddl = options(dead_letter_sink_ddl("t", "t.dead-letters", "localhost:9092", "lineage"))
    assert int(ddl["properties.max.request.size"]) == DEAD_LETTER_MAX_REQUEST_BYTES <= KAFKA_DEFAULT_MESSAGE_MAX_BYTES
