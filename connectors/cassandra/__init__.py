"""Cassandra online store: upsert sink (Java, via PyFlink), schema, TTL rule and reader.

Importing this package stays cheap and pyflink-free; import `sink` only in Flink jobs.
"""

from connectors.cassandra.errors import CassandraConfigError, CassandraError, CassandraReadError

__all__ = ["CassandraConfigError", "CassandraError", "CassandraReadError"]
