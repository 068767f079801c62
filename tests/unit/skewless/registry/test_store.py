"""The registry store: opening, feature references, what jobs read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from skewless.registry import FeatureRef, Registry, RegistryError, default_url
from tests.unit.skewless.registry.conftest import WriteRepo


def test_feature_refs_parse_views_versions_and_continuations() -> None:
    assert FeatureRef.parse_list("a:x, y,b@2:z") == [
        FeatureRef("a", None, "x"), FeatureRef("a", None, "y"), FeatureRef("b", 2, "z"),
    ]
    with pytest.raises(RegistryError, match="needs its view: write view:feature"):
        FeatureRef.parse_list("x")
    with pytest.raises(RegistryError, match="version after '@' must be a number"):
        FeatureRef.parse_list("a@v1:x")
    with pytest.raises(RegistryError, match="no features given"):
        FeatureRef.parse_list(" , ")


def test_default_url_is_sqlite_in_the_state_folder(tmp_path: Path) -> None:
    url = default_url(tmp_path / "home")
    assert url == f"sqlite:///{tmp_path / 'home' / 'registry.db'}"
    with Registry(url):
        pass
    assert (tmp_path / "home" / "registry.db").exists()


def test_a_registry_of_another_format_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    Registry(url).close()
    with create_engine(url).begin() as conn:
        conn.execute(text("UPDATE registry_meta SET value = '99' WHERE key = 'format'"))
    with pytest.raises(RegistryError, match="has format 99; this skewless reads format 1"):
        Registry(url)


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_urls_say_how_to_fix_them(url: str) -> None:
    with pytest.raises(RegistryError, match="set SKEWLESS_REGISTRY_URL to a valid SQLAlchemy URL"):
        Registry(url)


def test_passwords_never_appear_in_errors() -> None:
    with pytest.raises(RegistryError) as err:
        Registry("nosuchdb://user:s3cret@host/db")
    assert "s3cret" not in str(err.value)


def test_unknown_views_and_sources(registry: Registry, write_repo: WriteRepo) -> None:
    with pytest.raises(RegistryError, match=r"no view 'spend' in the registry; known: none \(run skewless apply\)"):
        registry.view_spec("spend")
    with pytest.raises(RegistryError, match="no source 'payments' in the registry; run `skewless apply` first"):
        registry.schema_texts("payments")
    registry.apply(write_repo())
    assert registry.view_source("spend") == "payments"
