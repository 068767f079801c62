"""freshness_slo and drift: compiled into the spec as monitoring metadata, bad values named."""

from __future__ import annotations

import json

import pytest

from skewless.dsl import Drift, Entity, Source
from skewless.dsl.monitoring import compile_drift, compile_freshness_slo
from skewless.errors import SpecError
from skewless.spec import DRIFT_DEFAULTS, ViewSpec
from tests.unit.skewless.dsl.test_compile import problems, view


@pytest.mark.parametrize(
    ("text", "compiled"),
    [
        ("p99 < 2s", {"quantile": 0.99, "max_ms": 2000}),
        ("p50 < 500ms", {"quantile": 0.5, "max_ms": 500}),
        ("p99.9 < 1m", {"quantile": 0.999, "max_ms": 60_000}),
        ("  P95<1m30s ", {"quantile": 0.95, "max_ms": 90_000}),
    ],
)
def test_freshness_slo_compiles_to_a_quantile_and_milliseconds(text: str, compiled: dict) -> None:
    assert compile_freshness_slo(text) == compiled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 < fast", 'freshness_slo "p99 < fast": expected "pNN < DURATION" such as "p99 < 2s"'),
        ("99 < 2s", 'freshness_slo "99 < 2s": expected "pNN < DURATION"'),
        ("p99 > 2s", 'freshness_slo "p99 > 2s": expected'),
        ("p100 < 2s", "the percentile must be above p0 and below p100"),
        ("p0 < 2s", "the percentile must be above p0 and below p100"),
        ("p99 < 0s", "must be positive"),
        (2000, "freshness_slo 2000: expected"),
    ],
)
def test_a_bad_freshness_slo_says_what_to_write(text: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        compile_freshness_slo(text)
    assert message in str(err.value)


def test_drift_fills_the_defaults_from_a_drift_or_a_dict() -> None:
    assert compile_drift(Drift()) == DRIFT_DEFAULTS
    assert compile_drift(Drift(psi=1, js=None)) == {**DRIFT_DEFAULTS, "psi": 1.0, "js": None}
    assert compile_drift({"null_rate": 0.01, "missing_rate": 0.5}) == {
        **DRIFT_DEFAULTS, "null_rate": 0.01, "missing_rate": 0.5,
    }
    assert compile_drift(None) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"pis": 0.2}, "drift: unknown threshold(s) ['pis']; known: psi, js, null_rate, missing_rate"),
        (Drift(psi=-1), "drift threshold psi=-1.0 must be a number >= 0, or None to skip it"),
        ({"js": 2}, "drift threshold js=2.0 must be a number in [0, 1]"),
        ({"null_rate": True}, "drift threshold null_rate=True must be a number in [0, 1]"),
        (0.2, "drift must be a Drift(psi=..., js=..., null_rate=...) or a dict, got float"),
    ],
)
def test_bad_drift_thresholds_are_named(value: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        compile_drift(value)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_a_view_compiles_both_fields_into_its_spec(source: Source, user: Entity) -> None:
    plain = view(source, user).compile()
    watched = view(source, user, freshness_slo="p99 < 2s", drift=Drift(psi=0.3)).compile()
    assert watched.freshness_slo == {"quantile": 0.99, "max_ms": 2000}
    assert watched.drift == {**DRIFT_DEFAULTS, "psi": 0.3}
    # Metadata: the computation hash is blind to them; unset, the JSON is what it was.
    assert watched.computation_hash() == plain.computation_hash()
    assert watched.content_hash() != plain.content_hash()
    assert "freshness_slo" not in plain.to_dict() and "drift" not in plain.to_dict()
    body = json.loads(json.dumps(watched.to_dict()))
    assert body["freshness_slo"] == {"quantile": 0.99, "max_ms": 2000}
    assert ViewSpec.from_dict(body) == watched
    hash(watched)  # still usable as a key: the dict fields stay out of the dataclass hash


def test_a_views_monitoring_problems_join_the_others(source: Source, user: Entity) -> None:
    text = problems(view(source, user, ttl="soon", freshness_slo="p99 < fast", drift={"psi": -1}))
    assert "3 problem(s)" in text
    assert 'freshness_slo "p99 < fast"' in text and "drift threshold psi=-1.0" in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("freshness_slo", {"quantile": 1.5, "max_ms": 2000}, "freshness_slo {'quantile': 1.5, 'max_ms': 2000} must be"),
        ("freshness_slo", {"quantile": 0.99}, "must be {\"quantile\": 0 < q < 1"),
        ("drift", {"psi": 0.2}, "drift must hold the thresholds ['js', 'missing_rate', 'null_rate', 'psi']"),
    ],
)
def test_from_dict_checks_a_hand_written_spec(source: Source, user: Entity, field: str, value: dict,
                                              message: str) -> None:
    body = {**view(source, user).compile().to_dict(), field: value}
    with pytest.raises(SpecError) as err:
        ViewSpec.from_dict(body)
    assert message in str(err.value) and "view payments_view" in str(err.value)
