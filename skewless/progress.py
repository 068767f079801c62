"""A one-line progress meter on stderr for long commands (rate and ETA, no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int | None = None, every_s: float = 0.5) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._every = every_s
        self._tty = sys.stderr.isatty()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._print(final=False)

    def close(self) -> float:
        self._print(final=True)
        return time.monotonic() - self._start

    def _print(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        line = f"{self.label}: {self.done:,}"
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            line += f"/{self.total:,} ({pct:5.1f}%)"
            if not final:
                line += f" eta {eta:5.1f}s"
        line += f" {rate:,.0f}/s"
        if final:
            line += f" in {elapsed:.1f}s"
        if self._tty:
            sys.stderr.write("\r" + line + ("\n" if final else ""))
        elif final or int(elapsed) % 5 == 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
