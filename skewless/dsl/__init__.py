"""Features as code: define entities, sources and feature views; compile them to ViewSpecs.

    from skewless.dsl import Aggregation, Drift, Entity, FeatureView, Source, Window

Nothing here imports pyflink: the DSL builds data, the engine runs the compiled spec.
"""

from skewless.dsl.aggregation import Aggregation, Window
from skewless.dsl.monitoring import Drift
from skewless.dsl.repo import FeatureRepo, load_repo
from skewless.dsl.source import Entity, Source
from skewless.dsl.view import FeatureView

__all__ = ["Aggregation", "Drift", "Entity", "FeatureRepo", "FeatureView", "Source", "Window", "load_repo"]
