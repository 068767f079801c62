"""Lineage: topic -> schema version -> source -> view version -> feature -> consumer, both ways.

Node ids are typed strings: `topic:transactions`, `schema:transactions@1`,
`source:transactions`, `entity:user`, `view:user_transactions@1`,
`feature:user_transactions.avg_amount_30d`, `model:fraud-v3`, `training-set:q3`.
A feature node stands for the feature in every version of its view that has it.
Walking downstream answers "what breaks if this changes"; upstream, "what does this
depend on".
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from skewless.registry.errors import RegistryError
from skewless.registry.models import ConsumerRow, SourceRow, ViewRow

Direction = Literal["upstream", "downstream"]
KINDS = ("topic", "schema", "source", "entity", "view", "feature", "model", "training-set")


def kind_of(node: str) -> str:
    return node.split(":", 1)[0]


def feature_node(view: str, feature: str) -> str:
    return f"feature:{view}.{feature}"


@dataclass
class LineageGraph:
    down: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    up: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    nodes: set[str] = field(default_factory=set)

    def link(self, a: str, b: str) -> None:
        self.down[a].add(b)
        self.up[b].add(a)
        self.nodes.update((a, b))

    def walk(self, node: str, direction: Direction) -> LineageTree:
        if node not in self.nodes:
            raise RegistryError(_unknown_node(node, self.nodes))
        edges = self.down if direction == "downstream" else self.up
        expanded: set[str] = set()

        def visit(current: str) -> LineageTree:
            if current in expanded:  # shown once; also stops any cycle
                return LineageTree(current, (), repeated=True)
            expanded.add(current)
            return LineageTree(current, tuple(visit(n) for n in sorted(edges.get(current, ()), key=_order)))

        return visit(node)


def _order(node: str) -> tuple[int, str]:
    kind = kind_of(node)
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), node)


def _unknown_node(node: str, nodes: set[str]) -> str:
    if ":" not in node or kind_of(node) not in KINDS:
        kinds = ", ".join(KINDS)
        return f"node {node!r} must be typed, '<kind>:<name>' with kind one of {kinds}; e.g. topic:transactions"
    same_kind = sorted(n for n in nodes if kind_of(n) == kind_of(node))
    hints = [n for n in same_kind if n.startswith(node + "@") or n.startswith(node + ".")]
    hints = hints or difflib.get_close_matches(node, same_kind, n=3)
    tail = f"; did you mean {', '.join(hints)}?" if hints else (f"; known: {', '.join(same_kind)}" if same_kind else "")
    return f"no {kind_of(node)} {node.split(':', 1)[1]!r} in the registry{tail}"


@dataclass(frozen=True)
class LineageTree:
    node: str
    children: tuple[LineageTree, ...]
    repeated: bool = False  # already shown elsewhere in this tree

    def reachable(self) -> list[str]:
        """Every node below the root, once, in tree order."""
        seen: list[str] = []
        stack = list(reversed(self.children))
        while stack:
            tree = stack.pop()
            if tree.node not in seen:
                seen.append(tree.node)
            stack.extend(reversed(tree.children))
        return seen

    def impact(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for node in self.reachable():
            grouped.setdefault(kind_of(node), []).append(node)
        return {k: sorted(grouped[k]) for k in KINDS if k in grouped}

    def render(self) -> str:
        lines: list[str] = []

        def emit(tree: LineageTree, depth: int) -> None:
            lines.append("  " * depth + tree.node + (" (see above)" if tree.repeated else ""))
            for child in tree.children:
                emit(child, depth + 1)

        emit(self, 0)
        summary = ", ".join(f"{len(v)} {k}{'s' if len(v) != 1 else ''}" for k, v in self.impact().items())
        lines.append(f"reaches: {summary or 'nothing'}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": kind_of(self.node),
            "repeated": self.repeated,
            "children": [c.to_dict() for c in self.children],
        }


def build_graph(session: Session) -> LineageGraph:
    graph = LineageGraph()
    for source in session.scalars(select(SourceRow).options(selectinload(SourceRow.schemas))):
        topic, node = f"topic:{source.topic}", f"source:{source.name}"
        graph.nodes.update((topic, node))
        for schema in source.schemas:
            version = f"schema:{source.name}@{schema.version}"
            graph.link(topic, version)
            graph.link(version, node)
        if not source.schemas:
            graph.link(topic, node)
    loads = (selectinload(ViewRow.features), selectinload(ViewRow.entity), selectinload(ViewRow.source))
    views = session.scalars(select(ViewRow).options(*loads))
    for view in views:
        node = f"view:{view.name}@{view.version}"
        graph.link(f"source:{view.source.name}", node)
        graph.link(f"entity:{view.entity.name}", node)
        for feature in view.features:
            graph.link(node, feature_node(view.name, feature.name))
    for consumer in session.scalars(select(ConsumerRow).options(selectinload(ConsumerRow.features))):
        node = f"{consumer.kind}:{consumer.name}"
        graph.nodes.add(node)
        for feature in consumer.features:
            graph.link(feature_node(feature.view.name, feature.name), node)
    return graph
