"""The view catalogue: the one place every command and the SDK look views up.

It reads the registry the settings name (SKEWLESS_REGISTRY_URL, else SQLite under
SKEWLESS_HOME) and answers what a caller needs of a view: its spec (TTL, entity key,
features; the Cassandra table follows from name and version) at the latest or a given
version, the views of a topic, and feature refs. A wrong name gets an error that lists
what is registered, and an empty registry one line saying how to fill it.

    catalogue = Catalogue.from_settings(load_settings())
    spec = catalogue.spec("user_transactions@1")
    views = catalogue.latest()  # name -> the latest spec of every view
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from skewless.registry.errors import RegistryError
from skewless.spec import ViewSpec

if TYPE_CHECKING:
    from skewless.settings import Settings

NO_VIEWS = "no views are registered; run skewless apply --repo features/"
WILDCARD = "*"


def parse_view_ref(text: str) -> tuple[str, int | None]:
    """'name' or 'name@version'."""
    name, _, version = text.strip().partition("@")
    if not name or (version and not version.isdigit()):
        raise RegistryError(f"view {text!r}: write NAME or NAME@VERSION, e.g. user_transactions@1")
    return name, int(version) if version else None


def registry_url(settings: Settings) -> str:
    """The registry the settings name: SKEWLESS_REGISTRY_URL, else SQLite under SKEWLESS_HOME."""
    from skewless.registry.store import default_url
    from skewless.settings import writable_home

    return settings.registry.url.get_secret_value() or default_url(writable_home(settings))


def feature_names(spec: ViewSpec, feature: str) -> tuple[str, ...]:
    """`feature` of `spec` (all of them for `*`); an unknown one is an error listing the view's."""
    if feature == WILDCARD:
        return tuple(spec.feature_names)
    if feature not in spec.feature_names:
        raise RegistryError(f"view {spec.uid} has no feature {feature!r}; its features: {', '.join(spec.feature_names)}")
    return (feature,)


@dataclass(frozen=True)
class JobViews:
    """What one job runs: the views of one topic, and every registered schema of their sources."""

    specs: list[ViewSpec]
    schema_texts: list[str]

    @property
    def topic(self) -> str:
        return self.specs[0].source_topic


class Catalogue:
    """Every registered version of every view, read once from the registry."""

    def __init__(self, url: str) -> None:
        from skewless.registry.store import Registry  # sqlalchemy: only for commands that look views up

        self.url = url
        with Registry(url) as registry:
            listed = registry.listing().views  # ordered by name, then version
            self._specs = {(v.name, v.version): registry.view_spec(v.name, v.version) for v in listed}
            self._sources = {(v.name, v.version): v.source for v in listed}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Catalogue:
        """The catalogue of the settings' registry (settings from the environment when not given)."""
        if settings is None:
            from skewless.settings import load_settings

            settings = load_settings()
        return cls(registry_url(settings))

    # -- views -------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._specs})

    def latest(self) -> dict[str, ViewSpec]:
        """Name -> the latest version's spec, for every registered view."""
        self._require_views()
        out: dict[str, ViewSpec] = {}
        for (name, _), spec in sorted(self._specs.items()):
            out[name] = spec  # versions ascend, so the last one wins
        return out

    def spec(self, ref: str) -> ViewSpec:
        """The spec of NAME (its latest version) or NAME@VERSION."""
        name, version = parse_view_ref(ref)
        self._require_views()
        versions = sorted(v for n, v in self._specs if n == name)
        if not versions:
            raise RegistryError(f"no view {name!r} is registered; registered views: {', '.join(self.names())}")
        if version is None:
            version = versions[-1]
        elif version not in versions:
            raise RegistryError(f"view {name} has no version {version}; registered versions: {versions}")
        return self._specs[(name, version)]

    def select(self, refs: Sequence[str]) -> dict[str, ViewSpec]:
        """Name -> spec of each NAME[@VERSION] given, or of every view (latest) when none is."""
        if not refs:
            return self.latest()
        chosen: dict[str, ViewSpec] = {}
        for ref in refs:
            spec = self.spec(ref)
            if chosen.get(spec.name, spec) != spec:
                raise RegistryError(f"view {spec.name} is named twice with different versions; name one")
            chosen[spec.name] = spec
        return chosen

    def only(self, ref: str | None) -> ViewSpec:
        """The view named, or the only registered one when none is named."""
        if ref is not None:
            return self.spec(ref)
        views = self.latest()
        if len(views) > 1:
            raise RegistryError(f"several views are registered ({', '.join(views)}); choose one with --view")
        return next(iter(views.values()))

    def of_topic(self, topic: str) -> list[ViewSpec]:
        """The latest version of every view reading `topic`, by name."""
        specs = [s for s in self.latest().values() if s.source_topic == topic]
        if not specs:
            topics = sorted({s.source_topic for s in self.latest().values()})
            raise RegistryError(f"no registered view reads topic {topic!r}; registered views read: {', '.join(topics)}")
        return specs

    def features(self, ref: str) -> tuple[ViewSpec, tuple[str, ...]]:
        """`view:feature` or `view:*` (the view may carry @VERSION): the view and the features named."""
        view, sep, feature = ref.partition(":")
        if not sep or not view.strip() or not feature.strip():
            raise RegistryError(f"feature ref {ref!r} must look like view:feature or view:*, e.g. user_transactions:*")
        spec = self.spec(view)
        return spec, feature_names(spec, feature.strip())

    # -- jobs --------------------------------------------------------------------------

    def job(self, refs: Sequence[str], topic: str | None) -> JobViews:
        """The views one job runs: the NAME[@VERSION] refs given, or every view of `topic`."""
        if bool(refs) == bool(topic):
            raise RegistryError("give either --view NAME[@VERSION] (repeatable) or --topic TOPIC")
        specs = self.of_topic(topic) if topic else list(self.select(refs).values())
        topics = sorted({s.source_topic for s in specs})
        if len(topics) > 1:
            raise RegistryError(f"one job reads one topic; these views read {topics}: run one job per topic")
        return JobViews(specs, self.schema_texts(specs))

    def schema_texts(self, specs: Sequence[ViewSpec]) -> list[str]:
        """Every registered Avro schema of the views' sources, oldest first, without repeats."""
        from skewless.registry.store import Registry

        texts: list[str] = []
        with Registry(self.url) as registry:
            for source in dict.fromkeys(self._sources[(s.name, s.version)] for s in specs):
                texts += [t for t in registry.schema_texts(source) if t not in texts]
        return texts

    def _require_views(self) -> None:
        if not self._specs:
            raise RegistryError(NO_VIEWS)
