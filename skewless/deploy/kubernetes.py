"""The Kubernetes manifests of one topic's job, rendered from the registry.

One job per topic (as `skewless run --topic`) becomes two documents for the Flink Kubernetes
Operator: a ConfigMap with the compiled view specs and the topic's Avro schemas, and a
FlinkDeployment that mounts it and runs `jobs.pipeline` through PyFlink's PythonDriver. The
cluster-wide pieces (Kafka, Cassandra, storage, secrets) are static files under kubernetes/.

    documents = render(catalogue.job((), "transactions"), RenderOptions(parallelism=2))
    write(documents, Path("kubernetes/jobs"))
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from skewless.errors import ConfigError
from skewless.registry.catalogue import JobViews

API_FLINK = "flink.apache.org/v1beta1"
DEFAULT_IMAGE = "skewless-job:0.1.0"
# The job image links the flink-python jar of whatever 2.1.x it was built on to this name.
PYTHON_DRIVER_JAR = "local:///opt/flink/opt/flink-python.jar"
JOB_FILES = "/opt/skewless/job"
PYTHON = "/opt/python/bin/python3.11"  # built into the job image (kubernetes/Dockerfile)
FLINK_CONF_DIR = "/opt/flink/conf"  # where the operator mounts the configuration below
# SKEWLESS_HOME on a volume every pod of the job shares (kubernetes/storage.yaml): the job keeps
# its lineage (journal, checkpoints it resumes from) there, see docs/deploying-kubernetes.md.
HOME = "/var/lib/skewless"
HOME_CLAIM = "skewless-home"
# The operator names Services after the deployment (<name>-rest); stay well below 63 characters.
NAME_LIMIT = 45
# etcd refuses objects over 1 MiB; leave room for the metadata.
CONFIGMAP_LIMIT = 1_000_000
SLOTS_PER_TASKMANAGER = 2
KAFKA_BOOTSTRAP = "skewless-kafka-bootstrap:9092"  # Strimzi's Service of kubernetes/kafka.yaml
CASSANDRA_HOSTS = "skewless-dc1-service:9042"  # cass-operator's Service of kubernetes/cassandra.yaml
CASSANDRA_DC = "dc1"


@dataclass(frozen=True)
class RenderOptions:
    parallelism: int = 1
    image: str = DEFAULT_IMAGE
    bucket: str = "skewless"
    s3_endpoint: str = "http://minio.skewless.svc:9000"

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise ConfigError(f"--parallelism must be 1 or more, got {self.parallelism}")
        if not self.image.strip():
            raise ConfigError("--image must name the job image, e.g. registry.example/skewless-job:0.1.0")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket):
            raise ConfigError(f"--bucket {self.bucket!r} is not an S3 bucket name (lower case, digits, '.', '-')")


def deployment_name(topic: str) -> str:
    """A DNS-1123 name for the topic's job: `skewless-` plus the topic, lower case, '-' for the rest."""
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")
    name = f"skewless-{slug}"[:NAME_LIMIT].rstrip("-")
    if not slug:
        raise ConfigError(f"topic {topic!r} gives no Kubernetes name; give it at least one letter or digit")
    return name


def job_files(job: JobViews) -> dict[str, str]:
    """ConfigMap keys -> text: one spec per view, the schemas oldest first (keys allow no '@')."""
    files = {
        f"{spec.name}-v{spec.version}.json": json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n"
        for spec in job.specs
    }
    files.update({f"schema-v{i + 1}.avsc": text for i, text in enumerate(job.schema_texts)})
    size = sum(len(key) + len(text.encode()) for key, text in files.items())
    if size > CONFIGMAP_LIMIT:
        raise ConfigError(
            f"the specs and schemas of topic {job.topic} are {size} bytes, over a ConfigMap's {CONFIGMAP_LIMIT}; "
            "run fewer views per job (--view) or trim the schemas' docs"
        )
    return files


def job_args(files: dict[str, str]) -> list[str]:
    """jobs/pipeline.py's command line (after PythonDriver's `-pym`) for the mounted files."""
    args = ["-pym", "jobs.pipeline"]
    args += [a for key in files if key.endswith(".json") for a in ("--spec", f"{JOB_FILES}/{key}")]
    args += [a for key in files if key.endswith(".avsc") for a in ("--schema", f"{JOB_FILES}/{key}")]
    return args


def flink_configuration(name: str, options: RenderOptions) -> dict[str, str]:
    """The cluster's Flink settings: HA, state on S3, the Prometheus reporter; strings, as Flink reads them."""
    state = f"s3://{options.bucket}/{name}"
    return {
        "high-availability.type": "kubernetes",
        "high-availability.storageDir": f"{state}/ha",
        "execution.checkpointing.dir": f"{state}/checkpoints",
        "execution.checkpointing.savepoint-dir": f"{state}/savepoints",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        # Keyed state outgrows a TaskManager's heap on real topics; incremental checkpoints
        # upload only the changed files.
        "state.backend.type": "rocksdb",
        "execution.checkpointing.incremental": "true",
        # flink-s3-fs-hadoop (a plugin in the image) reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
        # from the environment; path-style addressing for MinIO and other S3-compatible stores.
        "s3.endpoint": options.s3_endpoint,
        "s3.path.style.access": "true",
        # Flink's own reporter here: each pod has its own IP, so the loopback variant of
        # flink-conf/ would hide it from Prometheus.
        "metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
        "metrics.reporter.prom.port": "9249",
        "metrics.reporter.prom.filterLabelValueCharacters": "false",
        "taskmanager.numberOfTaskSlots": str(SLOTS_PER_TASKMANAGER),
        "python.execution-mode": "thread",
        "python.client.executable": PYTHON,
        "python.executable": PYTHON,
        "pipeline.object-reuse": "true",
        # As flink-conf/config.yaml: never give up, back off up to a minute.
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": "1 min",
        "restart-strategy.exponential-delay.reset-backoff-threshold": "10 min",
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": "2147483647",
    }


