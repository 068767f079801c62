"""`skewless monitor` end to end on a registered view and its SQLite-catalog history: exit
codes, one-line errors, the HTML/PNG report."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skewless.cli import main
from tests.unit.skewless.monitor.conftest import DAY_MS, START_MS

AS_OF = str(START_MS + 9 * DAY_MS)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["monitor", *args])


def test_no_drift_exits_0_with_the_table(daily_history, stats_view) -> None:
    daily_history()
    done = invoke("user_stats", "--as-of", AS_OF, "--quiet")
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0].startswith("view user_stats@1: window 2026-01-09T00:00:00+00:00 .. 2026-01-10T00:00:00+00:00")
    assert "updates: 1400 baseline, 200 window, from 8 file(s); missing entities: 0 of 40 (0.0%)" in done.output
    assert "thresholds: psi=0.2, js=0.1, null_rate=0.05, missing_rate=off" in done.output
    assert any(line.startswith("avg_amount ") and line.endswith(" ok") for line in lines)
    assert lines[-1] == "no breach"


def test_a_breach_exits_3_and_writes_the_html_report(tmp_path: Path, daily_history, stats_view) -> None:
    daily_history(shift=3.0)
    out = tmp_path / "report"
    done = invoke("user_stats", "--as-of", "2026-01-10T00:00:00Z", "--baseline", "7", "--window", "1", "--out", str(out))
    assert done.exit_code == 3, done.output
    assert "BREACH avg_amount: psi " in done.output and f"wrote {out / 'index.html'}" in done.output
    page = (out / "index.html").read_text()
    assert '<img src="avg_amount.png"' in page and "BREACH avg_amount" in page
    for png in ("avg_amount.png", "n_events.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_is_shown_on_stderr(daily_history, stats_view) -> None:
    daily_history()
    done = invoke("user_stats", "--as-of", AS_OF)
    assert done.exit_code == 0
    assert "monitor user_stats@1: files read" in done.stderr and "8/8" in done.stderr
    assert "files read" not in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope"], 1, "error: no view 'nope' is registered; registered views: user_stats"),
        (["user_stats@2"], 1, "error: view user_stats has no version 2; registered versions: [1]"),
        (["user_stats", "--as-of", str(START_MS + 90 * DAY_MS)], 1, "error: view user_stats@1 has no history from"),
        (["user_stats", "--window", "0"], 2, "Invalid value for '--window': 0 is not in the range x>=1"),
        (["user_stats", "--as-of", "yesterday"], 2, "'yesterday' is neither epoch milliseconds nor an ISO time"),
        (["user_stats", "--as-of", "2026-01-10T00:00"], 2, "has no timezone: add one, e.g. 2026-01-10T00:00Z"),
        (["user_stats", "--as-of", "1767225600"], 2, "looks like seconds, not milliseconds"),
    ],
)
def test_errors_are_one_line_saying_what_to_fix(daily_history, stats_view, args: list[str], code: int,
                                                message: str) -> None:
    daily_history()
    done = invoke(*args, "--quiet")
    assert done.exit_code == code and message in done.output, done.output
    assert "Traceback" not in done.output


def test_a_view_without_history_says_how_to_get_one(stats_view) -> None:
    done = invoke("user_stats")
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert "error: view user_stats has no history in namespace skewless" in done.output
    assert "skewless run --view user_stats" in done.output


def test_the_thresholds_come_from_the_views_definition(tmp_path: Path, catalog_cfg, daily_history,
                                                       monkeypatch) -> None:
    from skewless.registry.store import Registry, default_url
    from tests.unit.skewless.training.conftest import STATS_REPO, STATS_SCHEMA

    repo = tmp_path / "lenient_repo"
    repo.mkdir()
    (repo / "events.avsc").write_text(STATS_SCHEMA)
    (repo / "__init__.py").write_text(STATS_REPO.replace('ttl="2h",', 'ttl="2h", drift={"psi": 100.0, "js": None},'))
    with Registry(default_url(catalog_cfg.state_dir)) as registry:
        assert not registry.apply(repo).refused
    monkeypatch.setenv("SKEWLESS_HOME", str(catalog_cfg.state_dir))
    monkeypatch.delenv("SKEWLESS_REGISTRY_URL", raising=False)
    daily_history(shift=3.0)
    done = invoke("user_stats", "--as-of", AS_OF, "--quiet")
    assert done.exit_code == 0, done.output
    assert "thresholds: psi=100, js=off, null_rate=0.05, missing_rate=off" in done.output


def test_an_out_that_cannot_be_written_is_one_line(tmp_path: Path, daily_history, stats_view) -> None:
    daily_history()
    (tmp_path / "a_file").write_text("")
    done = invoke("user_stats", "--as-of", AS_OF, "--quiet", "--out", str(tmp_path / "a_file" / "report"))
    assert done.exit_code == 1 and "Traceback" not in done.output, done.output
    assert done.output.startswith(f"error: cannot write the report into {tmp_path / 'a_file' / 'report'}: ")
    assert len(done.output.strip().splitlines()) == 1
