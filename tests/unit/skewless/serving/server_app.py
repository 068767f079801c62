"""`python -m tests.unit.skewless.serving.server_app PORT READ_DELAY_S [LOG_DIR]`: the real server
(`run_server`, granian) over the Cassandra-free store of conftest, whose reads take
READ_DELAY_S and, with LOG_DIR, are all logged there by a ServingLog (its writer thread is
what must be started in the worker); short deadlines so that tests of them are quick."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from skewless.serving.http import FeatureServer
from skewless.serving.log import ServingLog
from skewless.serving.result import OnlineResponse
from skewless.serving.server import ServerLimits, run_server
from tests.unit.skewless.serving.conftest import FakeStore, live

LIMITS = ServerLimits(header_timeout_s=1.0, graceful_timeout_s=5.0)
BODY_TIMEOUT_S = 1.0


class SlowStore(FakeStore):
    def __init__(self, delay_s: float, log: ServingLog | None) -> None:
        super().__init__({("users", "u1"): live(1_699_999_000_000, avg_amount=12.5, n_tx=4, max_amount=30.0)})
        self.delay_s = delay_s
        self.log = log
        self.in_flight = 0

    async def get_online_features_async(self, entities: Any, features: Any) -> OnlineResponse:
        self.in_flight += 1
        try:
            await asyncio.sleep(self.delay_s)
            response = await super().get_online_features_async(entities, features)
        finally:
            self.in_flight -= 1
        if self.log is not None:
            self.log.record(response)
        return response

    def close(self) -> None:
        super().close()
        print(f"store closed with {self.in_flight} reads in flight", flush=True)  # what the graceful-stop test checks


def main(port: int, delay_s: float, log_dir: Path | None) -> None:
    def make_app() -> FeatureServer:
        log = ServingLog(log_dir, 1.0) if log_dir is not None else None
        store = SlowStore(delay_s, log)
        return FeatureServer(lambda: store, serving_log=log, max_body_bytes=64 * 1024, body_timeout_s=BODY_TIMEOUT_S)

    run_server(make_app, "127.0.0.1", port, LIMITS)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
