"""Load a feature repo: import every module under a folder and collect its definitions.

A repo is a folder of Python modules (a package, or a plain folder) whose module-level
names hold Entity, Source and FeatureView objects; entities and sources a view uses are
collected too. Each load imports the folder afresh and then restores `sys.modules`, so
loading never leaves the repo's modules behind nor reuses stale ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from skewless.dsl.source import Entity, Source
from skewless.dsl.view import FeatureView
from skewless.errors import SpecError


@dataclass(frozen=True)
class FeatureRepo:
    path: Path
    entities: dict[str, Entity]
    sources: dict[str, Source]
    views: dict[tuple[str, int], FeatureView]  # by (name, version): versions may coexist
    origins: dict[int, str]  # id(definition) -> module that defines it, for messages

    def origin(self, definition: Any) -> str:
        return self.origins.get(id(definition), "?")


def load_repo(path: Path | str) -> FeatureRepo:
    """Import every module under `path` and collect the definitions; SpecError when it cannot."""
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise SpecError(f"feature repo {path} is not a folder; pass --repo pointing at your features folder")
    package = folder.name
    if not package.isidentifier():
        raise SpecError(f"feature repo folder {folder.name!r} must be a valid Python package name; rename it")
    current = sys.modules.get(package)
    if current is not None and not _lives_in(current, folder):
        raise SpecError(
            f"feature repo folder {folder.name!r} has the name of the module {current.__name__!r} "
            f"from {getattr(current, '__file__', None) or 'elsewhere'}; rename the folder"
        )
    modules = _import_fresh(package, folder)
    return _collect(folder, modules)


def _lives_in(module: ModuleType, folder: Path) -> bool:
    paths = [Path(p).resolve() for p in getattr(module, "__path__", [])]
    return folder in paths


def _ours(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _import_fresh(package: str, folder: Path) -> list[ModuleType]:
    saved = {name: mod for name, mod in sys.modules.items() if _ours(name, package)}
    for name in saved:
        del sys.modules[name]
    parent = str(folder.parent)
    sys.path.insert(0, parent)
    # No .pyc: an edit within the same second as the last load must not be read stale.
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        root = _import(package)
        modules = [root]
        for info in sorted(pkgutil.walk_packages(root.__path__, package + "."), key=lambda i: i.name):
            modules.append(_import(info.name))
        return modules
    finally:
        sys.dont_write_bytecode = dont_write
        sys.path.remove(parent)
        for name in [n for n in sys.modules if _ours(n, package)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except SpecError as exc:
        raise SpecError(f"{name}: {exc}") from exc
    except Exception as exc:  # a repo module may fail any way; report which and why
        raise SpecError(f"importing {name} failed: {type(exc).__name__}: {exc}") from exc


def _collect(folder: Path, modules: list[ModuleType]) -> FeatureRepo:
    entities: dict[str, Entity] = {}
    sources: dict[str, Source] = {}
    views: dict[tuple[str, int], FeatureView] = {}
    origins: dict[int, str] = {}

    def add(table: dict[Any, Any], key: Any, value: Any, module: str, kind: str) -> None:
        known = table.get(key)
        if known is None:
            table[key] = value
            origins[id(value)] = module
        elif known != value:
            label = f"{key[0]} version {key[1]}" if isinstance(key, tuple) else key
            raise SpecError(
                f"two different {kind}s named {label} (in {origins[id(known)]} and {module}); rename one"
                + (" or bump its version" if kind == "feature view" else "")
            )

    for module in modules:
        for value in vars(module).values():
            if isinstance(value, FeatureView):
                add(views, (value.name, value.version), value, module.__name__, "feature view")
                add(entities, value.entity.name, value.entity, module.__name__, "entity")
                add(sources, value.source.name, value.source, module.__name__, "source")
            elif isinstance(value, Entity):
                add(entities, value.name, value, module.__name__, "entity")
            elif isinstance(value, Source):
                add(sources, value.name, value, module.__name__, "source")
    return FeatureRepo(folder, entities, sources, views, origins)
