"""The training_set click command, end to end on a small SQLite-catalog history."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from skewless.training.cli import parse_ttl, training_set
from tests.unit.training.pit_oracle import BASE_MS, Update

HOUR = 3_600_000


@pytest.fixture
def labels_csv(tmp_path: Path, write_history) -> Path:
    write_history([
        Update("007", BASE_MS, BASE_MS, 1, (1.5, 3)),
        Update("42", BASE_MS, BASE_MS, 2, (2.5, 4)),
    ])
    path = tmp_path / "labels.csv"
    # "007" must stay a string: the CSV is read with the history's key types.
    path.write_text(
        "user_id,timestamp,label\n"
        f"007,{BASE_MS + HOUR},1\n"
        f"42,{BASE_MS + 3 * HOUR},0\n"
        f"42,{BASE_MS - 1},1\n"
    )
    return path


def invoke(catalog_cfg, *args: str):
    return CliRunner().invoke(training_set, [*args, "--state-dir", str(catalog_cfg.state_dir)])


def test_writes_parquet_and_csv(tmp_path: Path, labels_csv: Path, catalog_cfg) -> None:
    out = tmp_path / "out" / "train.parquet"
    done = invoke(catalog_cfg, "--labels", str(labels_csv), "--view", "user_stats", "--ttl", "2h", "--out", str(out))
    assert done.exit_code == 0, done.output
    table = pq.read_table(out)
    assert table.column("user_id").to_pylist() == ["007", "42", "42"]
    assert table.column("label").to_pylist() == [1, 0, 1]
    assert table.column("avg_amount").to_pylist() == [1.5, None, None]  # 3 h old > 2 h TTL; before history

    csv_out = tmp_path / "train.csv"
    done = invoke(catalog_cfg, "--labels", str(labels_csv), "--view", "user_stats", "--ttl", "none",
                  "--out", str(csv_out))
    assert done.exit_code == 0, done.output
    assert pacsv.read_csv(csv_out).column("n_events").to_pylist() == [3, 4, None]


def test_prints_the_first_rows_without_out(labels_csv: Path, catalog_cfg) -> None:
    done = invoke(catalog_cfg, "--labels", str(labels_csv), "--view", "user_stats", "--ttl", "1d",
                  "--as-of", "known_time")
    assert done.exit_code == 0, done.output
    assert "avg_amount" in done.output and "(3 rows" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--view", "nope", "--ttl", "1d"], "has no history table"),
        (["--view", "user_stats", "--ttl", "soon"], "positive duration"),
        (["--view", "user_stats", "--ttl", "1d", "--out", "x.json"], "must end in .parquet or .csv"),
    ],
)
def test_errors_are_reported_not_raised(labels_csv: Path, catalog_cfg, args: list[str], message: str) -> None:
    done = invoke(catalog_cfg, "--labels", str(labels_csv), *args)
    assert done.exit_code != 0 and message in done.output


def test_parse_ttl_units() -> None:
    assert parse_ttl("500ms").total_seconds() == 0.5
    assert parse_ttl("90s").total_seconds() == 90
    assert parse_ttl("15m").total_seconds() == 900
    assert parse_ttl("12h").total_seconds() == 43200
    assert parse_ttl("30d").days == 30
    assert parse_ttl("2500").total_seconds() == 2.5
    assert parse_ttl("None") is None
