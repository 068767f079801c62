"""The manifests `skewless kubernetes render` writes: what they carry, and that they pass the CRD schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from skewless.cli import main
from skewless.deploy.kubernetes import JOB_FILES, RenderOptions, deployment_name, render, to_yaml, write
from skewless.errors import ConfigError
from skewless.registry.catalogue import Catalogue, JobViews
from tests.unit.kubernetes import kubeconform

REPO = Path(__file__).resolve().parents[4]
CHECKED_IN = REPO / "kubernetes" / "jobs" / "skewless-transactions.yaml"
# What kubernetes/jobs/skewless-transactions.yaml was rendered with.
CHECKED_IN_OPTIONS = RenderOptions(parallelism=2)


def documents(catalogue: Catalogue, **options: object) -> dict[str, dict]:
    job = catalogue.job((), "transactions")
    return {d["kind"]: d for d in render(job, RenderOptions(**options))}  # type: ignore[arg-type]


def test_the_deployment_runs_the_pipeline_through_the_python_driver(example_catalogue: Catalogue) -> None:
    deployment = documents(example_catalogue, parallelism=3)["FlinkDeployment"]
    job = deployment["spec"]["job"]
    assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert job["jarURI"].startswith("local:///opt/flink/opt/flink-python")
    assert job["args"][:2] == ["-pym", "jobs.pipeline"]
    assert (job["parallelism"], job["upgradeMode"]) == (3, "savepoint")
    # jobs/pipeline.py sets its parallelism from SKEWLESS_JOB_PARALLELISM: the two must agree.
    env = {e["name"]: e.get("value") for e in deployment["spec"]["podTemplate"]["spec"]["containers"][0]["env"]}
    assert env["SKEWLESS_JOB_PARALLELISM"] == "3"


def test_every_spec_and_schema_is_mounted_and_passed(example_catalogue: Catalogue) -> None:
    docs = documents(example_catalogue)
    data = docs["ConfigMap"]["data"]
    args = docs["FlinkDeployment"]["spec"]["job"]["args"]
    job = example_catalogue.job((), "transactions")
    assert sorted(json.loads(data[k])["name"] for k in data if k.endswith(".json")) == sorted(s.name for s in job.specs)
    assert [data[k] for k in data if k.endswith(".avsc")] == job.schema_texts
    passed = {args[i + 1] for i, a in enumerate(args) if a in ("--spec", "--schema")}
    assert passed == {f"{JOB_FILES}/{key}" for key in data}
    volumes = docs["FlinkDeployment"]["spec"]["podTemplate"]["spec"]["volumes"]
    assert {"name": "job-files", "configMap": {"name": docs["ConfigMap"]["metadata"]["name"]}} in volumes


def test_the_cluster_keeps_state_on_s3_with_kubernetes_ha_and_prometheus(example_catalogue: Catalogue) -> None:
    conf = documents(example_catalogue, bucket="state")["FlinkDeployment"]["spec"]["flinkConfiguration"]
    assert conf["high-availability.type"] == "kubernetes"
    for key in ("high-availability.storageDir", "execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"):
        assert conf[key].startswith("s3://state/skewless-transactions/"), key
    assert conf["metrics.reporter.prom.factory.class"].startswith("org.apache.flink.metrics.prometheus.")
    assert conf["metrics.reporter.prom.port"] == "9249"
    assert all(isinstance(v, str) for v in conf.values())


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("transactions", "skewless-transactions"),
        ("Payments.EU_v2", "skewless-payments-eu-v2"),
        ("x" * 80, "skewless-" + "x" * 36),
    ],
)
def test_deployment_names_are_dns_labels(topic: str, name: str) -> None:
    assert deployment_name(topic) == name


def test_a_topic_without_letters_or_digits_has_no_name() -> None:
    with pytest.raises(ConfigError, match="no Kubernetes name"):
        deployment_name("._-")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"parallelism": 0}, "--parallelism"), ({"image": " "}, "--image"), ({"bucket": "Not_A_Bucket"}, "--bucket")],
)
def test_bad_options_say_what_to_fix(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RenderOptions(**options)


def test_a_config_map_over_the_limit_is_refused(example_catalogue: Catalogue) -> None:
    job = example_catalogue.job((), "transactions")
    huge = JobViews(job.specs, ["x" * 1_100_000])
    with pytest.raises(ConfigError, match="fewer views per job"):
        render(huge, RenderOptions())


def test_the_yaml_reads_back_as_the_documents(example_catalogue: Catalogue) -> None:
    docs = render(example_catalogue.job((), "transactions"), RenderOptions())
    assert list(yaml.safe_load_all(to_yaml(docs))) == docs


def test_the_checked_in_manifest_is_what_the_example_repo_renders(example_catalogue: Catalogue) -> None:
    job = example_catalogue.job((), "transactions")
    assert CHECKED_IN.read_text() == to_yaml(render(job, CHECKED_IN_OPTIONS)), (
        "kubernetes/jobs/ is stale: run `skewless apply --repo features/` then "
        "`skewless kubernetes render --topic transactions --parallelism 2`"
    )


def test_rendered_manifests_pass_the_crd_schemas(example_catalogue: Catalogue, tmp_path: Path) -> None:
    path = write(render(example_catalogue.job((), "transactions"), RenderOptions(parallelism=4)), tmp_path)
    result = kubeconform.validate([path])
    assert result.ok, result.failures()
    assert sorted(r["kind"] for r in result.resources) == ["ConfigMap", "FlinkDeployment"]


def test_the_command_writes_the_manifests(example_catalogue: Catalogue, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["kubernetes", "render", "--topic", "transactions", "--parallelism", "2", "--out", str(out)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    kinds = [d["kind"] for d in yaml.safe_load_all((out / "skewless-transactions.yaml").read_text())]
    assert kinds == ["ConfigMap", "FlinkDeployment"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "nope"], "no registered view reads topic 'nope'"),
        (["--topic", "a b"], "not a valid Kafka topic name"),
        (["--topic", "transactions", "--bucket", "UPPER"], "not an S3 bucket name"),
    ],
)
def test_command_errors_are_one_line(
    example_catalogue: Catalogue, tmp_path: Path, args: list[str], message: str
) -> None:
    done = CliRunner().invoke(main, ["kubernetes", "render", *args, "--out", str(tmp_path)])
    assert done.exit_code == 1
    assert message in done.output and "Traceback" not in done.output
