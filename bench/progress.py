"""The poller that follows a running Flink job and reports its progress on a meter
(`skewless.progress.Meter`, the one progress line of every command and benchmark)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from skewless.progress import Meter, format_duration


class JobWatcher:
    """Polls the job's REST endpoint (its own port on 127.0.0.1) and reports records read.

    Progress is the source operator's `numRecordsOut`: downstream operators trail it by at
    most the in-flight buffers and one Python bundle, since backpressure bounds the gap.
    """

    def __init__(self, rest_port: int, total: int, line: Meter, every_s: float = 2.0, source: str = "events") -> None:
        self.base = f"http://127.0.0.1:{rest_port}"
        # The source operator's name as Flink shows it (the table name for a SQL source).
        self.source = source
        self.total = total
        self.line = line
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "JobWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        first_seen: tuple[float, int] | None = None
        while not self._stop.wait(self.every_s):
            done = self._records_read()
            if done is None:
                self.line.show("starting the job")
                continue
            now = time.monotonic()
            if first_seen is None:
                first_seen = (now, done)
            pct = 100 * done / self.total if self.total else 100.0
            text = f"{done:,}/{self.total:,} events ({pct:.0f}%)"
            span = now - first_seen[0]
            if span > 0 and done > first_seen[1]:
                rate = (done - first_seen[1]) / span
                text += f", ~{rate:,.0f} ev/s, ETA {format_duration((self.total - done) / rate)}"
            self.line.show(text)

    def _records_read(self) -> int | None:
        try:
            jobs = _get(f"{self.base}/jobs/overview")["jobs"]
            running = [j for j in jobs if j["state"] == "RUNNING"]
            if not running:
                return None
            jid = running[0]["jid"]
            vertices = _get(f"{self.base}/jobs/{jid}")["vertices"]
            source = next(v for v in vertices if v["name"].startswith(f"Source: {self.source}"))
            ids = [m["id"] for m in _get(f"{self.base}/jobs/{jid}/vertices/{source['id']}/metrics")]
            wanted = sorted({i.split(".", 1)[1] for i in ids if i.endswith(".numRecordsOut") and f".Source__{self.source}" in i})
            if not wanted:
                return None
            query = ",".join(wanted)
            agg = _get(f"{self.base}/jobs/{jid}/vertices/{source['id']}/subtasks/metrics?get={query}&agg=sum")
            return int(sum(float(m["sum"]) for m in agg))
        except (OSError, ValueError, KeyError, StopIteration):
            return None  # not up yet, or already gone: the next poll or the job's end tells


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)
