"""Always on, for real (design §6): an unbounded job over a live producer survives repeated
kill -9 of its whole process group, a Cassandra outage and a Kafka broker outage, and ends
with what a fault-free run of the same topic writes, and what the oracle computes.

`make test` runs a small configuration (about 5 minutes); `make chaos` the same harness at
CHAOS_EVENTS (1M) and CHAOS_KILLS (20), writing bench/out/chaos.json and merging
recovery_p50_s / recovery_max_s into bench/results.json. See tests/chaos/config.py for the knobs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.config import ChaosConfig
from tests.chaos.harness import ChaosRun

pytestmark = pytest.mark.integration

CONFIG = ChaosConfig.from_env()
BENCH_OUT = Path(__file__).resolve().parents[2] / "bench" / "out" / "chaos.json"


# What each judged part says when it fails, filled from its figures in the report.
FAILURE_TEXT = {
    "history": "history (steps up to {horizon_ms}): {duplicates} duplicated rows, {missing} missing, {mismatched} "
    "mismatched, {extra_mismatched} extra steps off the fault-free function ({chaos_steps} chaos vs "
    "{reference_steps} fault-free steps); examples: {examples}",
    "oracle": "history vs oracle: {mismatched} of {checked} steps wrong; examples: {examples}",
    "online": "Cassandra: {mismatched_reference} of {entities} entities differ from the fault-free run, "
    "{mismatched_oracle} from the oracle; examples: {examples}",
    "dead_letters": "dead letters: {letters} letters for {malformed} malformed records: {duplicated} duplicated, "
    "{missing} missing, {unexpected} unexpected; examples: {examples}",
}


def failures(report: dict[str, Any], cfg: ChaosConfig) -> list[str]:
    """Every broken promise of the run, each with its figures and a few examples."""
    out = []
    if report["kills"] < cfg.kills:
        out.append(f"only {report['kills']} of {cfg.kills} job kills happened")
    for part, text in FAILURE_TEXT.items():
        if not report["ok"][part]:
            out.append(text.format(**report[part], horizon_ms=report["horizon_ms"]))
    for exit_ in report["job_exits"]:
        out.append(f"{exit_['what']} (exit {exit_['exit_code']}) during {exit_['during']}; {exit_['log']}:\n{exit_['tail']}")
    if report["recoveries_unresolved"]:
        out.append(f"restarts never followed by a checkpoint: {report['recoveries_unresolved']}")
    if report["producer_errors"]:
        out.append(f"the producer failed to send: {report['producer_errors']}")
    return out


@pytest.mark.timeout(int(CONFIG.produce_seconds * 3 + 1_200))
def test_kills_and_outages_leave_the_results_of_a_fault_free_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():  # progress on the terminal while it runs
        report = ChaosRun(CONFIG, tmp_path).run()
    text = json.dumps(report, indent=2, default=str)
    (tmp_path / "chaos.json").write_text(text)
    if CONFIG.bench:
        from bench import results

        BENCH_OUT.parent.mkdir(parents=True, exist_ok=True)
        BENCH_OUT.write_text(text)
        results.update({"recovery_p50_s": report["recovery_p50_s"], "recovery_max_s": report["recovery_max_s"]})
    broken = failures(report, CONFIG)
    assert not broken, "\n\n".join(broken) + f"\n\nfull report: {tmp_path / 'chaos.json'}"
