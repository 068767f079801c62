"""Serving defaults shared by the SDK, the server, `verify` and their CLI (import-light)."""

MAX_ENTITIES = 1000  # per request: bigger batches should be split by the caller
READ_TIMEOUT_MS = 2000  # per Cassandra partition read
# The Cassandra sink flushes at every checkpoint barrier, so the online store trails the update
# stream by about a checkpoint interval (10 s by default) at most, unless the job is backpressured.
MAX_WRITE_LAG_MS = 10_000
# A serving process has two busy threads: the caller's (or the event loop's) and the
# cassandra-driver's IO thread. CPython makes a thread that wants the GIL wait up to the
# switch interval (5 ms by default) while the other runs Python; for reads of ~1 ms that
# wait is the tail. `skewless serve` and the serving bench set this lower; an application
# serving with the SDK can do the same (`sys.setswitchinterval`).
GIL_SWITCH_INTERVAL_S = 0.0005
