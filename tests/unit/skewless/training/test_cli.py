"""The training_set click command, end to end on a small SQLite-catalog history."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from skewless.training.cli import training_set
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update

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


def invoke(*args: str):
    return CliRunner().invoke(training_set, list(args))


def test_writes_parquet_and_csv_with_the_views_ttl(tmp_path: Path, labels_csv: Path, stats_view) -> None:
    out = tmp_path / "out" / "train.parquet"
    done = invoke("--labels", str(labels_csv), "--view", "user_stats", "--out", str(out))
    assert done.exit_code == 0, done.output
    table = pq.read_table(out)
    assert table.column("user_id").to_pylist() == ["007", "42", "42"]
    assert table.column("label").to_pylist() == [1, 0, 1]
    assert table.column("avg_amount").to_pylist() == [1.5, None, None]  # 3 h old > the view's 2 h TTL; before history

    csv_out = tmp_path / "train.csv"
    done = invoke("--labels", str(labels_csv), "--view", "user_stats@1", "--out", str(csv_out))
    assert done.exit_code == 0, done.output
    assert pacsv.read_csv(csv_out).column("n_events").to_pylist() == [3, None, None]


def test_prints_the_first_rows_without_out(labels_csv: Path, stats_view) -> None:
    done = invoke("--labels", str(labels_csv), "--view", "user_stats", "--as-of", "known_time")
    assert done.exit_code == 0, done.output
    assert "avg_amount" in done.output and "(3 rows" in done.output


def test_the_namespace_and_home_come_from_the_settings(tmp_path: Path, stats_view, monkeypatch) -> None:
    from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
    from connectors.iceberg.history import ensure_history_table
    from tests.unit.skewless.training.conftest import USER_STATS, history_arrow

    cfg = CatalogConfig(state_dir=tmp_path / "state", namespace="demo")
    table = ensure_history_table(cfg, USER_STATS, load_pyiceberg_catalog(cfg))
    table.append(history_arrow(table, [Update("u1", BASE_MS, BASE_MS, 1, (9.5, 1))], USER_STATS))
    labels = tmp_path / "labels.csv"
    labels.write_text(f"user_id,timestamp\nu1,{BASE_MS + 1}\n")
    monkeypatch.chdir(tmp_path)  # nothing is read relative to the working folder
    monkeypatch.setenv("SKEWLESS_ICEBERG_NAMESPACE", "demo")
    done = invoke("--labels", str(labels), "--view", "user_stats", "--out", "train.csv")
    assert done.exit_code == 0, done.output
    assert pacsv.read_csv(tmp_path / "train.csv").column("avg_amount").to_pylist() == [9.5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--view", "nope"], "no view 'nope' is registered; registered views: user_stats"),
        (["--view", "user_stats", "--out", "x.json"], "x.json must end in .parquet or .csv"),
        (["--view", "user_stats", "--ttl", "1d"], "No such option '--ttl'"),
        (["--view", "user_stats", "--state-dir", "."], "No such option '--state-dir'"),
    ],
)
def test_errors_are_reported_not_raised(labels_csv: Path, stats_view, args: list[str], message: str) -> None:
    done = invoke("--labels", str(labels_csv), *args)
    assert done.exit_code != 0 and message in done.output and "Traceback" not in done.output


def test_a_registered_view_without_history_says_how_to_get_one(tmp_path: Path, stats_view) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(f"user_id,timestamp\nu1,{BASE_MS}\n")
    done = invoke("--labels", str(labels), "--view", "user_stats")
    assert done.exit_code == 1
    assert "view user_stats has no history in namespace skewless" in done.output
    assert "skewless run --view user_stats" in done.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user_id,timestamp\n", "has no rows; view user_stats needs a column user_id (its entity key) and a column timestamp"),
        (f"timestamp,label\n{BASE_MS},1\n", "has no column user_id; view user_stats needs a column user_id (its entity key)"),
        (f"user_id,label\nu1,1\n", "has no column timestamp; view user_stats needs"),
    ],
)
def test_a_labels_file_the_join_cannot_use_is_refused_with_what_it_needs(
    tmp_path: Path, write_history, stats_view, text: str, message: str
) -> None:
    write_history([Update("u1", BASE_MS, BASE_MS, 1, (1.0, 1))])
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    done = invoke("--labels", str(labels), "--view", "user_stats")
    assert done.exit_code == 1 and message in done.output, done.output
    assert len(done.output.strip().splitlines()) == 1 and "null" not in done.output


@pytest.mark.parametrize("blocker", ["a_file", "dir.parquet"])
def test_an_unwritable_out_is_refused_up_front_in_one_line(tmp_path: Path, labels_csv: Path, stats_view, blocker) -> None:
    if blocker == "a_file":  # the out's folder would have to be where a file is
        (tmp_path / blocker).write_text("")
        out = tmp_path / blocker / "train.parquet"
    else:  # the out is a folder
        (tmp_path / blocker).mkdir()
        out = tmp_path / blocker
    done = invoke("--labels", str(labels_csv), "--view", "user_stats", "--out", str(out))
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "Invalid value for '--out'" in done.output and ("is a file" in done.output or "is a folder" in done.output)
