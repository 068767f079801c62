"""`skewless status` without a stack: the histogram quantile (skewless.metrics.bucket_quantile over
a scrape's le labels) against a brute-force one, the SLO verdict, parsing a Prometheus page of the reporter's shape (prometheus_sample.txt, written by hand
from the catalogue's names: two subtasks of one job, another job's series on the same page), the
text, and the command's exit codes and one-line errors with the jobs and the scrape replaced."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings as hypothesis_settings, strategies as st

from skewless.cli import main
from skewless.cluster import deployments, status
from skewless.cluster.rest import JobOverview
from skewless.cluster.scrape import Sample, parse
from skewless.cluster.status import Slo, Target, histogram_quantile, job_status, render
from skewless.errors import SkewlessError

SAMPLE = Path(__file__).with_name("prometheus_sample.txt")
JOB = "4d1f0c3e9a7b2c6d8e0f1a2b3c4d5e6f"
VIEW = "user_transactions@1"
BOUNDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)


def _target(state: str = "RUNNING", job_id: str = JOB) -> Target:
    return Target("t1.transactions--user_transactions-v1", "t1.transactions", (VIEW,), job_id, state, "local (pid 1)",
                  1_000)


def _samples() -> list[Sample]:
    return parse(SAMPLE.read_text())


# -- the quantile ---------------------------------------------------------------------------


def _brute_force(q: float, observations: list[float], bounds: tuple[float, ...]) -> float:
    """PromQL's definition, step by step: walk the buckets in order until the one holding rank
    q*n, then place the rank linearly between that bucket's edges."""
    counts = [sum(1 for o in observations if o <= b) for b in bounds] + [len(observations)]
    rank = q * len(observations)
    for i, cumulative in enumerate(counts):
        if cumulative >= rank:
            if i == len(bounds):
                return bounds[-1]
            lower = 0.0 if i == 0 else bounds[i - 1]
            below = 0 if i == 0 else counts[i - 1]
            return lower + (bounds[i] - lower) * (rank - below) / (cumulative - below)
    raise AssertionError("rank beyond the count")


def _buckets(observations: list[float], bounds: tuple[float, ...]) -> dict[str, float]:
    found = {f"{b:g}": float(sum(1 for o in observations if o <= b)) for b in bounds}
    return {**found, "+Inf": float(len(observations))}


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=1, max_size=300),
       st.floats(min_value=0.01, max_value=0.999))
def test_the_quantile_is_promql_s_interpolation_and_lies_in_the_true_quantile_s_bucket(observations: list[float],
                                                                                      q: float) -> None:
    got = histogram_quantile(q, _buckets(observations, BOUNDS))
    assert got == pytest.approx(_brute_force(q, observations, BOUNDS), rel=1e-9, abs=1e-12)
    # And it estimates the true quantile: both lie in the same bucket (or beyond the last bound).
    true = float(np.quantile(observations, q, method="inverted_cdf"))
    edges = (0.0, *BOUNDS)
    if true > BOUNDS[-1]:
        assert got == BOUNDS[-1]
    else:
        i = next(i for i, b in enumerate(BOUNDS) if true <= b)
        assert edges[i] - 1e-9 <= got <= BOUNDS[i] + 1e-9


def test_the_quantile_of_the_edge_cases() -> None:
    assert histogram_quantile(0.5, {"0.1": 0, "0.2": 100, "+Inf": 100}) == pytest.approx(0.15)
    assert histogram_quantile(0.99, {"0.1": 0, "+Inf": 0}) is None  # no writes yet
    assert histogram_quantile(0.99, {"0.1": 5, "0.2": 5}) is None  # no +Inf: incomplete
    assert histogram_quantile(0.5, {"1": 0, "2": 0, "+Inf": 7}) == 2.0  # a replay: all beyond the bounds
    # A scrape that read a later bucket before more writes landed in an earlier one: evened out.
    assert histogram_quantile(0.5, {"0.1": 60, "0.2": 50, "+Inf": 100}) == pytest.approx(0.1 * 50 / 60)
    with pytest.raises(ValueError):
        histogram_quantile(1.5, {"+Inf": 1, "1": 1})


