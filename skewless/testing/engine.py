"""One entity's tiled windows on the JVM engine, through one long-lived JVM per process.

The JVM runs io.skewless.testing.EngineServer from the project's jar: one command per line
in, one answer per command out. `Engine` has the operator's four calls (accepts, on_event,
on_timer, next_timer) for one entity's state, so a driver can feed it exactly as the Flink
operator does (skewless.testing.run) and a test can watch every call.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from skewless.errors import SkewlessError
from skewless.spec import FeatureSpec, ViewSpec

NONE = "none"


class EngineError(SkewlessError):
    """The engine refused a command (a bad view or input), or its JVM could not start."""


@dataclass(frozen=True)
class Step:
    """One value change the engine emitted: the instant, its revision, one value per feature."""

    valid_from: int
    values: tuple[Any, ...]
    revision: int = 0


class _Jvm:
    """The EngineServer process: started on first use, answered in command order."""

    def __init__(self, roundtrip: bool) -> None:
        # dev tooling: the jar from jvm/, then its Maven-resolved runtime jars (Jackson reads the spec)
        from skewless.devstack.flink_home import build_sink_jar
        from skewless.devstack.jars import classpath

        path = os.pathsep.join([str(build_sink_jar()), classpath("flink")])
        flags = ["--roundtrip"] if roundtrip else []
        try:
            self.proc = subprocess.Popen(
                ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", path, "io.skewless.testing.EngineServer", *flags],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            )
        except OSError as exc:
            raise EngineError(f"cannot start java for the testing engine: {exc}") from None
        self.lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, lines: Sequence[str], multi: bool) -> list[str]:
        """Send one command; its answer: one line, or (multi) the lines up to '.'."""
        with self.lock:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            try:
                self.proc.stdin.write("\n".join(lines) + "\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                raise EngineError("the testing engine's JVM has exited") from None
            answer: list[str] = []
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    raise EngineError("the testing engine's JVM exited mid-answer")
                line = line.rstrip("\n")
                if line.startswith("error "):
                    raise EngineError(line.removeprefix("error "))
                if not multi:
                    return [line]
                if line == ".":
                    return answer
                answer.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


_jvms: dict[bool, _Jvm] = {}
_ids = itertools.count()


def _jvm(roundtrip: bool) -> _Jvm:
    """This process's JVM for `roundtrip`, started again if it has exited (its engines with it)."""
    if roundtrip not in _jvms or _jvms[roundtrip].proc.poll() is not None:
        _jvms[roundtrip] = _Jvm(roundtrip)
    return _jvms[roundtrip]


def _spec_json(features: Sequence[FeatureSpec], lateness_ms: int) -> str:
    """The part of ViewSpec.to_dict() the engine reads, for engines built from features alone."""
    return json.dumps({"features": [asdict(f) for f in features], "allowed_lateness_ms": lateness_ms})


def _number(value: Any) -> str:
    if value is None:  # count takes no input
        return "0x0.0p0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EngineError(f"an aggregation input must be a number, got {value!r}")
    return float(value).hex()


def _value(token: str, value_type: str) -> Any:
    if token == "None":
        return None
    if token.startswith("["):
        return [float(x) for x in token[1:-1].split(",") if x]
    return int(token) if value_type == "long" else float(token)


class Engine:
    """The tiled windows of `features` for ONE entity, on the JVM engine (built there from the
    view spec's JSON by io.skewless.testing.ViewEngines, as `Engine.of_view` sends it).

    lateness_ms: how far behind the watermark an event is still applied (with corrections);
    expiry_horizon: epoch ms where tile-expiry instants stop (None: never).
    roundtrip: encode and decode the state after every call, as a checkpoint and restore would.
    """

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        lateness_ms: int = 0,
        expiry_horizon: int | None = None,
        *,
        roundtrip: bool = False,
        spec_json: str | None = None,
    ) -> None:
        self.features = tuple(features)
        self.lateness_ms = lateness_ms
        self._types = [f.value_type for f in self.features]
        self._jvm = _jvm(roundtrip)
        self._id = str(next(_ids))
        head = f"view {self._id} {NONE if expiry_horizon is None else expiry_horizon}"
        self._jvm.ask([head, spec_json or _spec_json(self.features, lateness_ms)], multi=False)

    @classmethod
    def of_view(cls, spec: ViewSpec, expiry_horizon: int | None = None, *, roundtrip: bool = False) -> Engine:
        """One entity's engine for `spec`, sent to the JVM as `spec.to_dict()`."""
        return cls(
            spec.features, spec.allowed_lateness_ms, expiry_horizon,
            roundtrip=roundtrip, spec_json=json.dumps(spec.to_dict()),
        )

    def inputs(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """The per-feature input values of one event (None for count without a column)."""
        try:
            return tuple(None if f.column is None else row[f.column] for f in self.features)
        except KeyError as exc:
            raise EngineError(f"event {row!r} has no column {exc.args[0]!r}") from None

    def accepts(self, event_time: int, watermark: int) -> bool:
        return self._jvm.ask([f"accepts {self._id} {event_time} {watermark}"], multi=False)[0] == "true"

    def on_event(self, event_time: int, inputs: Sequence[Any], watermark: int) -> list[Step]:
        values = " ".join(_number(v) for v in inputs)
        return self._steps(self._jvm.ask([f"event {self._id} {event_time} {watermark} {values}"], multi=True))

    def on_timer(self, t: int, watermark: int) -> list[Step]:
        return self._steps(self._jvm.ask([f"timer {self._id} {t} {watermark}"], multi=True))

    def next_timer(self) -> int | None:
        answer = self._jvm.ask([f"next {self._id}"], multi=False)[0].split(" ")[1]
        return None if answer == NONE else int(answer)

    def close(self) -> None:
        self._jvm.ask([f"drop {self._id}"], multi=False)

    def _steps(self, lines: list[str]) -> list[Step]:
        steps = []
        for line in lines:
            head, *cells = line.split("\t")
            _, valid_from, revision = head.split(" ")
            steps.append(Step(int(valid_from), tuple(_value(c, t) for c, t in zip(cells, self._types)), int(revision)))
        return steps
