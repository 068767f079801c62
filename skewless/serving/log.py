"""The serving log: a sample of what was served, appended off the request path, for `verify`.

`record()` is all a request pays: one random draw and, when sampled, a non-blocking put of
the response object on a bounded queue (a full queue drops the sample and counts it,
never waits). A writer thread turns responses into JSON lines, one per
(entity, view, feature):

    {"entity": "u1", "view": "user_transactions", "feature": "count_30d", "value": 3,
     "valid_from": 1718000000000, "written_at": 1718000000412, "served_at": 1718000000950}

Times are epoch ms; `valid_from`/`written_at` are null when nothing live was served. Files
are `<dir>/served-<start ms>-<pid>-<n>.jsonl`, rolled at `max_file_bytes`; a line is
written whole, so readers may read files that are still growing.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from skewless.serving.errors import ServingError, VerifyError
from skewless.serving.result import OnlineResponse

_STOP = object()
_FIELDS = ("entity", "view", "feature", "value", "valid_from", "written_at", "served_at")


class ServingLog:
    def __init__(
        self,
        directory: Path,
        sample: float,
        *,
        max_queue: int = 10_000,
        max_file_bytes: int = 64 * 1024 * 1024,
        flush_interval_s: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= sample <= 1.0:
            raise ServingError(f"log sample rate {sample} must be between 0 and 1 (e.g. 0.1 logs 10% of requests)")
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServingError(f"cannot create the serving log directory {self.directory}: {exc}") from exc
        self.sample = sample
        self.dropped = 0  # samples lost: the queue was full or the file could not be written
        self.written = 0  # lines written
        self._random = (rng or random.Random()).random
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self._max_file_bytes = max_file_bytes
        self._flush_interval_s = flush_interval_s
        self._file: IO[bytes] | None = None
        self._file_bytes = 0
        self._files = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="skewless-serving-log", daemon=True)
        self._thread.start()

    def record(self, response: OnlineResponse) -> None:
        """Sample one served response; never blocks."""
        if self.sample <= 0.0 or self._closed or (self.sample < 1.0 and self._random() >= self.sample):
            return
        try:
            self._queue.put_nowait(response)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    # -- the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self._flush_interval_s)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if isinstance(item, OnlineResponse):
                try:
                    self._write(_lines(item))
                except OSError:  # a full or lost disk must not stop serving: count and go on
                    self.dropped += 1
                    self._file = None
            if self._file is not None and time.monotonic() - last_flush >= self._flush_interval_s:
                self._file.flush()
                last_flush = time.monotonic()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, data: bytes) -> None:
        if self._file is None or self._file_bytes >= self._max_file_bytes:
            if self._file is not None:
                self._file.close()
            self._files += 1
            name = f"served-{time.time_ns() // 1_000_000}-{os.getpid()}-{self._files}.jsonl"
            self._file = open(self.directory / name, "ab")
            self._file_bytes = 0
        self._file.write(data)
        self._file_bytes += len(data)
        self.written += data.count(b"\n")


def served_records(response: OnlineResponse) -> list[dict[str, Any]]:
    """One record per (entity, view, feature) served: the serving log's line format."""
    out = []
    for result in response.results:
        for ref in response.refs:
            read = result.reads[ref.view]
            row = read.row
            out.append({
                "entity": read.key,
                "view": ref.view,
                "feature": ref.feature,
                "value": None if row is None else row.values[ref.feature],
                "valid_from": None if row is None else row.valid_from,
                "written_at": None if row is None else row.written_at,
                "served_at": response.served_at,
            })
    return out


def _lines(response: OnlineResponse) -> bytes:
    out = [orjson.dumps(record) for record in served_records(response)]
    return b"\n".join(out) + b"\n" if out else b""


# -- reading the log back (for verify) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    entity: str
    view: str
    feature: str
    value: Any
    valid_from: int | None
    written_at: int | None
    served_at: int

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "record") -> Served:
        missing = [f for f in _FIELDS if f not in record]
        if missing:
            raise VerifyError(f"{where}: missing fields {missing}; is this a skewless serving log?")
        for name in ("valid_from", "written_at"):
            if record[name] is not None and not isinstance(record[name], int):
                raise VerifyError(f"{where}: {name} must be epoch ms or null, got {record[name]!r}")
        if not isinstance(record["served_at"], int) or not isinstance(record["entity"], str):
            raise VerifyError(f"{where}: served_at must be epoch ms and entity a string")
        return cls(**{f: record[f] for f in _FIELDS})

    @property
    def ref(self) -> str:
        return f"{self.view}:{self.feature}"


def read_log(paths: Iterable[Path]) -> list[Served]:
    """Records from serving-log files, or from every *.jsonl under the directories given."""
    files: list[Path] = []
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.is_dir():
            files += sorted(path.rglob("*.jsonl"))
        elif path.is_file():
            files.append(path)
        else:
            raise VerifyError(f"serving log {path} does not exist; pass a .jsonl file or the log directory")
    if not files:
        raise VerifyError(f"no *.jsonl serving-log files under {', '.join(map(str, paths))}; was --log-sample > 0?")
    out: list[Served] = []
    for file in files:
        with file.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                if not line.endswith(b"\n"):
                    break  # a line the writer is still appending
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise VerifyError(f"{file}:{number} is not JSON: {exc}") from exc
                if not isinstance(record, dict):
                    raise VerifyError(f"{file}:{number} is not a JSON object")
                out.append(Served.from_record(record, f"{file}:{number}"))
    return out


# -- the report -------------------------------------------------------------------
