"""Assemble the Flink runtime the jobs run on, from the apache-flink wheel plus Maven jars.

The wheel ships flink-dist and the planner but no connectors. Rather than edit the
installed package, skewless builds `<state>/flink/lib/` from symlinks: the wheel's own
jars, the jars `jvm/flink/pom.xml` resolves, and skewless's Cassandra sink. Everything
lands on the system classpath, which avoids child-first classloader surprises with the
JDBC drivers of the Iceberg catalog.

Flink's Prometheus reporter, which the wheel ships as a plugin, goes there too: the local
mini-cluster loads no plugins (it looks for reporter factories on the classpath only, whatever
FLINK_PLUGINS_DIR says), and skewless's loopback reporter extends it from the classpath.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from skewless.devstack.jars import StackError, classpath, state_root
from skewless.settings import REPO_ROOT

SINK_JAR = "skewless-flink-0.1.0.jar"


def pyflink_home() -> Path:
    spec = importlib.util.find_spec("pyflink")
    if spec is None or spec.origin is None:
        raise StackError("apache-flink is not installed in this environment; run `make install`")
    return Path(spec.origin).parent


def build_sink_jar() -> Path:
    """Compile skewless's Java jar when anything under jvm/flink/src (sources, resources, tests) or the pom is newer than it."""
    module = REPO_ROOT / "jvm" / "flink"
    jar = module / "target" / SINK_JAR
    sources = [p for p in (module / "src").rglob("*") if p.is_file()] + [module / "pom.xml"]  # resources too
    newest = max(p.stat().st_mtime for p in sources)
    if not jar.exists() or jar.stat().st_mtime < newest:
        print("building skewless-flink sink jar with Maven...", file=sys.stderr, flush=True)
        done = subprocess.run(
            ["mvn", "-q", "-f", str(module / "pom.xml"), "-DskipTests", "package"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StackError(f"building jvm/flink failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return jar


def prepare() -> dict[str, str]:
    """Create `<state>/flink/lib` and return the environment a PyFlink process needs."""
    home = pyflink_home()
    lib = state_root() / "flink" / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in (home / "lib").glob("*.jar")}
    wanted.update({p.name: p for p in (home / "plugins" / "metrics-prometheus").glob("*.jar")})
    for entry in classpath("flink").split(os.pathsep):
        if entry.endswith(".jar"):
            wanted[Path(entry).name] = Path(entry)
    sink = build_sink_jar()
    wanted[sink.name] = sink
    for link in lib.iterdir():
        if link.name not in wanted or link.resolve() != wanted[link.name].resolve():
            link.unlink()
    for name, target in wanted.items():
        link = lib / name
        if not link.exists():
            link.symlink_to(target)
    logs = state_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # Thread mode runs Python inside the JVM (pemja), whose interpreter starts from the base
    # installation: it finds this environment's packages and the project only via PYTHONPATH.
    pythonpath = [sysconfig.get_paths()["purelib"], str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    return {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(pythonpath)),
        "FLINK_LOG_DIR": str(logs),
        "FLINK_HOME": str(home),
        "FLINK_LIB_DIR": str(lib),
        "FLINK_CONF_DIR": str(REPO_ROOT / "flink-conf"),
    }


def apply_to_environ() -> None:
    """Point this process's PyFlink gateway at the assembled runtime (before it starts)."""
    os.environ.update(prepare())
