"""Imports run one way: the contracts in pyproject.toml ([tool.importlinter]) hold."""

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import skewless
from skewless.settings import REPO_ROOT


def _contracts() -> list[dict]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(_contracts())} kept, 0 broken" in done.stdout


def test_every_module_of_the_package_has_a_layer() -> None:
    """A new top-level module must take its place in the layers, or the contract says nothing of it."""
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    placed = {name.strip().strip("()") for layer in layers for name in layer.replace("|", ":").split(":")}
    unplaced = [
        f"skewless.{m.name}"
        for m in pkgutil.iter_modules(skewless.__path__)
        if f"skewless.{m.name}" not in placed and not any(p.startswith(f"skewless.{m.name}.") for p in placed)
    ]
    assert unplaced == []
