from pathlib import Path

import pytest

from skewless.errors import SkewlessError
from skewless.devstack import cassandra as cassandra_module
from skewless.devstack import process as process_module
from skewless.devstack.cassandra import MAIN_CLASS, Cassandra, render_cassandra_yaml
from skewless.settings import Settings

yaml = pytest.importorskip("yaml")


def test_yaml_binds_loopback_and_keeps_state_under_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "odd dir: 'quoted'"
    config = yaml.safe_load(render_cassandra_yaml(native_port=19042, storage_port=17000, state_dir=state))
    for key in ("listen_address", "broadcast_address", "rpc_address", "broadcast_rpc_address"):
        assert config[key] == "127.0.0.1"
    assert config["native_transport_port"] == 19042
    assert config["storage_port"] == 17000
    assert config["seed_provider"][0]["parameters"][0]["seeds"] == "127.0.0.1:17000"
    assert config["data_file_directories"] == [str(state / "data")]
    for key, folder in [
        ("commitlog_directory", "commitlog"),
        ("hints_directory", "hints"),
        ("saved_caches_directory", "saved_caches"),
        ("cdc_raw_directory", "cdc_raw"),
    ]:
        assert config[key] == str(state / folder)
    assert config["auto_snapshot"] is False
    assert config["num_tokens"] == 16


def test_command_runs_the_daemon_in_the_foreground_without_jmx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cassandra_module, "classpath", lambda component: "/m2/a.jar:/m2/jamm-0.4.0.jar")
    monkeypatch.setattr(Cassandra, "java", lambda self: "/jdk/bin/java")
    service = Cassandra(Settings(home=tmp_path))
    service.state_dir.mkdir(parents=True)

    argv = service.prepare()

    assert argv[0] == "/jdk/bin/java"
    assert argv[-3:] == ["-cp", "/m2/a.jar:/m2/jamm-0.4.0.jar", MAIN_CLASS]
    assert "-Dcassandra-foreground=yes" in argv
    assert "-javaagent:/m2/jamm-0.4.0.jar" in argv
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in argv
    assert f"-Dcassandra.config={(service.state_dir / 'conf' / 'cassandra.yaml').as_uri()}" in argv
    assert not [arg for arg in argv if arg.startswith(("-Dcassandra.jmx", "-Dcom.sun.management.jmxremote"))]
    assert (service.state_dir / "conf" / "cassandra.yaml").is_file()
    assert (service.state_dir / "conf" / "logback.xml").is_file()
    # The marker that identifies our process is on its command line.
    assert any(service.process.marker in arg for arg in argv)


def test_java_newer_than_cassandra_supports_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_module, "java_binary", lambda: "/jdk25/bin/java")
    monkeypatch.setattr(process_module, "java_major", lambda java: 25)
    with pytest.raises(SkewlessError, match="cassandra needs Java 11 to 17, but /jdk25/bin/java is Java 25"):
        Cassandra(Settings(home=tmp_path)).java()
