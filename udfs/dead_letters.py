"""The dead-letter record: the original bytes plus why and where from, as Kafka headers."""

from __future__ import annotations

from pyflink.common import Row
from pyflink.common.typeinfo import Types

DEAD_LETTER_TYPE = Types.ROW_NAMED(
    ["value", "headers"],
    [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.MAP(Types.STRING(), Types.PRIMITIVE_ARRAY(Types.BYTE()))],
)


def dead_letter(value: bytes, reason: str, stage: str, topic: str, partition: int, offset: int) -> Row:
    headers = {
        "skewless.reason": reason.encode(),
        "skewless.stage": stage.encode(),
        "skewless.source.topic": topic.encode(),
        "skewless.source.partition": str(partition).encode(),
        "skewless.source.offset": str(offset).encode(),
    }
    return Row(value, headers)
