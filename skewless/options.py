"""Click parameter types the commands share, so that one rule checks each kind of input.

- `EPOCH_MS`: an instant in epoch milliseconds. A value below 10^11 (before March 1973 in
  ms) is far more likely seconds than a real instant, and would make every event absurd
  or future once decoded; negatives are no instant at all. Both are refused.
- `WritablePath`: an output file, checked before any work starts: its folder exists or can
  be created, and the file can be written there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

SMALLEST_EPOCH_MS = 10**11


class EpochMillis(click.ParamType):
    name = "EPOCH_MS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            ms = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an integer: write epoch milliseconds, e.g. 1767225600000", param, ctx)
        if ms < 0:
            self.fail(f"{ms} is negative: write epoch milliseconds, e.g. 1767225600000", param, ctx)
        if ms < SMALLEST_EPOCH_MS:
            self.fail(f"{ms} looks like seconds, not milliseconds: write {ms * 1000}", param, ctx)
        return ms


EPOCH_MS = EpochMillis()


def unwritable_reason(path: Path) -> str | None:
    """Why `path` cannot be written as a file, or None when it can."""
    if path.is_dir():
        return f"{path} is a folder; name a file"
    if path.exists():
        return None if os.access(path, os.W_OK) else f"{path} exists and is not writable"
    folder = path.parent
    while not folder.exists():  # the nearest existing ancestor must let us create the rest
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, so {path} cannot be created"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create {path}: folder {folder} is not writable"
    return None


class WritablePath(click.ParamType):
    """An output file path, refused up front (one line, exit 2) when it cannot be written."""

    name = "FILE"

    def __init__(self, suffixes: tuple[str, ...] = ()) -> None:
        self.suffixes = suffixes

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value).expanduser()
        if self.suffixes and path.suffix.lower() not in self.suffixes:
            self.fail(f"{path} must end in {' or '.join(self.suffixes)}", param, ctx)
        reason = unwritable_reason(path.resolve())
        if reason is not None:
            self.fail(reason, param, ctx)
        return path
