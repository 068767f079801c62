"""Online serving: the `FeatureStore` SDK, the HTTP feature server, the serving log and
`verify`, the proof that what was served equals the point-in-time history (no pyflink).

Names load lazily, so `skewless --help` does not import the Cassandra driver.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "FeatureStore": "skewless.serving.store",
    "OnlineClient": "skewless.serving.client",
    "OnlineResponse": "skewless.serving.result",
    "FeatureValue": "skewless.serving.result",
    "FeatureRef": "skewless.serving.refs",
    "ServingLog": "skewless.serving.log",
    "ServingError": "skewless.serving.errors",
    "RequestError": "skewless.serving.errors",
    "UnknownFeatureError": "skewless.serving.errors",
    "StoreUnavailableError": "skewless.serving.errors",
    "VerifyError": "skewless.serving.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'skewless.serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
