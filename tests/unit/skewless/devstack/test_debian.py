"""Fetching a Debian package's files without root: against stand-ins for apt and dpkg-deb on PATH."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from skewless.devstack import StackError
from skewless.devstack.debian import unpacked


def tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """apt-cache offering prometheus 2.42.0+ds-5, apt-get download writing a .deb (and logging each
    call), dpkg-deb -x unpacking a usr/bin/prometheus from it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    tool(bin_dir, "apt-cache", 'echo "prometheus:"; echo "  Installed: (none)"; echo "  Candidate: 2.42.0+ds-5"\n')
    tool(bin_dir, "apt-get", f'echo "$@" >> {calls}; echo deb > prometheus_2.42.0+ds-5_amd64.deb\n')
    tool(bin_dir, "dpkg-deb", 'mkdir -p "$3/usr/bin" && echo binary > "$3/usr/bin/prometheus"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_the_package_is_fetched_once_then_served_from_the_cache(tmp_path: Path, apt: Path) -> None:
    root = unpacked(tmp_path / "cache", "prometheus", "2.42")
    assert (root / "usr" / "bin" / "prometheus").read_text() == "binary\n"
    assert root == tmp_path / "cache" / "debian" / "prometheus" / "2.42.0+ds-5"
    assert unpacked(tmp_path / "cache", "prometheus", "2.42") == root
    assert apt.read_text().splitlines() == ["download prometheus=2.42.0+ds-5"]  # the exact version, once
    assert [p.name for p in root.parent.iterdir()] == ["2.42.0+ds-5"]  # no scratch left behind


def test_another_upstream_version_is_refused(tmp_path: Path, apt: Path) -> None:
    with pytest.raises(StackError, match=r"apt offers prometheus 2.42.0\+ds-5, but skewless needs 2.43.x"):
        unpacked(tmp_path / "cache", "prometheus", "2.43")


def test_a_failed_download_says_what_apt_said(tmp_path: Path, apt: Path) -> None:
    tool(apt.parent / "bin", "apt-get", 'echo "E: Unable to locate package" >&2; exit 100\n')
    with pytest.raises(StackError, match=r"(?s)downloading prometheus 2.42.0\+ds-5 failed .*exited 100.*Unable to locate"):
        unpacked(tmp_path / "cache", "prometheus", "2.42")
    assert not (tmp_path / "cache" / "debian" / "prometheus" / "2.42.0+ds-5").exists()
