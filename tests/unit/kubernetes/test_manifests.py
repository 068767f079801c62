"""Every file under kubernetes/ passes the operators' CRD schemas, and a broken one does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.unit.kubernetes import kubeconform

KUBERNETES = kubeconform.REPO / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.rglob("*.yaml") if kubeconform.SCHEMAS not in p.parents)


def test_there_are_manifests_for_the_job_kafka_and_cassandra() -> None:
    kinds = {d["kind"] for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) if d}
    assert {"FlinkDeployment", "ConfigMap", "Kafka", "KafkaNodePool", "KafkaTopic", "CassandraDatacenter"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.relative_to(KUBERNETES).as_posix())
def test_manifest_passes_its_schema(path: Path) -> None:
    result = kubeconform.validate([path])
    assert result.ok, result.failures()
    assert result.resources, f"{path}: no resource validated"


DROP = object()  # as a value for _set: remove the key
JOB = "jobs/skewless-transactions.yaml"


def _set(kind: str, keys: tuple[str, ...], value: object) -> Callable[[list[dict]], None]:
    """An edit of the first document of `kind`: set (or DROP) the value at `keys`."""

    def edit(docs: list[dict]) -> None:
        node = next(d for d in docs if d["kind"] == kind)
        for key in keys[:-1]:
            node = node[key]
        if value is DROP:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return edit


def broken(tmp_path: Path, source: str, edit: Callable[[list[dict]], None]) -> Path:
    docs = list(yaml.safe_load_all((KUBERNETES / source).read_text()))
    edit(docs)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


@pytest.mark.parametrize(
    ("source", "edit", "expected"),
    [
        # a value outside an enum
        (JOB, _set("FlinkDeployment", ("spec", "job", "upgradeMode"), "sometimes"), "upgradeMode"),
        # a misspelt key: strict schemas refuse what the API server would silently prune
        (JOB, _set("FlinkDeployment", ("spec", "job", "paralelism"), 2), "paralelism"),
        # a wrong type
        ("cassandra.yaml", _set("CassandraDatacenter", ("spec", "size"), "three"), "size"),
        # a required field missing
        ("kafka.yaml", _set("Kafka", ("spec", "kafka", "listeners"), DROP), "listeners"),
        # a kind no schema covers fails rather than being skipped
        ("storage.yaml", _set("PersistentVolumeClaim", ("kind",), "PersistentVolume"), "PersistentVolume"),
    ],
    ids=["enum", "unknown-key", "type", "required", "unknown-kind"],
)
@pytest.mark.parametrize("validator", ["kubeconform", "jsonschema"])
def test_a_broken_manifest_fails(
    tmp_path: Path, source: str, edit: Callable[[list[dict]], None], expected: str, validator: str
) -> None:
    path = broken(tmp_path, source, edit)
    if validator == "jsonschema":
        result = kubeconform.in_python([path])
    else:
        try:
            result = kubeconform.with_kubeconform([path])
        except kubeconform.KubeconformUnavailable as exc:
            pytest.skip(f"{exc} (the jsonschema case of this test still runs)")
    assert not result.ok
    assert any(expected in failure for failure in result.failures()), result.failures()


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.relative_to(KUBERNETES).as_posix())
def test_the_python_fallback_agrees_on_every_manifest(path: Path) -> None:
    result = kubeconform.in_python([path])
    assert result.ok, result.failures()