# -- parsing and one job's status --------------------------------------------------------------


def test_the_page_parses_and_keeps_only_the_job_s_series() -> None:
    samples = _samples()
    assert {s.labels["job_id"] for s in samples if "job_id" in s.labels} == {JOB, "9" * 32}
    got = job_status(_target(), samples)
    assert got.has_metrics and got.lag == 42  # pendingRecords over both subtasks, not the other job's
    assert got.decode_dead_letters == {"absurd_event_time": 2, "corrupt_avro": 2, "not_avro": 2, "unknown_schema": 2}
    (view,) = got.views
    assert (view.view, view.events_in, view.updates_out) == (VIEW, 412, 1261)
    assert view.dead_letters == {"missing_key": 2}
    assert view.slo == Slo(0.99, 2.0)
    # Buckets summed over the subtasks: 1100 writes, 500 <= 0.1 s, 900 <= 0.25 s, 1080 <= 1 s, 1093 <= 2 s.
    assert view.freshness[0.5] == pytest.approx(0.1 + 0.15 * 50 / 400)
    assert view.freshness[0.99] == pytest.approx(1 + 9 / 13)
    assert view.at_slo == view.freshness[0.99] and not view.breached
    assert got.problems() == []


def test_a_job_with_no_series_says_so() -> None:
    got = job_status(_target(job_id="f" * 32), _samples())
    assert not got.has_metrics and got.problems() == []
    assert any("no metrics yet" in line for line in render([got]))
    stopped = job_status(_target("STOPPED", job_id="f" * 32), _samples())
    assert "  no metrics: the job is not running" in render([stopped])


def _with_slow_writes(samples: list[Sample], extra: float) -> list[Sample]:
    """The page with `extra` more writes of subtask 0 beyond 2 s (they land in 5 s and above)."""
    return [Sample(s.name, s.labels, s.value + extra)
            if s.name == status.FRESHNESS_BUCKET and s.labels["job_id"] == JOB and s.labels["subtask_index"] == "0"
            and s.labels["le"] not in ("0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2") else s
            for s in samples]


def test_the_slo_is_breached_when_its_quantile_exceeds_its_bound() -> None:
    breached = job_status(_target(), _with_slow_writes(_samples(), 20))  # 27 of 1120 beyond 2 s: p99 > 2 s
    (view,) = breached.views
    assert view.at_slo is not None and view.at_slo > 2 and view.breached
    assert breached.problems() == [f"{VIEW} breaches its freshness SLO: p99 is {view.at_slo:.2f} s > 2.00 s"]
    assert "BREACHED" in "\n".join(render([breached]))


def test_no_slo_means_no_verdict_and_a_dash() -> None:
    samples = [s for s in _with_slow_writes(_samples(), 500) if s.name != status.SLO_GAUGE]
    got = job_status(_target(), samples)
    assert got.views[0].slo is None and not got.views[0].breached and got.problems() == []
    row = next(line for line in render([got]) if line.strip().startswith(VIEW))
    assert "  -  " in row


def test_a_quantile_beyond_the_last_bound_is_shown_as_a_lower_bound() -> None:
    old = [Sample(s.name, s.labels, 1_000 if s.labels.get("le") == "+Inf" else 0) if s.name == status.FRESHNESS_BUCKET
           else s for s in _samples()]  # a replay: every write of job JOB beyond 3600 s
    got = job_status(_target(), old)
    assert got.views[0].freshness == {0.5: 3600.0, 0.99: 3600.0} and got.views[0].beyond == {0.5, 0.99}
    assert "p99 <= 2.00 s: BREACHED (>3600.00 s)" in "\n".join(render([got]))
    assert ">3600.00 s  >3600.00 s" in "\n".join(render([got]))
    assert not status.beyond_bounds(0.5, {"1": 5, "+Inf": 10}) and status.beyond_bounds(0.51, {"1": 5, "+Inf": 10})


def test_a_job_not_running_is_a_problem() -> None:
    assert job_status(_target("CLUSTER DOWN"), _samples()).problems() == [
        f"job {JOB} of t1.transactions--user_transactions-v1 is CLUSTER DOWN"]


