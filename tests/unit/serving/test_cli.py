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


def test_serving_an_unknown_view_is_refused_before_binding():
    result = CliRunner().invoke(main, ["serve", "--view", "nope"])
    assert result.exit_code == 1 and "unknown views ['nope']; known: user_transactions" in result.output


def test_an_unreadable_log_is_a_clear_error(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"entity": "u1"}\n')
    result = CliRunner().invoke(main, ["verify", "--log", str(tmp_path)])
    assert result.exit_code == 1 and "missing fields" in result.output


def test_views_from_names_a_module_attribute_of_views():
    from skewless.serving.cli import load_views

    assert list(load_views("skewless.serving.bench:BENCH_VIEWS")) == ["bench20"]
    assert list(load_views()) == ["user_transactions"]
    for source, words in (("features", "MODULE:ATTRIBUTE"), ("no_such_module_x:V", "cannot import"),
                          ("features:NOPE", "has no NOPE"), ("skewless.serving.bench:BENCH_REFS", "ViewSpec")):
        result = CliRunner().invoke(main, ["serve", "--views-from", source])
        assert result.exit_code == 1 and words in result.output, result.output
