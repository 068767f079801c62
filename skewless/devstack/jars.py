"""Classpaths of the JVM components in `jvm/<component>/pom.xml`, resolved by Maven.

Nothing is copied or committed: the classpath points into the local Maven repository.
The first resolution downloads jars and is slow, so the result is cached in
`<state>/jars/<component>.classpath` and resolved again only when the pom is newer than
the cache or a cached jar has disappeared from the local repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from skewless.devstack import StackError
from skewless.settings import REPO_ROOT, load_settings, writable_home

__all__ = ["JarResolutionError", "StackError", "classpath", "components", "state_root"]


def state_root() -> Path:
    """The state folder ($SKEWLESS_HOME), created and checked writable."""
    return writable_home(load_settings())


class JarResolutionError(StackError):
    """Maven could not produce the classpath of a JVM component."""


def components() -> list[str]:
    """Names of the JVM components: the folders under jvm/ that hold a pom.xml."""
    return sorted(p.parent.name for p in (REPO_ROOT / "jvm").glob("*/pom.xml"))


def classpath(component: str) -> str:
    """The resolved runtime classpath of `jvm/<component>/pom.xml`, os.pathsep-separated."""
    pom = REPO_ROOT / "jvm" / component / "pom.xml"
    if not pom.is_file():
        raise JarResolutionError(
            f"no JVM component {component!r}: {pom} does not exist (known: {', '.join(components()) or 'none'})"
        )
    cache = state_root() / "jars" / f"{component}.classpath"
    if not _is_fresh(cache, pom):
        print(f"resolving {component} jars with Maven...", file=sys.stderr, flush=True)
        _resolve(component, pom, cache)
    return cache.read_text().strip()


def _is_fresh(cache: Path, pom: Path) -> bool:
    if not cache.is_file() or cache.stat().st_mtime < pom.stat().st_mtime:
        return False
    entries = [e for e in cache.read_text().strip().split(os.pathsep) if e]
    # A cleaned ~/.m2 leaves the cache pointing at nothing; the JVM would then fail
    # with a ClassNotFoundError far from the cause.
    return all(Path(e).exists() for e in entries)


def _resolve(component: str, pom: Path, cache: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarResolutionError("Maven (mvn) is not on PATH; install it (e.g. `apt-get install maven`) and retry")
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the cache and rename, so an interrupted or concurrent run never
    # leaves a truncated classpath behind.
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={partial}"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not partial.is_file():
            output = (done.stdout + done.stderr).strip().splitlines()[-30:]
            raise JarResolutionError(
                f"Maven could not resolve jvm/{component}/pom.xml (exit {done.returncode}). Check the pom and "
                f"that Maven Central is reachable (proxy settings in ~/.m2/settings.xml), then retry. "
                f"Maven said:\n" + "\n".join(output)
            )
        os.replace(partial, cache)
    finally:
        partial.unlink(missing_ok=True)
