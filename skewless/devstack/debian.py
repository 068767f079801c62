"""A Debian package's files, unpacked into a cache under the state folder: no root, no install.

`apt-get download` fetches the .deb the machine's apt sources offer (as any user, into the
current directory) and `dpkg-deb -x` unpacks it; nothing touches the system's package database.
The unpacked tree is kept under `<home>/cache/debian/<package>/<version>/`, so later starts need
no network. A package whose upstream version does not start with `want` is refused: the files
that use it (scrape config, alert rules and their tests) were written for that version.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from skewless.devstack import StackError


def unpacked(cache: Path, package: str, want: str) -> Path:
    """The root of `package`'s unpacked files (its usr/bin/... beneath), fetched on first use."""
    version = candidate_version(package)
    if not version.startswith(want):
        raise StackError(f"apt offers {package} {version}, but skewless needs {want}.x")
    root = cache / "debian" / package / version.replace(":", "_")
    if (root / ".complete").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
        run(["apt-get", "download", f"{package}={version}"], Path(scratch), f"downloading {package} {version}")
        debs = list(Path(scratch).glob("*.deb"))
        if len(debs) != 1:
            raise StackError(f"apt-get download {package} left {len(debs)} .deb files in {scratch}, expected one")
        tree = Path(scratch) / "root"
        run(["dpkg-deb", "-x", str(debs[0]), str(tree)], Path(scratch), f"unpacking {debs[0].name}")
        (tree / ".complete").write_text(version + "\n")
        try:
            tree.rename(root)  # atomic on one file system: readers see all of it or nothing
        except OSError:
            if not (root / ".complete").is_file():  # else another process unpacked it meanwhile
                raise
    return root


def candidate_version(package: str) -> str:
    """The version `apt-get download` would fetch (apt-cache policy's Candidate)."""
    done = run(["apt-cache", "policy", package], Path.cwd(), f"asking apt about {package}")
    for line in done.splitlines():
        name, _, value = line.strip().partition(":")
        if name == "Candidate" and value.strip() not in ("", "(none)"):
            return value.strip()
    raise StackError(
        f"apt knows no {package} package (`apt-cache policy {package}` shows no candidate); "
        "on Debian or Ubuntu run `apt-get update` first"
    )


def run(argv: list[str], cwd: Path, what: str) -> str:
    if shutil.which(argv[0]) is None:
        raise StackError(f"{what} needs {argv[0]}, which is not on PATH (a Debian or Ubuntu machine has it)")
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"{what} failed (`{' '.join(argv)}` exited {done.returncode}):\n{output}")
    return done.stdout
