"""The operation catalogue: the JVM's copy (a jar resource) is the export of skewless.operations."""

import json

import pytest

from skewless.errors import SpecError
from skewless.operations import OPERATIONS, RESOURCE, catalogue, check_params, export_text
from skewless.settings import REPO_ROOT
from skewless.spec import FeatureSpec


def test_the_committed_resource_is_the_export() -> None:
    committed = (REPO_ROOT / RESOURCE).read_text()
    assert committed == export_text(), "run `python -m skewless.operations` and commit the resource"
    assert json.loads(committed) == catalogue()


def test_defaults_and_ranges_come_from_the_catalogue() -> None:
    assert check_params("approx_percentile", {"q": 0.5}) == {"q": 0.5, "relative_accuracy": 0.01, "max_buckets": 2048}
    with pytest.raises(SpecError, match=r"aggregation last_n: n must be in \[1, 1000\], got 0"):
        check_params("last_n", {"n": 0})
    with pytest.raises(SpecError, match=r"q must be a number in \[0.0, 1.0\], got 2"):
        check_params("approx_percentile", {"q": 2})
    with pytest.raises(SpecError, match="parameter 'n' is required"):
        check_params("last_n", {})
    with pytest.raises(SpecError, match="unknown parameter"):
        check_params("sum", {"n": 1})


def test_the_spec_types_features_by_the_catalogue() -> None:
    for op in OPERATIONS.values():
        params = tuple((p.name, p.lo) for p in op.params if p.required)
        spec = FeatureSpec("f", op.name, None if not op.needs_column else "x", 3_600_000, 3_600_000, params)
        assert (spec.value_type, spec.cql_type) == (op.value_type, op.cql_type)
    with pytest.raises(SpecError, match="needs an input column"):
        FeatureSpec("f", "sum", None, None)
