"""The alert rules (docker/prometheus/alerts.yml) under `promtool test rules`, with the promtool of
the Prometheus package the stack runs (skewless.devstack.prometheus fetches it).

The rule tests (rules/*.test.yml) say which series must fire each alert and which look alike but
must not. That they pass is half of it: each alert is also broken on purpose (its expression made
to never fire) and the tests must then fail, so no alert goes without a test that would catch it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from skewless.devstack.prometheus import RULES, binaries
from skewless.settings import load_settings

TESTS = sorted((Path(__file__).parent / "rules").glob("*.test.yml"))


@pytest.fixture(scope="module")
def promtool() -> Path:
    return binaries(load_settings()) / "promtool"


def alerts(rules: dict) -> list[str]:
    return [r["alert"] for group in rules["groups"] for r in group["rules"] if "alert" in r]


def promtool_test(promtool: Path, folder: Path, rules_text: str) -> subprocess.CompletedProcess[str]:
    """Every rule test run against `rules_text`, copied beside them as the alerts.yml they name."""
    for test in TESTS:
        shutil.copy(test, folder / test.name)
    (folder / "alerts.yml").write_text(rules_text)
    return subprocess.run(
        [str(promtool), "test", "rules", *(t.name for t in TESTS)], cwd=folder, capture_output=True, text=True, timeout=120
    )


def test_the_rules_pass_promtool_check(promtool: Path) -> None:
    done = subprocess.run([str(promtool), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_config_loads_the_same_rules(promtool: Path) -> None:
    config = RULES.parent / "prometheus.yml"
    assert yaml.safe_load(config.read_text())["rule_files"] == [RULES.name]
    done = subprocess.run([str(promtool), "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_test() -> None:
    tested = {t["alertname"] for f in TESTS for case in yaml.safe_load(f.read_text())["tests"] for t in case.get("alert_rule_test", [])}
    assert set(alerts(yaml.safe_load(RULES.read_text()))) == tested


def test_the_rules_pass_their_tests(promtool: Path, tmp_path: Path) -> None:
    done = promtool_test(promtool, tmp_path, RULES.read_text())
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("alert", alerts(yaml.safe_load(RULES.read_text())))
def test_a_broken_alert_fails_its_tests(promtool: Path, tmp_path: Path, alert: str) -> None:
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = "vector(1) > 2"  # never fires
    done = promtool_test(promtool, tmp_path, yaml.safe_dump(rules, sort_keys=False))
    output = done.stdout + done.stderr
    assert done.returncode != 0, f"the tests still pass with {alert} broken:\n{output}"
    assert f"alertname: {alert}," in output, output  # failed for the alert broken, not for another reason
