"""Launch a pipeline job on a local Flink mini-cluster, in a child process.

The child gets the assembled Flink runtime (connector jars on the classpath) through its
environment, so the JVM that PyFlink starts sees them from its first class load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from skewless.errors import SkewlessError
from skewless.settings import REPO_ROOT, Settings
from skewless.spec import ViewSpec
from skewless.stack import flink_home

SCHEMAS = REPO_ROOT / "schemas"


def run_job(
    spec: ViewSpec,
    settings: Settings,
    *,
    bounded: bool,
    until: int | None,
    group_id: str | None = None,
    schemas: list[Path] | None = None,
) -> float:
    """Run jobs/pipeline.py for `spec`; returns the wall time. Raises if the job fails."""
    spec_dir = settings.home / "specs"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec_path = spec_dir / f"{spec.uid}.json"
    spec_path.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True))
    env = {**os.environ, **flink_home.prepare()}
    for name, value in settings.model_dump().items():
        secret = getattr(value, "get_secret_value", None)
        env[f"SKEWLESS_{name.upper()}"] = str(secret() if secret else value)
    cmd = [sys.executable, "-m", "jobs.pipeline", "--spec", str(spec_path)]
    for schema in schemas or [SCHEMAS / "transactions.avsc"]:
        cmd += ["--schema", str(schema)]
    if bounded:
        cmd.append("--bounded")
    if until is not None:
        cmd += ["--until", str(until)]
    if group_id:
        cmd += ["--group-id", group_id]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env)
    if done.returncode != 0:
        raise SkewlessError(f"the Flink job for {spec.name} failed (exit {done.returncode}); see its output above")
    return time.monotonic() - started
