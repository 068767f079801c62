"""The feature registry: versions, schema compatibility and lineage of every definition.

    from skewless.registry import Registry, default_url
    registry = Registry(default_url(settings.home))
    print(registry.plan("features").render())
"""

from skewless.registry.errors import RegistryError
from skewless.registry.lineage import LineageTree
from skewless.registry.plan import Action, Plan, PlanItem
from skewless.registry.store import CONSUMER_KINDS, FeatureRef, Registry, default_url

__all__ = [
    "CONSUMER_KINDS",
    "Action",
    "FeatureRef",
    "LineageTree",
    "Plan",
    "PlanItem",
    "Registry",
    "RegistryError",
    "default_url",
]
