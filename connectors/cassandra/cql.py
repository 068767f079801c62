"""Safe CQL text: identifiers and types are validated, then rendered; values always bind.

Identifiers are restricted to lowercase snake case and always double-quoted, so feature
names that happen to be CQL keywords (`key`, `ttl`, `timestamp`...) still work, and nothing
user-supplied can change a statement's shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from connectors.cassandra.errors import CassandraConfigError

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_MAX_NAME = 48  # Cassandra's limit for keyspace and table names

_SIMPLE_TYPES = frozenset(
    "ascii bigint blob boolean counter date decimal double duration float inet int smallint "
    "text time timestamp timeuuid tinyint uuid varchar varint".split()
)
_CONTAINERS = {"list": 1, "set": 1, "map": 2, "frozen": 1, "vector": 2}
_TYPE_TOKEN = re.compile(r"\s*([a-z]+|\d+|[<>,])")


def identifier(name: str, what: str = "identifier", *, max_len: int | None = None) -> str:
    """Validate `name` and return it double-quoted."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise CassandraConfigError(
            f"{what} {name!r} must be lowercase snake case: a letter, then letters, digits or '_'"
        )
    if max_len is not None and len(name) > max_len:
        raise CassandraConfigError(f"{what} {name!r} is longer than {max_len} characters")
    return f'"{name}"'


def keyspace_name(name: str) -> str:
    return identifier(name, "keyspace", max_len=_MAX_NAME)


def table_name(name: str) -> str:
    return identifier(name, "table", max_len=_MAX_NAME)


def qualified(keyspace: str, table: str) -> str:
    return f"{keyspace_name(keyspace)}.{table_name(table)}"


def cql_type(text: str) -> str:
    """Validate a CQL type such as `double`, `list<float>` or `vector<float, 3>`; return it normalised."""
    tokens: list[str] = []
    pos = 0
    source = text.strip().lower() if isinstance(text, str) else ""
    while pos < len(source):
        match = _TYPE_TOKEN.match(source, pos)
        if match is None:
            raise CassandraConfigError(f"unsupported CQL type {text!r}")
        tokens.append(match.group(1))
        pos = match.end()
    rendered, rest = _parse_type(tokens, text)
    if rest:
        raise CassandraConfigError(f"unsupported CQL type {text!r}: unexpected {' '.join(rest)!r}")
    return rendered


def _parse_type(tokens: list[str], text: str) -> tuple[str, list[str]]:
    if not tokens:
        raise CassandraConfigError(f"unsupported CQL type {text!r}")
    head, rest = tokens[0], tokens[1:]
    if head in _SIMPLE_TYPES:
        return head, rest
    if head not in _CONTAINERS or not rest or rest[0] != "<":
        raise CassandraConfigError(f"unsupported CQL type {text!r}")
    rest = rest[1:]
    args: list[str] = []
    for index in range(_CONTAINERS[head]):
        if index:
            if not rest or rest[0] != ",":
                raise CassandraConfigError(f"unsupported CQL type {text!r}: {head} takes {_CONTAINERS[head]} arguments")
            rest = rest[1:]
        if head == "vector" and index == 1:
            if not rest or not rest[0].isdigit() or int(rest[0]) < 1:
                raise CassandraConfigError(f"unsupported CQL type {text!r}: vector needs a positive dimension")
            args.append(rest[0])
            rest = rest[1:]
        else:
            arg, rest = _parse_type(rest, text)
            args.append(arg)
    if not rest or rest[0] != ">":
        raise CassandraConfigError(f"unsupported CQL type {text!r}: missing '>'")
    return f"{head}<{', '.join(args)}>", rest[1:]


def render_upsert(keyspace: str, table: str, columns: Sequence[str]) -> str:
    """The sink's statement: columns bind positionally, then the version and the TTL."""
    if not columns:
        raise CassandraConfigError("an upsert needs at least one column")
    names = ", ".join(identifier(c, "column") for c in columns)
    markers = ", ".join("?" for _ in columns)
    return f"INSERT INTO {qualified(keyspace, table)} ({names}) VALUES ({markers}) USING TIMESTAMP ? AND TTL ?"


def render_select_by_key(keyspace: str, table: str, key_column: str, columns: Sequence[str]) -> str:
    """One partition per entity: a single-partition read by the entity key."""
    names = ", ".join(identifier(c, "column") for c in columns)
    return f"SELECT {names} FROM {qualified(keyspace, table)} WHERE {identifier(key_column, 'key column')} = ?"
