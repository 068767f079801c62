"""A one-line progress bar on stderr for long training-set builds (no dependency).

Drawn only on a terminal: in a log or a pipe it stays silent, so output files and
captured stderr hold no carriage-return debris.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28
REDRAW_S = 0.1  # at most this often, except the first and the last draw


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class ProgressBar:
    """Call as bar(done, total); close() ends the line. Inactive unless `enabled` (default:
    stream is a terminal), so callers need not check."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._drawn_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self._drawn_at is not None and done < total and now - self._drawn_at < REDRAW_S:
            return
        self._drawn_at = now
        self.stream.write("\r\033[K" + self.render(done, total, now - self.started))
        self.stream.flush()

    def render(self, done: int, total: int, elapsed: float) -> str:
        share = done / total if total else 1.0
        filled = int(WIDTH * share)
        text = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {100 * share:3.0f}% {done:,}/{total:,}"
        if done and elapsed > 0:
            rate = done / elapsed
            text += f" {rate:,.0f}/s"
            text += f" {_duration(elapsed)}" if done >= total else f" ETA {_duration((total - done) / rate)}"
        return text

    def close(self) -> None:
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn_at = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
