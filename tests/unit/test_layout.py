"""tests/unit mirrors the code: the tests of `a/b/c.py` live in `tests/unit/a/b/` (or, for a
module large enough to have several test files, in `tests/unit/a/b/c/`)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"


def test_every_unit_test_folder_names_a_folder_of_the_code() -> None:
    strays = [
        folder.relative_to(UNIT).as_posix()
        for folder in UNIT.rglob("*")
        if folder.is_dir() and any(folder.glob("test_*.py")) and not _is_code(REPO / folder.relative_to(UNIT))
    ]
    assert not strays, f"move these under the path of the code they test: {strays}"


def _is_code(path: Path) -> bool:
    return path.is_dir() or path.with_suffix(".py").is_file()