def _environment(options: RenderOptions) -> list[dict[str, Any]]:
    """The job's skewless settings (SKEWLESS_*) and the S3 credentials."""
    plain = {
        # jobs/pipeline.py loads the cluster's configuration from here, then sets its own checkpoint folders.
        "FLINK_CONF_DIR": FLINK_CONF_DIR,
        "SKEWLESS_HOME": HOME,
        "SKEWLESS_KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP,
        "SKEWLESS_CASSANDRA_HOSTS": CASSANDRA_HOSTS,
        "SKEWLESS_CASSANDRA_LOCAL_DC": CASSANDRA_DC,
        # The job sets its parallelism from the settings, which would override job.parallelism.
        "SKEWLESS_JOB_PARALLELISM": str(options.parallelism),
    }
    env: list[dict[str, Any]] = [{"name": key, "value": value} for key, value in plain.items()]
    secrets = {
        "AWS_ACCESS_KEY_ID": ("skewless-s3", "access-key"),
        "AWS_SECRET_ACCESS_KEY": ("skewless-s3", "secret-key"),
        "SKEWLESS_ICEBERG_URI": ("skewless-iceberg", "uri"),
        "SKEWLESS_ICEBERG_WAREHOUSE": ("skewless-iceberg", "warehouse"),
    }
    env += [{"name": key, "valueFrom": {"secretKeyRef": {"name": s, "key": k}}} for key, (s, k) in secrets.items()]
    return env


def _pod_template(name: str, options: RenderOptions) -> dict[str, Any]:
    """Every pod of the job: the settings, the mounted job files, the shared SKEWLESS_HOME, the metrics port."""
    container = {
        "name": "flink-main-container",  # the operator merges its own container into this one
        "env": _environment(options),
        "ports": [{"name": "metrics", "containerPort": 9249, "protocol": "TCP"}],
        "volumeMounts": [
            {"name": "job-files", "mountPath": JOB_FILES, "readOnly": True},
            {"name": "home", "mountPath": HOME},
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {"app.kubernetes.io/part-of": "skewless"}},
        "spec": {
            "containers": [container],
            "volumes": [
                {"name": "job-files", "configMap": {"name": f"{name}-job"}},
                {"name": "home", "persistentVolumeClaim": {"claimName": HOME_CLAIM}},
            ],
        },
    }


def config_map(name: str, topic: str, files: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-job", "labels": _labels(topic)},
        "data": files,
    }


def flink_deployment(name: str, job: JobViews, files: dict[str, str], options: RenderOptions) -> dict[str, Any]:
    return {
        "apiVersion": API_FLINK,
        "kind": "FlinkDeployment",
        "metadata": {
            "name": name,
            "labels": _labels(job.topic),
            "annotations": {"skewless.io/views": ",".join(spec.uid for spec in job.specs)},
        },
        "spec": {
            "image": options.image,
            "flinkVersion": "v2_1",
            "mode": "native",
            "serviceAccount": "flink",
            "flinkConfiguration": flink_configuration(name, options),
            "podTemplate": _pod_template(name, options),
            "jobManager": {"replicas": 1, "resource": {"cpu": 1, "memory": "2048m"}},
            "taskManager": {"resource": {"cpu": 2, "memory": "4096m"}},
            "job": {
                "jarURI": PYTHON_DRIVER_JAR,
                "entryClass": "org.apache.flink.client.python.PythonDriver",
                "args": job_args(files),
                "parallelism": options.parallelism,
                # An upgrade (new image or spec) stops with a savepoint and starts from it.
                "upgradeMode": "savepoint",
                "state": "running",
            },
        },
    }


def render(job: JobViews, options: RenderOptions) -> list[dict[str, Any]]:
    """The ConfigMap and the FlinkDeployment of one topic's job."""
    name = deployment_name(job.topic)
    files = job_files(job)
    return [config_map(name, job.topic, files), flink_deployment(name, job, files, options)]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the specs and schemas) as literal blocks, so the files read and diff as JSON."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _string)


def to_yaml(documents: list[dict[str, Any]]) -> str:
    header = "# Rendered by `skewless kubernetes render`; edit the views or the renderer, not this file.\n"
    return header + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=120)


def write(documents: list[dict[str, Any]], out: Path) -> Path:
    """`<out>/<deployment name>.yaml`, created with its folder; returns its path."""
    name = next(d["metadata"]["name"] for d in documents if d["kind"] == "FlinkDeployment")
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.yaml"
        path.write_text(to_yaml(documents))
    except OSError as exc:
        raise ConfigError(f"cannot write manifests under {out}: {exc.strerror}; pick another --out") from exc
    return path


def _labels(topic: str) -> dict[str, str]:
    # Label values allow no '@' or '/', and topics may hold characters names do not.
    slug = deployment_name(topic).removeprefix("skewless-")
    return {"app.kubernetes.io/part-of": "skewless", "skewless.io/topic": slug}
