"""The TTL rule at read time: OnlineReader.live_row judges a row at the instant it is given."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors.cassandra.reader import LiveRow, OnlineReader, OnlineReaderConfig

TTL = 30_000
VALID_FROM = datetime(2024, 5, 1, 12, 0, 0)  # the driver's naive UTC
VALID_FROM_MS = int(VALID_FROM.replace(tzinfo=UTC).timestamp() * 1000)


class FakeSession:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def prepare(self, text: str) -> object:
        self.statements.append(text)
        return object()


def reader(ttl_ms: int = TTL) -> OnlineReader:
    config = OnlineReaderConfig(
        keyspace="ks", table="t", key_column="id", feature_columns=("a", "b"), ttl_ms=ttl_ms,
        written_at_column="written_at",
    )
    return OnlineReader(config, session=FakeSession())


ROW = (VALID_FROM, VALID_FROM + timedelta(milliseconds=40), 1.5, [1.0, 2.0])


def test_the_statement_reads_written_at_after_valid_from():
    by_key, by_keys = reader()._session.statements
    assert by_key == 'SELECT "valid_from", "written_at", "a", "b" FROM "ks"."t" WHERE "id" = ?'
    # The IN read: the same columns, then the key, to match rows that come back in token order.
    assert by_keys == 'SELECT "valid_from", "written_at", "a", "b", "id" FROM "ks"."t" WHERE "id" IN ?'


def test_a_value_exactly_ttl_old_is_served():
    assert reader().live_row(ROW, VALID_FROM_MS + TTL) == LiveRow(
        {"a": 1.5, "b": [1.0, 2.0]}, VALID_FROM_MS, VALID_FROM_MS + 40
    )


def test_a_value_one_ms_older_than_the_ttl_is_absent():
    assert reader().live_row(ROW, VALID_FROM_MS + TTL + 1) is None


@pytest.mark.parametrize("now", [VALID_FROM_MS - 10**9, VALID_FROM_MS, VALID_FROM_MS + 10**12])
def test_without_ttl_values_never_expire(now):
    assert reader(ttl_ms=0).live_row(ROW, now) is not None


def test_no_row_or_a_row_without_valid_from_is_absent():
    assert reader().live_row(None, VALID_FROM_MS) is None
    assert reader().live_row((None, None, 1.0, None), VALID_FROM_MS) is None


def test_a_shared_session_is_left_open_on_close():
    r = reader()
    r.close()  # no cluster of its own: nothing to shut down, and no error
