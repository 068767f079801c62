"""Aggregations over tiled windows, and the rule that names the features they produce.

Naming rule (deterministic, from the definition alone):

    {op}{params}_{column}_{window}        e.g. avg_amount_30d, max_amount_7d
    {op}{params}_{window}                 when there is no column: count_30d

- `window` is the window length in its largest exact unit (30d, 36h, 90s, 250ms), or
  `lifetime`; the hop is not part of the name.
- `params` given explicitly (defaults are not) are appended in name order as
  `_{name}{value}`, except that a parameter the
  operation's name already ends with is written as just its value: last_n with n=5 gives
  `last_n5_amount_lifetime`; approx_percentile with q=0.95 gives
  `approx_percentile_q0_95_amount_7d` (in values, "." becomes "_" and "-" becomes "m").

`name=` overrides the rule: a plain name for an aggregation with one window, or a
template with `{window}` (e.g. "spend_{window}") for several windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from skewless.dsl.durations import Duration, label, to_ms
from skewless.errors import SpecError
from skewless.operations import OPERATIONS, check_params

_MAX_TILES = 10_000


@dataclass(frozen=True, init=False)
class Window:
    """A tiled window: `Window("30d", hop="1d")`, or `Window.lifetime()` for all events ever seen.

    The value at instant t covers events in [floor(t/hop)*hop - size + hop, t], so the hop
    is both the state's granularity and how often an old event stops counting.
    """

    window_ms: int | None
    hop_ms: int | None

    def __init__(self, size: Duration, hop: Duration | None = None) -> None:
        if isinstance(size, str) and size.strip().lower() == "lifetime":
            raise SpecError("Window('lifetime'): write Window.lifetime() for a window over all events ever seen")
        window_ms = to_ms(size, "Window size")
        if hop is None:
            raise SpecError(
                f"Window({size!r}) needs a hop, e.g. Window({size!r}, hop=...): the hop is the tile size; "
                "the value at t covers [floor(t/hop)*hop - size + hop, t]"
            )
        hop_ms = to_ms(hop, f"Window({size!r}) hop")
        if hop_ms > window_ms or window_ms % hop_ms:
            raise SpecError(
                f"Window({size!r}, hop={hop!r}): the hop {label(hop_ms)} must divide the window {label(window_ms)}; "
                f"pick a hop such as {label(_largest_divisor_hop(window_ms))}"
            )
        if window_ms // hop_ms > _MAX_TILES:
            raise SpecError(
                f"Window({size!r}, hop={hop!r}) has {window_ms // hop_ms} tiles, over {_MAX_TILES}; use a larger hop"
            )
        object.__setattr__(self, "window_ms", window_ms)
        object.__setattr__(self, "hop_ms", hop_ms)

    @classmethod
    def lifetime(cls) -> Window:
        window = cls.__new__(cls)
        object.__setattr__(window, "window_ms", None)
        object.__setattr__(window, "hop_ms", None)
        return window

    @property
    def label(self) -> str:
        return "lifetime" if self.window_ms is None else label(self.window_ms)

    def __repr__(self) -> str:
        if self.window_ms is None:
            return "Window.lifetime()"
        return f"Window({label(self.window_ms)!r}, hop={label(self.hop_ms or 0)!r})"


def _largest_divisor_hop(window_ms: int) -> int:
    """A friendly hop suggestion: the largest common unit that divides the window."""
    for unit in (86_400_000, 3_600_000, 60_000, 1_000, 1):
        if window_ms % unit == 0 and window_ms // unit <= _MAX_TILES:
            return unit
    return window_ms


@dataclass(frozen=True)
class Aggregation:
    """`op` over `column` for each of `windows`: one feature per window.

    `column` is None only for count. `params` holds the operation's parameters, checked by
    the operation catalogue (skewless.operations), so what compiles is what runs:
    last_n needs n, approx_percentile needs q; others take optional tuning parameters.
    `name` overrides the naming rule (see the module doc).
    """

    column: str | None
    op: str
    windows: Sequence[Window] = field(default=())
    params: Mapping[str, float | int] | tuple[tuple[str, float | int], ...] = field(default=())
    name: str | None = None

    def __post_init__(self) -> None:
        what = f"Aggregation({self.column!r}, {self.op!r})"
        if self.op not in OPERATIONS:
            raise SpecError(f"{what}: unknown operation {self.op!r}; use one of {', '.join(sorted(OPERATIONS))}")
        if self.column is None and OPERATIONS[self.op].needs_column:
            raise SpecError(f"{what}: operation {self.op!r} needs a column")
        if self.column is not None and (not isinstance(self.column, str) or not self.column.isidentifier()):
            raise SpecError(f"{what}: column must be an identifier naming an event field or derived column")
        windows = (self.windows,) if isinstance(self.windows, Window) else tuple(self.windows)
        if not windows or not all(isinstance(w, Window) for w in windows):
            raise SpecError(f"{what}: windows must be a non-empty list of Window, e.g. [Window('30d', hop='1d')]")
        if len(set(windows)) != len(windows):
            raise SpecError(f"{what}: the same window is listed twice in {list(windows)}")
        object.__setattr__(self, "windows", windows)
        params = dict(self.params.items() if isinstance(self.params, Mapping) else self.params)
        object.__setattr__(self, "params", tuple(sorted(params.items())))
        try:
            check_params(self.op, params)
        except SpecError as exc:
            raise SpecError(f"{what}: {exc}; set them with params={{...}}") from exc
        if self.name is not None:
            self._check_name(what, windows)

    def _check_name(self, what: str, windows: tuple[Window, ...]) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"{what}: name must be a string")
        if "{window}" not in self.name and len(windows) > 1:
            raise SpecError(
                f"{what}: name={self.name!r} would name {len(windows)} features alike; "
                "use a template with {window}, e.g. name='spend_{window}'"
            )
        for window in windows:
            name = self.name.replace("{window}", window.label)
            if not name.isidentifier():
                raise SpecError(f"{what}: name {name!r} must be a valid identifier")

    def features(self) -> list[tuple[str, Window]]:
        """(feature name, window) for each window, in definition order."""
        return [(self.feature_name(w), w) for w in self.windows]  # type: ignore[union-attr]

    def feature_name(self, window: Window) -> str:
        if self.name is not None:
            return self.name.replace("{window}", window.label)
        op = self.op
        for key, value in self.params:  # type: ignore[misc]
            rendered = _render(value)
            op += rendered if self.op.endswith(f"_{key}") else f"_{key}{rendered}"
        parts = [op] if self.column is None else [op, self.column]
        return "_".join([*parts, window.label])


def _render(value: float | int) -> str:
    text = str(value) if isinstance(value, int) else format(value, "g")
    return text.replace(".", "_").replace("-", "m").replace("+", "")
