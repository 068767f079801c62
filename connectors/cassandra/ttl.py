"""The TTL rule, in one place: online reads and point-in-time joins both use it.

An update with `valid_from` (epoch ms) is live at instant `now` (epoch ms) while it is at
most `ttl_ms` old: a value exactly `ttl_ms` old is still present, one strictly older is
absent. A TTL of None or <= 0 means the view never expires.

Cassandra's own TTL is only a storage backstop, set so it never removes a value earlier
than this rule (see `io.skewless.flink.StorageTtl`); reads apply this rule either way.
"""

from __future__ import annotations


def is_live(valid_from_ms: int, now_ms: int, ttl_ms: int | None) -> bool:
    """True when the update that became valid at `valid_from_ms` is still served at `now_ms`."""
    if ttl_ms is None or ttl_ms <= 0:
        return True
    return valid_from_ms >= now_ms - ttl_ms


def oldest_live_valid_from(now_ms: int, ttl_ms: int) -> int:
    """The smallest `valid_from` still live at `now_ms` (for range predicates, e.g. in SQL)."""
    return now_ms - ttl_ms
