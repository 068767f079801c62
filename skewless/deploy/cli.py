"""`skewless kubernetes`: manifests of a topic's job for the Flink Kubernetes Operator."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def kubernetes() -> None:
    """Manifests for the Flink Kubernetes Operator (see docs/deploying-kubernetes.md)."""


@kubernetes.command()
@click.option("--topic", required=True, help="the job of every registered view of this topic")
@click.option("--parallelism", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--image", default=None, help="the job image (kubernetes/Dockerfile)  [default: skewless-job:0.1.0]")
@click.option("--bucket", default="skewless", show_default=True, help="S3 bucket of HA data, checkpoints, savepoints")
@click.option("--s3-endpoint", default="http://minio.skewless.svc:9000", show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("kubernetes/jobs"), show_default=True
)
def render(topic: str, parallelism: int, image: str | None, bucket: str, s3_endpoint: str, out: Path) -> None:
    """Write the FlinkDeployment and the ConfigMap (view specs, Avro schemas) of one topic's job."""
    from connectors.kafka.topics import check_topic_name
    from skewless.deploy.kubernetes import DEFAULT_IMAGE, RenderOptions, render as render_job, write
    from skewless.registry.catalogue import Catalogue
    from skewless.settings import load_settings

    check_topic_name(topic)
    options = RenderOptions(parallelism, image or DEFAULT_IMAGE, bucket, s3_endpoint)
    job = Catalogue.from_settings(load_settings()).job((), topic)
    path = write(render_job(job, options), out)
    click.echo(f"{path}: FlinkDeployment and ConfigMap of {', '.join(s.uid for s in job.specs)}")
