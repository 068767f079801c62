"""Serving defaults shared by the SDK, the server, `verify` and their CLI (import-light)."""

MAX_ENTITIES = 1000  # per request: bigger batches should be split by the caller
READ_TIMEOUT_MS = 2000  # per Cassandra partition read
# The Cassandra sink flushes at every checkpoint barrier, so the online store trails the update
# stream by about a checkpoint interval (10 s by default) at most, unless the job is backpressured.
MAX_WRITE_LAG_MS = 10_000
