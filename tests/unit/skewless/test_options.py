"""The shared option types: epoch milliseconds and writable output files, refused in one line."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from skewless.cli import main
from skewless.options import unwritable_reason


@pytest.mark.parametrize("command", [["produce", "--end"], ["run", "--topic", "transactions", "--until"]])
@pytest.mark.parametrize(("value", "message"), [
    ("1767225600", "1767225600 looks like seconds, not milliseconds: write 1767225600000"),
    ("-5", "-5 is negative: write epoch milliseconds"),
    ("soon", "'soon' is not an integer: write epoch milliseconds"),
])
def test_epoch_ms_options_refuse_seconds_negatives_and_words(command, value, message):
    result = CliRunner().invoke(main, [*command, value])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_an_epoch_ms_value_passes():
    from skewless.options import EPOCH_MS

    assert EPOCH_MS.convert("1767225600000", None, None) == 1_767_225_600_000


def test_writable_paths(tmp_path: Path):
    (tmp_path / "file").write_text("")
    assert unwritable_reason(tmp_path / "new" / "deeper" / "out.parquet") is None  # folders are created
    assert unwritable_reason(tmp_path / "file") is None  # overwritten
    assert unwritable_reason(tmp_path) == f"{tmp_path} is a folder; name a file"
    assert unwritable_reason(tmp_path / "file" / "out.csv") == f"{tmp_path / 'file'} is a file, so {tmp_path / 'file' / 'out.csv'} cannot be created"
