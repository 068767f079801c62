from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from connectors.cassandra.reader import OnlineReaderConfig, epoch_ms


def test_epoch_ms_reads_naive_driver_datetimes_as_utc():
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 999_000)) == 1999
    assert epoch_ms(datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=2)))) == epoch_ms(datetime(2023, 12, 31, 22))
    assert epoch_ms(datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)) == -1


def test_valid_from_is_selected_once_even_when_it_is_also_a_feature():
    config = OnlineReaderConfig(keyspace="ks", table="t", key_column="id", feature_columns=("a", "valid_from"))
    assert config.selected_columns == ("valid_from", "a")


def test_reader_needs_features():
    with pytest.raises(pydantic.ValidationError, match="feature_columns is empty"):
        OnlineReaderConfig(keyspace="ks", table="t", key_column="id", feature_columns=())
