"""The period summaries: exact counts of rows and nulls, list lengths, distinct entities."""

from __future__ import annotations

import math

import pyarrow as pa

from skewless.monitor.sketches import FeatureSketch, PeriodSketch


def test_nulls_and_nan_count_as_null_and_the_rest_is_sketched() -> None:
    sketch = FeatureSketch()
    sketch.add(pa.array([1.0, None, math.nan, 4.0]))
    sketch.add(pa.chunked_array([pa.array([None, 6], pa.int64())]))
    assert (sketch.rows, sketch.nulls, sketch.null_rate) == (6, 3, 0.5)
    assert (sketch.values.n, sketch.values.get_min_value(), sketch.values.get_max_value()) == (3, 1.0, 6.0)
    assert FeatureSketch().null_rate is None


def test_booleans_are_zero_or_one_and_lists_their_length() -> None:
    flags = FeatureSketch()
    flags.add(pa.array([True, False, True]))
    assert flags.values.get_quantile(0.5) == 1.0
    lists = FeatureSketch()
    lists.add(pa.array([[1.0, 2.0], [], None, [3.0]], pa.list_(pa.float64())))
    assert (lists.rows, lists.nulls) == (4, 1)  # an empty list is a value (length 0), a null list is not
    assert sorted(lists.values.get_quantiles([0.0, 0.5, 1.0])) == [0.0, 1.0, 2.0]


def test_entities_of_several_keys_and_the_missing_ones() -> None:
    def period(rows: list[tuple[str, int]]) -> PeriodSketch:
        sketch = PeriodSketch.of(["x"])
        keys, ids = zip(*rows)
        batch = pa.record_batch({"k": list(keys), "n": list(ids), "x": [1.0] * len(rows)})
        sketch.add(batch, ["k", "n"])
        return sketch

    baseline = period([("a", 1), ("a", 2), ("b", 1), ("a", 1)])
    window = period([("a", 2), ("c", 1)])
    assert baseline.rows == 4 and baseline.entities.get_estimate() == 3
    assert baseline.missing_from(window) == (2.0, 3.0)  # (a, 1) and (b, 1)
