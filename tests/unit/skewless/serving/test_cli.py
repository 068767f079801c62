import json

import pytest
from click.testing import CliRunner

from skewless.cli import main


def test_serve_and_verify_are_commands_of_skewless():
    runner = CliRunner()
    for command, words in (("serve", "--log-sample"), ("verify", "--max-write-lag-ms")):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and words in result.output


def test_verify_needs_a_log_or_a_live_sample():
    result = CliRunner().invoke(main, ["verify"])
    assert result.exit_code == 2 and "pass --log PATH" in result.output


def test_serving_an_unknown_view_is_refused_before_binding(example_catalogue):
    result = CliRunner().invoke(main, ["serve", "--view", "nope"])
    assert result.exit_code == 1
    assert "no view 'nope' is registered; registered views: merchant_activity, user_transactions" in result.output


def test_views_come_from_the_registry_only(example_catalogue):
    result = CliRunner().invoke(main, ["serve", "--views-from", "features:VIEWS"])
    assert result.exit_code == 2 and "No such option '--views-from'" in result.output


def test_an_empty_registry_says_how_to_fill_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    (tmp_path / "log.jsonl").write_text("")
    for args in (["serve"], ["verify", "--log", str(tmp_path / "log.jsonl")]):
        result = CliRunner().invoke(main, args)
        assert (result.exit_code, result.output) == (1, "error: no views are registered; run skewless apply --repo features/\n")


def test_an_unreadable_log_is_a_clear_error(tmp_path, example_catalogue):
    (tmp_path / "x.jsonl").write_text('{"entity": "u1"}\n')
    result = CliRunner().invoke(main, ["verify", "--log", str(tmp_path)])
    assert result.exit_code == 1 and "missing fields" in result.output


def test_a_missing_log_is_one_line_naming_it(tmp_path, example_catalogue):
    result = CliRunner().invoke(main, ["verify", "--log", str(tmp_path / "serving-log")])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert f"serving log {tmp_path / 'serving-log'} does not exist" in result.output


def test_a_log_of_any_registered_view_is_verified_against_its_history(tmp_path, example_catalogue):
    record = {"entity": "merchant-0001", "view": "merchant_activity", "feature": "count_1h", "value": 1,
              "valid_from": 1_767_225_600_000, "written_at": 1_767_225_600_001, "served_at": 1_767_225_600_002}
    (tmp_path / "served.jsonl").write_text(json.dumps(record) + "\n")
    result = CliRunner().invoke(main, ["verify", "--log", str(tmp_path)])
    assert "does not know" not in result.output
    assert result.exit_code == 1 and "view 'merchant_activity' has no history table" in result.output


@pytest.mark.parametrize("blocker", ["file", "folder"])
def test_an_unwritable_json_report_is_refused_before_verifying(tmp_path, example_catalogue, blocker):
    if blocker == "file":
        (tmp_path / "report").write_text("")
        out = tmp_path / "report" / "verify.json"
    else:
        out = tmp_path
    result = CliRunner().invoke(main, ["verify", "--log", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 2 and "Invalid value for '--json'" in result.output and "Traceback" not in result.output