def test_render_shows_checkpoint_age_lag_and_letters() -> None:
    text = "\n".join(render([job_status(_target(), _samples())], now_ms=3_500))
    assert "last checkpoint: 2.5 s ago   Kafka lag: 42" in text
    assert "decode dead letters: absurd_event_time=2, corrupt_avro=2, not_avro=2, unknown_schema=2" in text
    assert "p99 <= 2.00 s: ok (1.69 s)" in text


def test_nan_gauges_are_left_out_of_sums() -> None:
    got = status.total(_samples(), status.OPERATOR + "view_event_time_lag_ms", view=VIEW)
    assert got is None  # the one sample is NaN
    assert not math.isnan(status.total(_samples(), status.EVENTS_IN, view=VIEW) or math.nan)


def test_the_lineage_of_a_run_job_names_its_topic_and_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skewless.settings import load_settings

    monkeypatch.setattr(status, "running_jobs",
                        lambda home: [("a.b--v-v2+w-v1", {"job_id": "j9", "pid": 77})])
    deployments.save(tmp_path, deployments.Deployment("c--x-v1", "c", ("x-v1",), (), "http://127.0.0.1:1", 1, "j1", 5))
    found = status.targets(load_settings(home=tmp_path))
    assert [(t.topic, t.views, t.job_id, t.state) for t in found] == [
        ("c", ("x@1",), "j1", "CLUSTER DOWN"),  # nothing listens on port 1
        ("a.b", ("v@2", "w@1"), "j9", "RUNNING"),
    ]
    assert [t.lineage for t in status.targets(load_settings(home=tmp_path), topic="a.b")] == ["a.b--v-v2+w-v1"]


class _FakeRest:
    """FlinkRest's two calls that status makes, answered from a table of jobs."""

    jobs: dict[str, tuple[str, dict]] = {}

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url

    def job(self, job_id: str) -> JobOverview | None:
        found = self.jobs.get(job_id)
        return None if found is None else JobOverview(job_id, "n", found[0], 1, 2)

    def checkpoints(self, job_id: str) -> dict:
        return self.jobs[job_id][1]


def test_a_cluster_job_s_state_and_checkpoint_come_from_the_rest_api(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from skewless.settings import load_settings

    monkeypatch.setattr(status, "running_jobs", lambda home: [])
    monkeypatch.setattr(status, "FlinkRest", _FakeRest)
    monkeypatch.setattr(_FakeRest, "jobs", {
        "j1": ("RUNNING", {"latest": {"completed": {"id": 4, "latest_ack_timestamp": 1_700_000_000_123}}}),
        "j2": ("RESTARTING", {"latest": {"completed": None}}),  # none completed yet
    })
    for lineage, job_id in (("a--x-v1", "j1"), ("b--y-v1", "j2"), ("c--z-v1", "j3")):
        deployments.save(tmp_path, deployments.Deployment(lineage, lineage[0], (lineage[3:],), (), "http://jm:8081", 2,
                                                          job_id, 5))
    found = status.targets(load_settings(home=tmp_path))
    assert [(t.job_id, t.state, t.checkpoint_at_ms, t.where) for t in found] == [
        ("j1", "RUNNING", 1_700_000_000_123, "http://jm:8081"),
        ("j2", "RESTARTING", None, "http://jm:8081"),
        ("j3", "UNKNOWN (being resubmitted?)", None, "http://jm:8081"),
    ]
    text = render([job_status(t, []) for t in found], now_ms=1_700_000_001_123)
    assert [line.split("   ")[0] for line in text if "last checkpoint" in line] == [
        f"  last checkpoint: {age}" for age in ("1.0 s ago", "none yet", "unknown")]


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Target]:
    """The command's jobs (edit the list) and the sample page as every scrape's answer."""
    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    wanted: list[Target] = []
    monkeypatch.setattr(status, "targets", lambda settings, topic=None: [t for t in wanted if topic in (None, t.topic)])
    monkeypatch.setattr(status, "scrape", lambda ports: {9249: _samples()})
    return wanted


def _status(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, ["status", *args])
    return done.exit_code, done.stdout, done.stderr


