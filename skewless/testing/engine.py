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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skewless.errors import SkewlessError
from skewless.spec import FeatureSpec

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
        from skewless.devstack.flink_home import build_sink_jar  # dev tooling: the jar from jvm/
        from skewless.devstack.jars import classpath

        # The engine reads its operation catalogue with Jackson: the jar plus Jackson's jars.
        jackson = [e for e in classpath("flink").split(os.pathsep) if Path(e).name.startswith("jackson-")]
        cp = os.pathsep.join([str(build_sink_jar()), *jackson])
        flags = ["--roundtrip"] if roundtrip else []
        try:
            self.proc = subprocess.Popen(
                ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp, "io.skewless.testing.EngineServer", *flags],
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
    if roundtrip not in _jvms:
        _jvms[roundtrip] = _Jvm(roundtrip)
    return _jvms[roundtrip]


def _params(feature: FeatureSpec) -> str:
    return json.dumps(feature.param, separators=(",", ":")) if feature.param else "-"


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
    """The tiled windows of `features` for ONE entity, on the JVM engine.

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
    ) -> None:
        self.features = tuple(features)
        self.lateness_ms = lateness_ms
        self._types = [f.value_type for f in self.features]
        self._jvm = _jvm(roundtrip)
        self._id = str(next(_ids))
        head = f"engine {self._id} {lateness_ms} {NONE if expiry_horizon is None else expiry_horizon} {len(self.features)}"
        body = [f"{f.op} {f.hop_ms or 0} {f.tiles} {_params(f)}" for f in self.features]
        self._jvm.ask([head, *body], multi=False)

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
