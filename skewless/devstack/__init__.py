"""The local development stack: Kafka and Cassandra as plain JVM processes, no Docker.

`skewless stack up|down|status` (cli.py) runs a single-node Kafka broker (KRaft) and a
single-node Cassandra from jars Maven resolves (jars.py), bound to 127.0.0.1, with all
state under `<repo>/.skewless/` or `$SKEWLESS_HOME` (skewless.settings). Development tooling:
nothing but the CLI, tests and benchmarks starts it; `flink_home` assembles the Flink runtime that
local jobs run on.

This module only defines the error root, so submodules can import it without cycles.
"""

from skewless.errors import SkewlessError


class StackError(SkewlessError):
    """The local stack could not be resolved, started, stopped or reached.

    Messages say what to fix.
    """
