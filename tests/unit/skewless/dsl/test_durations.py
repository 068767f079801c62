from datetime import timedelta

import pytest

from skewless.dsl.durations import label, to_ms
from skewless.errors import SpecError


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30d", 30 * 86_400_000), ("1h", 3_600_000), ("90s", 90_000), ("250ms", 250), ("2w", 14 * 86_400_000),
     ("1h30m", 5_400_000), (" 1D ", 86_400_000), (timedelta(minutes=1), 60_000)],
)
def test_durations_read_as_milliseconds(text: object, ms: int) -> None:
    assert to_ms(text, "ttl") == ms  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "30", "d", "1.5h", "1y", "-1h", "1h 2", 30, 1.5, None])
def test_bad_durations_say_how_to_write_one(bad: object) -> None:
    with pytest.raises(SpecError, match="ttl: "):
        to_ms(bad, "ttl")  # type: ignore[arg-type]


def test_zero_and_sub_millisecond_durations_are_refused_unless_allowed() -> None:
    with pytest.raises(SpecError, match="must be positive"):
        to_ms("0s", "ttl")
    assert to_ms("0s", "allowed_lateness", allow_zero=True) == 0
    with pytest.raises(SpecError, match="whole number of milliseconds"):
        to_ms(timedelta(microseconds=1500), "ttl")


@pytest.mark.parametrize(("ms", "text"), [(86_400_000, "1d"), (30 * 86_400_000, "30d"), (36 * 3_600_000, "36h"),
                                          (90_000, "90s"), (1_500, "1500ms"), (3_600_000, "1h")])
def test_labels_use_the_largest_exact_unit(ms: int, text: str) -> None:
    assert label(ms) == text
