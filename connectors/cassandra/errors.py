"""The one error root of the Cassandra connector."""

from __future__ import annotations


class CassandraError(Exception):
    """Base of every error raised by `connectors.cassandra`."""


class CassandraConfigError(CassandraError, ValueError):
    """A name, type or setting that Cassandra or the sink would reject."""


class CassandraReadError(CassandraError):
    """The online store could not answer a read."""
