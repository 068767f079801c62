import os
from pathlib import Path

import pytest

from skewless.devstack import jars
from skewless.devstack.jars import JarResolutionError, classpath

FAKE_MVN = """#!/bin/sh
echo run >> "{calls}"
for arg in "$@"; do
  case "$arg" in -Dmdep.outputFile=*) printf '%s' "{classpath}" > "${{arg#-Dmdep.outputFile=}}";; esac
done
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def fake_mvn(bin_dir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir.mkdir(exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text(script)
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")


def test_unknown_component_lists_the_known_ones(home: Path) -> None:
    with pytest.raises(JarResolutionError, match=r"no JVM component 'nope'.*known: .*cassandra.*kafka"):
        classpath("nope")


def test_resolves_once_then_reads_the_cache(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jar_a, jar_b = tmp_path / "a.jar", tmp_path / "b.jar"
    jar_a.touch()
    jar_b.touch()
    calls = tmp_path / "calls"
    fake_mvn(tmp_path / "bin", FAKE_MVN.format(calls=calls, classpath=f"{jar_a}:{jar_b}"), monkeypatch)

    assert classpath("kafka") == f"{jar_a}:{jar_b}"
    assert classpath("kafka") == f"{jar_a}:{jar_b}"
    assert calls.read_text().count("run") == 1
    assert (home / "jars" / "kafka.classpath").is_file()

    jar_b.unlink()  # e.g. ~/.m2 was cleaned: the cache is stale
    classpath("kafka")
    assert calls.read_text().count("run") == 2


def test_a_pom_newer_than_the_cache_is_resolved_again(home: Path, tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    cache = tmp_path / "x.classpath"
    jar = tmp_path / "a.jar"
    jar.touch()
    cache.write_text(str(jar))
    pom.touch()
    os.utime(cache, (1_000, 1_000))
    assert not jars._is_fresh(cache, pom)
    os.utime(pom, (500, 500))
    assert jars._is_fresh(cache, pom)


def test_maven_failure_is_reported_with_its_output(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mvn(tmp_path / "bin", "#!/bin/sh\necho 'Could not resolve dependencies: boom'\nexit 1\n", monkeypatch)
    with pytest.raises(JarResolutionError, match=r"(?s)jvm/kafka/pom.xml \(exit 1\).*boom"):
        classpath("kafka")
    assert list((home / "jars").iterdir()) == []  # no partial cache left behind


def test_missing_maven_says_to_install_it(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(JarResolutionError, match="mvn.*not on PATH"):
        classpath("kafka")
