"""The README's "Reading features" commands, run exactly as written, after what `make demo` does.

The fixture walks the demo's path on names of its own: `skewless apply --repo features/` into a
fresh SKEWLESS_HOME (named `.skewless`, as the README's `--log .skewless/serving-log` assumes),
a few thousand events on a fresh topic, one bounded run of the example repo's views
(user_transactions and merchant_activity), then the demo's own online reads with a serving log.
Each command line of the section's shell blocks (`skewless serve` excepted: it runs until
stopped) and its FeatureStore snippet then run from the folder that holds `.skewless`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from skewless.demo import show_online
from skewless.events.producer import produce
from skewless.events.synthetic import StreamShape, transactions
from skewless.runner import run_job, write_schemas
from skewless.settings import load_settings
from tests.conftest import EXAMPLE_REPO

REPO = EXAMPLE_REPO.parent
README = REPO / "README.md"
HOUR_MS = 3_600_000
SKEWLESS = [sys.executable, "-m", "skewless.cli"]


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def readme_commands() -> list[str]:
    """The `skewless ...` lines of the section's bash blocks, comments cut, `serve` left out."""
    blocks = re.findall(r"```bash\n(.*?)```", readme_section("Reading features"), re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("skewless ") and not line.startswith("skewless serve")]


def readme_python() -> str:
    """The section's first Python block: the FeatureStore snippet."""
    return re.findall(r"```python\n(.*?)```", readme_section("Reading features"), re.S)[0]


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory: pytest.TempPathFactory):
    name = f"m{os.urandom(5).hex()}"
    cwd = tmp_path_factory.mktemp("readme")
    home = cwd / ".skewless"
    env = {k: v for k, v in os.environ.items() if k != "SKEWLESS_REGISTRY_URL"}
    env |= {"SKEWLESS_HOME": str(home), "SKEWLESS_CASSANDRA_KEYSPACE": name, "SKEWLESS_ICEBERG_NAMESPACE": name,
            "PYTHONPATH": str(REPO)}
    applied = subprocess.run([*SKEWLESS, "apply", "--repo", str(EXAMPLE_REPO)], env=env, cwd=cwd,
                             capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    from skewless.registry.catalogue import Catalogue
    from skewless.registry.store import default_url

    job = Catalogue(default_url(home)).job((), "transactions")
    topic = f"{name}.transactions"
    specs = [dataclasses.replace(s, source_topic=topic) for s in job.specs]
    settings = load_settings(home=home, cassandra={"keyspace": name}, iceberg={"namespace": name},
                             job={"checkpoint_interval_ms": 2_000})
    end = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS
    shape = StreamShape(seed=29, events=3_000, users=30, days=10, end_ms=end, disorder_ms=10_000)
    produce(shape, topic, settings.kafka.bootstrap, partitions=2, progress=False)
    run_job(specs, settings, bounded=True, until=end + HOUR_MS // 2,
            schemas=write_schemas(topic, job.schema_texts, settings))
    merchants = sorted({r["merchant_id"] for r in transactions(shape) if r["event_time"] > end - 3 * 86_400_000})
    show_online(settings, specs, {"user_transactions": ["user-000001", "user-000002"],
                                  "merchant_activity": merchants[:3]})
    (cwd / "labels.csv").write_text(
        "user_id,timestamp,label\n" + "".join(f"user-{i:06d},{end - d * 86_400_000},{i % 2}\n"
                                              for i in range(10) for d in (1, 5)))
    return cwd, env, end


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "skewless"
    return subprocess.run([*SKEWLESS, *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def test_the_section_names_both_example_views_and_every_reading_command() -> None:
    commands = readme_commands()
    assert any(c.startswith("skewless online get --view user_transactions") for c in commands)
    assert any(c.startswith("skewless online get --view merchant_activity") for c in commands)
    assert "skewless training-set --labels labels.csv --view user_transactions --out train.parquet" in commands
    assert "skewless verify --log .skewless/serving-log" in commands
    assert "FeatureStore.from_settings()" in readme_python()


@pytest.mark.parametrize("command", [c for c in readme_commands() if c.startswith("skewless online get")])
def test_online_get_as_written(demo_like, command: str) -> None:
    cwd, env, _ = demo_like
    done = run(command, cwd, env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["entity"] for line in lines] == shlex.split(command)[5:]
    if "user_transactions" in command:  # active users of a 10-day stream are live (TTL 30 d)
        assert all(line["features"] and line["features"]["count_30d"] >= 1 for line in lines), lines


def test_training_set_as_written(demo_like) -> None:
    cwd, env, _ = demo_like
    (command,) = [c for c in readme_commands() if c.startswith("skewless training-set")]
    (cwd / "train.parquet").unlink(missing_ok=True)
    done = run(command, cwd, env)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(cwd / "train.parquet")
    assert table.num_rows == 20 and table.column("label").to_pylist() == [i % 2 for i in range(10) for _ in (1, 5)]
    assert all(v is not None for v in table.column("count_30d").to_pylist()[:2])


def test_verify_as_written_gives_a_verdict_after_a_bounded_run(demo_like) -> None:
    cwd, env, _ = demo_like
    (command,) = [c for c in readme_commands() if c.startswith("skewless verify")]
    assert "--history-complete" not in command
    done = run(command, cwd, env)
    assert done.returncode == 0, done.stdout + done.stderr  # 0: every served value proven, none unsettled
    total = next(line.split() for line in done.stdout.splitlines() if line.startswith("total"))
    assert int(total[1]) > 0 and total[4:6] == ["0", "0"], done.stdout  # checked; mismatched, unsettled
    assert "user_transactions:count_30d" in done.stdout and "merchant_activity:count_1h" in done.stdout


def test_the_feature_store_snippet_as_written(demo_like) -> None:
    cwd, env, _ = demo_like
    code = readme_python() + "\nprint(result[0].values()['user_transactions:count_30d'])\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) >= 1
