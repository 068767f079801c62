"""`skewless training-set` with chunks and its streamed output (its meter: tests/unit/skewless/test_progress.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner

from skewless.training.cli import training_set
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update

HOUR = 3_600_000


def invoke(*args: str):
    return CliRunner().invoke(training_set, list(args))


def test_chunked_output_equals_one_chunk_in_label_order(tmp_path: Path, write_history, stats_view) -> None:
    write_history([Update(f"u{i}", BASE_MS + i, BASE_MS + i, i, (float(i), i)) for i in range(9)])
    keys = [f"u{i}" for i in (5, 1, 8, 1, 0, 7, 3, 3, 2, 6, 4)]
    labels = tmp_path / "labels.csv"
    labels.write_text("user_id,timestamp,label\n" + "".join(f"{k},{BASE_MS + HOUR},{n}\n" for n, k in enumerate(keys)))
    outs = {}
    for chunk_rows in ("3", "250000"):
        out = tmp_path / f"train-{chunk_rows}.parquet"
        done = invoke("--labels", str(labels), "--view", "user_stats", "--chunk-rows", chunk_rows, "--out", str(out))
        assert done.exit_code == 0, done.output
        assert f"wrote {len(keys)} rows" in done.output
        outs[chunk_rows] = pq.read_table(out)
    assert outs["3"].equals(outs["250000"])
    assert outs["3"].column("label").to_pylist() == list(range(len(keys)))
    assert outs["3"].column("n_events").to_pylist() == [int(k[1:]) for k in keys]
    assert not list(tmp_path.glob("*.partial"))


def test_a_labels_file_without_rows_is_refused(tmp_path: Path, write_history, stats_view) -> None:
    write_history([])
    labels = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"user_id": pa.array([], pa.string()), "timestamp": pa.array([], pa.int64())}), labels)
    done = invoke("--labels", str(labels), "--view", "user_stats", "--out", str(tmp_path / "train.csv"))
    assert done.exit_code == 1 and f"labels file {labels} has no rows" in done.output
    assert not (tmp_path / "train.csv").exists()


def test_bad_chunk_rows_is_refused(tmp_path: Path, write_history, stats_view) -> None:
    write_history([])
    labels = tmp_path / "labels.csv"
    labels.write_text(f"user_id,timestamp\na,{BASE_MS}\n")
    done = invoke("--labels", str(labels), "--view", "user_stats", "--chunk-rows", "0")
    assert done.exit_code != 0 and "--chunk-rows" in done.output
