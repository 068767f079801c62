"""What one chaos run does, from CHAOS_* environment variables (defaults: the `make test` size)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ChaosConfig:
    events: int = 20_000
    kills: int = 5  # kill -9 of the job's process group, each followed by the same `skewless run`
    users: int = 200
    days: int = 2
    partitions: int = 3
    malformed: int = 25
    # Wall seconds the live producer takes; None: enough for the faults to happen while it sends.
    produce_s: float | None = None
    checkpoint_ms: int = 2_000
    cassandra_outage_s: float = 30.0
    seed: int = 1
    # History steps checked against the brute-force oracle (all of them up to this many).
    oracle_rows: int = 20_000
    # `make chaos`: also write bench/out/chaos.json and merge recovery figures into bench/results.json.
    bench: bool = False

    def __post_init__(self) -> None:
        if self.kills < 2:
            raise ValueError("CHAOS_KILLS must be >= 2: at least one kill right after a checkpoint and one mid-interval")
        if self.events < self.malformed or self.events < 100:
            raise ValueError("CHAOS_EVENTS must be >= 100 and >= the number of malformed records")
        if self.cassandra_outage_s < 0:
            raise ValueError("CHAOS_CASSANDRA_OUTAGE_S must be >= 0")

    @property
    def faults(self) -> int:
        return self.kills + 2  # plus one Cassandra and one Kafka outage

    @property
    def produce_seconds(self) -> float:
        # Measured on the 2-core machine (shared): a job kill takes 20-30 s until the restarted
        # job's first checkpoint; the Cassandra outage its length plus about 25 s, Kafka's 20 s.
        if self.produce_s is not None:
            return self.produce_s
        return 30.0 * self.kills + self.cassandra_outage_s + 60.0

    @property
    def rate(self) -> float:
        """Events per second the live producer sends."""
        return self.events / self.produce_seconds

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ChaosConfig:
        env = os.environ if environ is None else environ
        kinds = {"events": int, "kills": int, "users": int, "days": int, "partitions": int, "malformed": int,
                 "produce_s": float, "checkpoint_ms": int, "cassandra_outage_s": float, "seed": int,
                 "oracle_rows": int}
        values: dict[str, Any] = {}
        for name, kind in kinds.items():
            text = env.get(f"CHAOS_{name.upper()}")
            if text:
                values[name] = kind(text)
        values["bench"] = env.get("CHAOS_BENCH", "") not in ("", "0", "false")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "produce_seconds": round(self.produce_seconds, 1), "rate": round(self.rate, 1)}
