"""Fixtures every test tree shares: the example feature repo registered in a registry of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from skewless.registry.catalogue import Catalogue
from skewless.registry.store import Registry, default_url

EXAMPLE_REPO = Path(__file__).resolve().parents[1] / "features"


def register_example_repo(home: Path) -> Catalogue:
    """`skewless apply --repo features/` into the registry under `home`; its catalogue."""
    url = default_url(home)
    with Registry(url) as registry:
        plan = registry.apply(EXAMPLE_REPO)
    assert not plan.refused, plan.render()
    return Catalogue(url)


@pytest.fixture
def example_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    """SKEWLESS_HOME is a fresh folder whose registry holds the example repo's views."""
    home = tmp_path / "home"
    monkeypatch.setenv("SKEWLESS_HOME", str(home))
    monkeypatch.delenv("SKEWLESS_REGISTRY_URL", raising=False)
    return register_example_repo(home)
