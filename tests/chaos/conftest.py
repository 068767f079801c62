"""The chaos test runs on the session's local stack, as the integration tests do.

It kills Kafka and Cassandra on purpose and brings them back with `skewless stack up`;
the harness restarts them in a `finally`, so later tests find them running.
"""

from __future__ import annotations

from tests.integration.conftest import local_stack  # noqa: F401  (the shared session fixture)
