"""The naming rule: {op}{params}_{column}_{window}; name= overrides it."""

import pytest

from skewless.dsl import Aggregation, Window
from skewless.errors import SpecError

DAY = Window("30d", hop="1d")


@pytest.mark.parametrize(
    ("agg", "names"),
    [
        (Aggregation("amount", "avg", [DAY]), ["avg_amount_30d"]),
        (Aggregation(None, "count", [Window("7d", hop="1d")]), ["count_7d"]),
        (Aggregation("amount", "sum", [Window("1d", hop="1h"), Window("90s", hop="30s")]), ["sum_amount_1d", "sum_amount_90s"]),
        (Aggregation("amount", "last_n", [Window.lifetime()], params={"n": 5}), ["last_n5_amount_lifetime"]),
        (Aggregation("amount", "approx_percentile", [DAY], params={"q": 0.95}), ["approx_percentile_q0_95_amount_30d"]),
        (Aggregation("merchant", "count_distinct", [DAY], params={"max_size": 500}),
         ["count_distinct_max_size500_merchant_30d"]),
        (Aggregation("amount", "max", [Window("36h", hop="1h")]), ["max_amount_36h"]),
        (Aggregation("amount", "avg", [DAY], name="mean_spend_30d"), ["mean_spend_30d"]),
        (Aggregation("amount", "avg", [DAY, Window("7d", hop="1d")], name="spend_{window}"), ["spend_30d", "spend_7d"]),
    ],
)
def test_feature_names_follow_the_rule(agg: Aggregation, names: list[str]) -> None:
    assert [name for name, _ in agg.features()] == names


def test_equal_windows_name_alike_whatever_their_spelling() -> None:
    assert Window("24h", hop="60m") == Window("1d", hop="1h")
    assert Aggregation("amount", "sum", [Window("24h", hop="1h")]).features()[0][0] == "sum_amount_1d"


def test_a_plain_name_for_several_windows_must_be_a_template() -> None:
    with pytest.raises(SpecError, match=r"use a template with \{window\}"):
        Aggregation("amount", "avg", [DAY, Window("7d", hop="1d")], name="spend")
    with pytest.raises(SpecError, match="must be a valid identifier"):
        Aggregation("amount", "avg", [DAY], name="spend-30d")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"column": "amount", "op": "median", "windows": [DAY]}, "unknown operation 'median'; use one of"),
        ({"column": None, "op": "avg", "windows": [DAY]}, "operation 'avg' needs a column"),
        ({"column": "amount", "op": "avg", "windows": []}, "windows must be a non-empty list of Window"),
        ({"column": "amount", "op": "avg", "windows": ["30d"]}, "windows must be a non-empty list of Window"),
        ({"column": "amount", "op": "avg", "windows": [DAY, DAY]}, "the same window is listed twice"),
        ({"column": "amount", "op": "last_n", "windows": [DAY]}, "parameter 'n' is required; set them with params="),
        ({"column": "amount", "op": "last_n", "windows": [DAY], "params": {"n": 0}}, "n must be in [1, 1000], got 0"),
        ({"column": "amount", "op": "approx_percentile", "windows": [DAY], "params": {"q": 95}}, "q must be a number in"),
        ({"column": "amount", "op": "avg", "windows": [DAY], "params": {"n": 1}}, "unknown parameter(s) n; allowed: none"),
    ],
)
def test_aggregation_errors_say_what_to_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        Aggregation(**kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("30d", "7d"), "the hop 7d must divide the window 30d; pick a hop such as 1d"),
        (("1h", "2h"), "the hop 2h must divide the window 1h"),
        (("30d",), "needs a hop"),
        (("lifetime",), "write Window.lifetime()"),
        (("365d", "1s"), "tiles, over 10000; use a larger hop"),
        (("thirty days", "1d"), "cannot read duration 'thirty days'"),
    ],
)
def test_window_errors_say_what_to_fix(args: tuple, message: str) -> None:
    with pytest.raises(SpecError) as err:
        Window(*args)
    assert message in str(err.value)


def test_window_repr_reads_like_its_definition() -> None:
    assert repr(Window("720h", hop="24h")) == "Window('30d', hop='1d')"
    assert repr(Window.lifetime()) == "Window.lifetime()"
