"""`plan`, `apply`, `registry`, `register-consumer`, `lineage`: thin commands over skewless.registry.

The registry is SKEWLESS_REGISTRY_URL, else SQLite at <SKEWLESS_HOME>/registry.db.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from skewless.registry.store import CONSUMER_KINDS, FeatureRef, Registry

_REPO = click.option(
    "--repo",
    default="features",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="feature repo folder: every module in it is imported and its definitions collected",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="print JSON for machines")


def _registry() -> Registry:
    from skewless.registry.catalogue import registry_url
    from skewless.settings import load_settings

    return Registry(registry_url(load_settings()))


@click.command()
@_REPO
@_JSON
@click.pass_context
def plan(ctx: click.Context, repo: Path, as_json: bool) -> None:
    """Show what `apply` would register; exits 1 when something would be refused."""
    with _registry() as registry:
        result = registry.plan(repo)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.render())
    if result.refused:
        ctx.exit(1)


@click.command()
@_REPO
@_JSON
@click.pass_context
def apply(ctx: click.Context, repo: Path, as_json: bool) -> None:
    """Register the repo's definitions in one transaction; nothing is written if anything is refused."""
    with _registry() as registry:
        result = registry.apply(repo)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.render())
    if result.refused:
        ctx.exit(1)


@click.group()
def registry() -> None:
    """Inspect the feature registry."""


@registry.command("list")
@_JSON
def list_(as_json: bool) -> None:
    """Entities, sources with schema versions, view versions and consumers."""
    with _registry() as reg:
        listing = reg.listing()
    if as_json:
        click.echo(json.dumps(listing.to_dict(), indent=2))
        return
    sections = {
        "entities": [f"{name}  keys={','.join(keys)}" for name, keys in listing.entities],
        "sources": [
            f"{s.name}  topic={s.topic}  schema versions={','.join(map(str, s.schema_versions))}"
            f"  latest={s.latest_fingerprint}"
            for s in listing.sources
        ],
        "views": [
            f"{v.name}@{v.version}  entity={v.entity}  source={v.source}  features={len(v.features)}"
            f"  owner={v.owner or '-'}" + (f"  tags={','.join(v.tags)}" if v.tags else "")
            + f"  hash={v.content_hash}  updated={v.updated_at:%Y-%m-%dT%H:%M:%SZ}"
            for v in listing.views
        ],
        "consumers": [f"{c.kind}:{c.name}  features={', '.join(c.features)}" for c in listing.consumers],
    }
    for title, lines in sections.items():
        click.echo(f"{title}:")
        for line in lines or ["(none; run skewless apply)" if title != "consumers" else "(none)"]:
            click.echo(f"  {line}")


@registry.command()
@click.argument("view")
def show(view: str) -> None:
    """Print the compiled spec of VIEW (name or name@version) as JSON, e.g. for jobs/pipeline.py --spec."""
    from skewless.registry.catalogue import parse_view_ref

    name, version = parse_view_ref(view)
    with _registry() as reg:
        spec = reg.view_spec(name, version)
    click.echo(json.dumps(spec.to_dict(), indent=2, sort_keys=True))


@click.command("register-consumer")
@click.option("--kind", type=click.Choice(CONSUMER_KINDS), required=True)
@click.option("--name", required=True, help="e.g. fraud-v3")
@click.option(
    "--features",
    "features",
    required=True,
    help="view[@version]:feature, comma-separated; a bare name continues the previous view "
    "(user_transactions:avg_amount_30d,count_30d)",
)
def register_consumer(kind: str, name: str, features: str) -> None:
    """Record that a model or training set reads features, for lineage; re-running replaces its list."""
    refs = FeatureRef.parse_list(features)
    with _registry() as reg:
        info = reg.register_consumer(kind, name, refs)
    click.echo(f"registered {info.kind}:{info.name} reading {', '.join(info.features)}")


@click.command()
@click.argument("node")
@click.option("--upstream", "direction", flag_value="upstream", help="what NODE depends on")
@click.option("--downstream", "direction", flag_value="downstream", default=True, help="what depends on NODE (default)")
@_JSON
def lineage(node: str, direction: str, as_json: bool) -> None:
    """Walk lineage from NODE, e.g. topic:transactions, view:user_transactions@1, model:fraud-v3."""
    with _registry() as reg:
        tree = reg.lineage(node, direction)  # type: ignore[arg-type]
    if as_json:
        payload = {"root": node, "direction": direction, "impact": tree.impact(), "tree": tree.to_dict()}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(tree.render())


COMMANDS = (plan, apply, registry, register_consumer, lineage)
