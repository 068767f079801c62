from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from connectors.cassandra.reader import OnlineReader, OnlineReaderConfig, epoch_ms


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


class _FakeSession:
    def prepare(self, query: str) -> object:
        return object()


def test_list_features_must_be_read_features():
    with pytest.raises(pydantic.ValidationError, match="not among feature_columns"):
        OnlineReaderConfig(keyspace="ks", table="t", key_column="id", feature_columns=("a",), list_features=("b",))


def test_a_null_list_cell_of_a_live_row_reads_as_the_empty_list():
    # Cassandra stores [] as null; the job never writes a null list (last_n gives [] when empty).
    config = OnlineReaderConfig(keyspace="ks", table="t", key_column="id", feature_columns=("xs", "avg", "ys"),
                                list_features=("xs", "ys"), ttl_ms=1000)
    reader = OnlineReader(config, session=_FakeSession())  # type: ignore[arg-type]
    t = datetime(2024, 1, 1)
    live = reader.live_row((t, None, None, [1.5, 2.0]), epoch_ms(t) + 1000)
    assert live is not None and live.values == {"xs": [], "avg": None, "ys": [1.5, 2.0]}
    again = reader.live_row((t, None, None, None), epoch_ms(t))
    assert again is not None and again.values["xs"] == [] and again.values["xs"] is not live.values["xs"]
    assert reader.live_row((t, None, None, None), epoch_ms(t) + 1001) is None  # expired: no value at all
    assert reader.live_row(None, epoch_ms(t)) is None  # no row
    assert reader.live_row((None, None, None, None), epoch_ms(t)) is None  # no valid_from: never written


def test_without_list_features_a_null_cell_stays_null():
    config = OnlineReaderConfig(keyspace="ks", table="t", key_column="id", feature_columns=("xs",))
    reader = OnlineReader(config, session=_FakeSession())  # type: ignore[arg-type]
    t = datetime(2024, 1, 1)
    assert reader.live_row((t, None), epoch_ms(t)).values == {"xs": None}  # type: ignore[union-attr]


def test_for_view_marks_the_list_features():
    from skewless.settings import Settings
    from skewless.spec import FeatureSpec, ViewSpec

    spec = ViewSpec("recent", 1, "user_id", "events", "ts", ttl_ms=60_000, features=(
        FeatureSpec("last3", "last_n", "amount", None, params=(("n", 3),)),
        FeatureSpec("n", "count", None, None),
    ))
    config = OnlineReaderConfig.for_view(spec, Settings())
    assert config.list_features == ("last3",)
    assert config.feature_columns == ("last3", "n")