def test_exit_0_when_every_job_runs_within_its_slo(jobs: list[Target]) -> None:
    jobs.append(_target())
    code, out, err = _status()
    assert code == 0, err
    assert VIEW in out and "ok (1.69 s)" in out and err == ""


def test_exit_1_and_why_when_a_job_is_not_running(jobs: list[Target]) -> None:
    jobs.extend([_target(), _target("STOPPED", job_id="e" * 32)])
    code, out, err = _status()
    assert code == 1
    assert err.strip() == f"not healthy: job {'e' * 32} of t1.transactions--user_transactions-v1 is STOPPED"


def test_exit_1_and_why_when_an_slo_is_breached(jobs: list[Target], monkeypatch: pytest.MonkeyPatch) -> None:
    jobs.append(_target())
    monkeypatch.setattr(status, "scrape", lambda ports: {9249: _with_slow_writes(_samples(), 20)})
    code, _, err = _status()
    assert code == 1 and err.startswith(f"not healthy: {VIEW} breaches its freshness SLO: p99 is ")


def test_no_jobs_at_all_is_said_and_fine(jobs: list[Target]) -> None:
    assert _status() == (0, "", "no jobs deployed or running\n")


def test_errors_are_one_line(jobs: list[Target], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _status("--topic", "nope")
    assert (code, out) == (1, "")
    assert err == "error: no job of topic 'nope' is deployed or running (`skewless jobs` lists them)\n"

    def broken(ports: object) -> dict[int, list[Sample]]:
        raise SkewlessError("a metrics endpoint served text that is not Prometheus's format: bad line")

    jobs.append(_target())
    monkeypatch.setattr(status, "scrape", broken)
    code, out, err = _status()
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: a metrics endpoint") and "Traceback" not in err


def test_a_page_that_is_not_prometheus_text_is_refused_in_one_line() -> None:
    with pytest.raises(SkewlessError, match="not Prometheus's format"):
        parse('flink_x{job_id="a" 1\n')


def test_html_from_sampling_has_a_plot_per_view(jobs: list[Target], monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    from skewless.cluster import report

    jobs.append(_target())
    pages = iter([_samples(), _samples(), _with_slow_writes(_samples(), 3), _with_slow_writes(_samples(), 9)])
    monkeypatch.setattr(report, "scrape", lambda ports: {9249: next(pages)})
    monkeypatch.setattr(report, "prometheus_answers", lambda settings: False)
    monkeypatch.setattr(report.time, "sleep", lambda seconds: None)
    out = tmp_path / "status.html"
    code, _, err = _status("--html", str(out), "--sample-seconds", "2")
    assert code == 0, err
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 1 and VIEW in page
    assert "read every second for 2 s" in err


def test_a_step_between_two_readings_is_what_happened_in_it() -> None:
    from skewless.cluster.report import _Reading, trend_of

    before = _Reading(10.0, {"1": 10, "2": 10, "+Inf": 10}, 100, 300)
    after = _Reading(12.0, {"1": 10, "2": 30, "+Inf": 30}, 140, 380)
    restarted = _Reading(13.0, {"1": 0, "2": 0, "+Inf": 0}, 0, 0)
    trend = trend_of(VIEW, [before, after, restarted], None)
    assert trend.times == (12.0, 13.0)
    assert trend.freshness[0.5][0] == pytest.approx(1.5)  # the 20 new writes, all within (1, 2]
    assert trend.events_per_s[0] == 20 and trend.updates_per_s[0] == 40
    assert all(math.isnan(v) for v in (trend.freshness[0.5][1], trend.events_per_s[1]))  # a reset: no point


def test_html_samples_when_prometheus_has_no_points_of_the_job_yet(jobs: list[Target], monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    from skewless.cluster import report

    jobs.append(_target())
    monkeypatch.setattr(report, "prometheus_answers", lambda settings: True)
    monkeypatch.setattr(report, "prometheus_trends",
                        lambda settings, job, window: [report.Trend(VIEW, (), {}, (), (), None)])
    monkeypatch.setattr(report.time, "sleep", lambda seconds: None)
    code, _, err = _status("--html", str(tmp_path / "status.html"), "--sample-seconds", "2")
    assert code == 0 and "read every second for 2 s" in err, err
