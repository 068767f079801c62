"""Can a reader schema read data written with a writer schema? Avro's schema resolution rules.

Implements "Schema Resolution" of the Avro specification (1.11/1.12):

- primitives match themselves; the writer's value may be promoted int -> long -> float
  -> double (int and long to float and double too) and string <-> bytes;
- records match by unqualified name (or a reader alias); a writer field the reader
  lacks is skipped; a reader field the writer lacks needs a default; matching fields
  (by name or reader field alias) resolve recursively;
- enums match by name; every writer symbol must be a reader symbol, unless the
  reader's enum has a default;
- fixed types match by name and size; arrays by items; maps by values;
- a writer union is readable when each of its branches is; a reader union reads a
  writer type through its first branch of the same kind (else the first that the
  writer's type promotes to), resolved recursively.

Logical types are ignored: resolution works on the underlying types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skewless.errors import SpecError

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
NAMED = {"record", "error", "enum", "fixed"}
_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


@dataclass(frozen=True)
class Incompatibility:
    path: str  # where in the record: "amount", "address.zip", "tags[]", "attrs{}"
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


def check_compatible(reader: Any, writer: Any) -> list[Incompatibility]:
    """Every reason `reader` cannot read data written with `writer`; empty when it can."""
    return _Resolver().resolve(_normalize(reader), _normalize(writer), "")


# ---------------------------------------------------------------------------------------------
# Normalization: named references become the same Python object, so recursion shows as a cycle.


def _normalize(schema: Any) -> Any:
    return _Normalizer().node(schema, "")


class _Normalizer:
    def __init__(self) -> None:
        self.names: dict[str, dict[str, Any]] = {}

    def node(self, schema: Any, namespace: str) -> Any:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return schema
            return self.lookup(schema, namespace)
        if isinstance(schema, list):
            return [self.node(branch, namespace) for branch in schema]
        if not isinstance(schema, dict) or "type" not in schema:
            raise SpecError(f"not an Avro schema: {schema!r}")
        kind = schema["type"]
        if kind in PRIMITIVES:
            return kind  # logical types resolve as their underlying type
        if kind == "array":
            return {"type": "array", "items": self.node(schema["items"], namespace)}
        if kind == "map":
            return {"type": "map", "values": self.node(schema["values"], namespace)}
        if kind in NAMED:
            return self.named(schema, namespace)
        if isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in PRIMITIVES):
            return self.node(kind, namespace)  # {"type": {...}} or {"type": "some.Name"}
        raise SpecError(f"unknown Avro type {kind!r}")

    def named(self, schema: dict[str, Any], namespace: str) -> dict[str, Any]:
        fullname, own_ns = _fullname(schema["name"], schema.get("namespace", namespace))
        node: dict[str, Any] = {
            "type": "record" if schema["type"] == "error" else schema["type"],
            "name": fullname,
            "aliases": {_fullname(a, own_ns)[0].rsplit(".", 1)[-1] for a in schema.get("aliases", [])},
        }
        self.names[fullname] = node  # registered before the fields: a record may contain itself
        if node["type"] == "record":
            node["fields"] = [
                {
                    "name": f["name"],
                    "aliases": set(f.get("aliases", [])),
                    "has_default": "default" in f,
                    "type": self.node(f["type"], own_ns),
                }
                for f in schema["fields"]
            ]
        elif node["type"] == "enum":
            node["symbols"] = list(schema["symbols"])
            node["has_default"] = "default" in schema
        else:
            node["size"] = schema["size"]
        return node

    def lookup(self, name: str, namespace: str) -> dict[str, Any]:
        for candidate in (name if "." in name else f"{namespace}.{name}" if namespace else name, name):
            if candidate in self.names:
                return self.names[candidate]
        raise SpecError(f"Avro schema refers to the unknown type {name!r}")


def _fullname(name: str, namespace: str | None) -> tuple[str, str]:
    if "." in name:
        return name, name.rsplit(".", 1)[0]
    ns = namespace or ""
    return (f"{ns}.{name}" if ns else name), ns


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------------
# Resolution.


def _kind(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "union"
    return node["type"]


def _describe(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "[" + ", ".join(_describe(b) for b in node) + "]"
    if node["type"] in ("array", "map"):
        inner = node["items"] if node["type"] == "array" else node["values"]
        return f"{node['type']}<{_describe(inner)}>"
    return f"{node['type']} {_short(node['name'])}"


def _same_kind(reader: Any, writer: Any) -> bool:
    """Shallow match: what Avro calls "the schemas match", before recursing."""
    rk, wk = _kind(reader), _kind(writer)
    if rk != wk:
        return False
    if rk in NAMED:
        return _short(reader["name"]) == _short(writer["name"]) or _short(writer["name"]) in reader["aliases"]
    return True


class _Resolver:
    def __init__(self) -> None:
        self.in_progress: set[tuple[int, int]] = set()

    def resolve(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        if isinstance(writer, list):
            problems: list[Incompatibility] = []
            for branch in writer:
                found = self.resolve(reader, branch, path)
                if found and isinstance(reader, list):
                    problems.extend(found)
                elif found:
                    problems.append(
                        Incompatibility(
                            path,
                            f"old data may hold a {_describe(branch)} here, which {_describe(reader)} cannot read"
                            + (f" ({'; '.join(str(p) for p in found)})" if _kind(branch) == _kind(reader) else ""),
                        )
                    )
            return problems
        if isinstance(reader, list):
            branch = next((b for b in reader if _same_kind(b, writer)), None)
            if branch is None:
                branch = next((b for b in reader if _kind(b) in _PROMOTIONS.get(_kind(writer), ())), None)
            if branch is None:
                reason = f"old data holds a {_describe(writer)} here; no branch of {_describe(reader)} reads it"
                return [Incompatibility(path, reason)]
            return self.resolve(branch, writer, path)

        rk, wk = _kind(reader), _kind(writer)
        if rk != wk:
            if rk in _PROMOTIONS.get(wk, ()):
                return []
            return [
                Incompatibility(
                    path,
                    f"type changed from {_describe(writer)} to {_describe(reader)}, which Avro cannot promote "
                    "(allowed: int -> long -> float -> double, string <-> bytes)",
                )
            ]
        if rk in PRIMITIVES:
            return []
        if rk == "array":
            return self.resolve(reader["items"], writer["items"], f"{path}[]")
        if rk == "map":
            return self.resolve(reader["values"], writer["values"], f"{path}{{}}")
        if not _same_kind(reader, writer):
            return [
                Incompatibility(
                    path,
                    f"{rk} renamed from {_short(writer['name'])} to {_short(reader['name'])}; "
                    f"add aliases: [{_short(writer['name'])!r}] to the new {rk}",
                )
            ]
        if rk == "fixed":
            if reader["size"] != writer["size"]:
                return [Incompatibility(path, f"fixed size changed from {writer['size']} to {reader['size']}")]
            return []
        if rk == "enum":
            missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
            if missing and not reader["has_default"]:
                return [
                    Incompatibility(
                        path,
                        f"enum symbols {missing} were removed, so old data holding them cannot be read; "
                        "keep them or give the enum a default symbol",
                    )
                ]
            return []
        return self.record(reader, writer, path)

    def record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[Incompatibility]:
        pair = (id(reader), id(writer))
        if pair in self.in_progress:
            return []  # a recursive type: this pair is already being checked further up
        self.in_progress.add(pair)
        try:
            written = {f["name"]: f for f in writer["fields"]}
            problems: list[Incompatibility] = []
            for field in reader["fields"]:
                where = f"{path}.{field['name']}" if path else field["name"]
                match = written.get(field["name"]) or next(
                    (written[a] for a in sorted(field["aliases"]) if a in written), None
                )
                if match is None:
                    if not field["has_default"]:
                        problems.append(
                            Incompatibility(
                                where,
                                "field added without a default: data written with the old schema has no value "
                                "for it; give it a default",
                            )
                        )
                    continue
                problems.extend(self.resolve(field["type"], match["type"], where))
            return problems
        finally:
            self.in_progress.discard(pair)
