"""The local Prometheus's generated scrape config: every Flink reporter port, the server, the rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from skewless.devstack.prometheus import FLINK_JOB, RULES, SERVING_JOB, Prometheus, flink_ports, render_config
from skewless.settings import load_settings


def test_the_flink_ports_are_the_reporters_range() -> None:
    assert flink_ports() == range(9249, 9300)


def test_the_config_scrapes_every_reporter_port_and_the_server(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, serving={"port": 8123}, prometheus={"port": 19090, "scrape_interval_s": 2})
    config = yaml.safe_load(render_config(settings))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs[FLINK_JOB]["static_configs"][0]["targets"] == [f"127.0.0.1:{p}" for p in range(9249, 9300)]
    assert jobs[SERVING_JOB]["static_configs"][0]["targets"] == ["127.0.0.1:8123"]
    assert jobs[SERVING_JOB]["metrics_path"] == "/metrics"
    assert config["rule_files"] == [str(RULES)] and RULES.is_file()
    assert config["global"]["scrape_interval"] == "2s"


def test_it_listens_on_loopback_and_keeps_its_data_in_its_state_folder(tmp_path: Path) -> None:
    prometheus = Prometheus(load_settings(home=tmp_path, prometheus={"port": 19090}))
    assert prometheus.ports == {"SKEWLESS_PROMETHEUS_PORT": 19090}
    assert prometheus.process.marker == f"{tmp_path}/stack/prometheus/"
