"""cassandra-driver sessions for the Python side (schema, reads, tests)."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from connectors.cassandra.errors import CassandraConfigError

DEFAULT_PORT = 9042


def parse_contact_points(spec: str | Sequence[str]) -> list[tuple[str, int]]:
    """"host:port,host" (or a list of such) -> [(host, port)]; the port defaults to 9042."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    points: list[tuple[str, int]] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep:
            host, port = part, str(DEFAULT_PORT)
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise CassandraConfigError(f"bad contact point {part!r}, expected host:port")
        points.append((host, int(port)))
    if not points:
        raise CassandraConfigError(f"no contact points in {spec!r}, expected 'host:port,...'")
    return points


def connect_cluster(
    contact_points: str | Sequence[str],
    local_datacenter: str = "datacenter1",
    *,
    consistency: str = "LOCAL_QUORUM",
    request_timeout_s: float = 10.0,
) -> Cluster:
    """A Cluster routed token-aware within `local_datacenter`; call `.connect()` on it."""
    try:
        level = getattr(ConsistencyLevel, consistency)
    except AttributeError:
        raise CassandraConfigError(f"unknown consistency level {consistency!r}") from None
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_datacenter)),
        consistency_level=level,
        request_timeout=request_timeout_s,
    )
    return Cluster(
        contact_points=parse_contact_points(contact_points),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
