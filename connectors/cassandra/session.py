"""cassandra-driver sessions for the Python side (schema, reads, tests)."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from connectors.cassandra.errors import CassandraConfigError

DEFAULT_PORT = 9042


@dataclass(frozen=True)
class ConnectionSecurity:
    """How clients prove who they are and encrypt: the driver's session and the direct read
    path are both built from one of these, so they authenticate and verify alike.

    A username and password mean SASL PLAIN (Cassandra's PasswordAuthenticator); a CA file
    means TLS whose server certificate must chain to that CA and name the host connected
    to (an IP address in the certificate's subjectAltName for a numeric contact point).
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise CassandraConfigError("set both the Cassandra username and password, or neither")
        if self.tls_ca_file is not None and not Path(self.tls_ca_file).is_file():
            raise CassandraConfigError(f"Cassandra TLS CA file {self.tls_ca_file} does not exist; "
                                       "point tls_ca_file at the PEM file of the CA that signed the nodes' certificates")

    @classmethod
    def from_settings(cls, section: Any) -> ConnectionSecurity:
        """From the settings' cassandra section (username, password as a SecretStr, tls_ca_file)."""
        password = getattr(section, "password", None)
        secret = password.get_secret_value() if hasattr(password, "get_secret_value") else password
        return cls(username=getattr(section, "username", None) or None, password=secret or None,
                   tls_ca_file=getattr(section, "tls_ca_file", None) or None)

    @property
    def authenticates(self) -> bool:
        return self.username is not None

    def auth_provider(self) -> PlainTextAuthProvider | None:
        if self.username is None or self.password is None:
            return None
        return PlainTextAuthProvider(username=self.username, password=self.password)

    def ssl_context(self) -> ssl.SSLContext | None:
        return _ssl_context(self.tls_ca_file)


@functools.cache
def _ssl_context(ca_file: Path | None) -> ssl.SSLContext | None:
    """One context per CA file (loading a CA costs a few ms): CERT_REQUIRED, host names checked."""
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise CassandraConfigError(f"cannot load the Cassandra TLS CA file {ca_file}: {exc}") from exc


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
    security: ConnectionSecurity | None = None,
    row_factory: Callable[..., Any] | None = None,
) -> Cluster:
    """A Cluster routed token-aware within `local_datacenter`, authenticated and encrypted
    as `security` says; call `.connect()` on it. `row_factory` overrides the driver's
    named tuples (e.g. `cassandra.query.tuple_factory`)."""
    try:
        level = getattr(ConsistencyLevel, consistency)
    except AttributeError:
        raise CassandraConfigError(f"unknown consistency level {consistency!r}") from None
    options: dict[str, Any] = {} if row_factory is None else {"row_factory": row_factory}
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_datacenter)),
        consistency_level=level,
        request_timeout=request_timeout_s,
        **options,
    )
    security = security or ConnectionSecurity()
    return Cluster(
        contact_points=parse_contact_points(contact_points),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=security.auth_provider(),
        ssl_context=security.ssl_context(),
    )
