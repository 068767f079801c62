"""The progress line of every long-running command and benchmark: one meter, drawn by rich.

On a terminal the line redraws in place: the label, then, when the total is known, a bar,
percent, done/total, rate and ETA, then the elapsed time and a free-text note. In a log
or a pipe a redrawn line would leave carriage-return debris, so the same columns are
printed as one plain line every `log_every_s` seconds (and at the end); `log_every_s=None`
prints nothing there (for commands whose output may be captured data).

No refresh thread: the line is redrawn from the caller's own calls, at most every
`REDRAW_S`, so a meter inside a latency benchmark adds no thread to the process measured.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.text import Text

REDRAW_S = 0.1  # on a terminal, at most this often (the last draw always happens)
LOG_WIDTH = 240  # a log line is not wrapped at a terminal's 80 columns


def format_duration(seconds: float) -> str:
    """M:SS, or H:MM:SS from an hour on."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class _WithTotal(ProgressColumn):
    """A column shown only once the total is known (rich would pulse a bar without one)."""

    def __init__(self, inner: ProgressColumn) -> None:
        super().__init__()
        self.inner = inner

    def render(self, task: Task) -> Any:
        return self.inner.render(task) if task.total is not None else Text("")


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{int(task.completed):,}/{int(task.total or 0):,}")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        return Text(f"{task.completed / elapsed:,.0f}/s" if elapsed > 0 and task.completed else "")


class _Times(ProgressColumn):
    """Elapsed, and the ETA while a known total is not reached."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        text = f"[{format_duration(elapsed)}]"
        if task.total and 0 < task.completed < task.total and elapsed > 0:
            text += f" ETA {format_duration((task.total - task.completed) * elapsed / task.completed)}"
        return Text(text)


class Meter:
    """`advance(n)` or `meter(done, total)` for counted work, `show(note)` for a status line,
    `done(note)` (or `close()`, or the end of a `with` block) to end the line; a step may end
    its line and the meter go on with the next one.

    `enabled` defaults to "the stream is a terminal or `log_every_s` is set"; False silences it.
    """

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 enabled: bool | None = None, log_every_s: float | None = 30.0) -> None:
        self.label = label
        stream = stream if stream is not None else sys.stderr
        self.tty = stream.isatty()
        self.enabled = (self.tty or log_every_s is not None) if enabled is None else enabled
        self.log_every_s = log_every_s
        self.started = time.monotonic()
        console = Console(file=stream, force_terminal=self.tty, width=None if self.tty else LOG_WIDTH,
                          highlight=False, soft_wrap=not self.tty)
        counted = (BarColumn(bar_width=28), TaskProgressColumn(), _Count(), _Rate())
        columns = [TextColumn("{task.description}:"), *map(_WithTotal, counted), _Times(), TextColumn("{task.fields[note]}")]
        self._progress = Progress(*columns, console=console, auto_refresh=False, transient=False,
                                  disable=not (self.enabled and self.tty))
        self._task = self._progress.add_task(label, total=total, note="")
        self._drawn_at = 0.0
        self._logged_at = self.started
        self._live = False  # a terminal line is being redrawn

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)
        self._draw()

    def __call__(self, done: int, total: int | None = None) -> None:
        """Progress callback form: `done` of `total` so far."""
        self._progress.update(self._task, completed=done, **({"total": total} if total is not None else {}))
        self._draw(final_count=total is not None and done >= total)

    def show(self, note: str, force: bool = False) -> None:
        self._progress.update(self._task, note=note)
        self._draw(force=force)

    def done(self, note: str | None = None) -> float:
        """Draw the line a last time and end it; the seconds since the meter started."""
        if note is not None:
            self._progress.update(self._task, note=note)
        if self.enabled and self.tty:
            self._draw(force=True)
            self._progress.stop()
            self._live = False
        elif self.enabled:
            self._log()
        return self.elapsed

    close = done

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()

    def _draw(self, force: bool = False, final_count: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if not self._live:
                self._live = True
                self._progress.start()
            if force or final_count or now - self._drawn_at >= REDRAW_S:
                self._drawn_at = now
                self._progress.refresh()
        elif self.log_every_s is not None and (force or now - self._logged_at >= self.log_every_s):
            self._log()

    def _log(self) -> None:
        self._logged_at = time.monotonic()
        self._progress.console.print(self._progress.make_tasks_table(self._progress.tasks))
