"""Run a view over a list of events on the job's own engine, without Kafka or Flink.

    from skewless.testing import run_view
    updates = run_view(view, [{"user_id": "u1", "ts": 1_700_000_000_000, "amount": 12.5}, ...])

`view` is a DSL FeatureView or a compiled ViewSpec; each update is what the job would write
for one entity at one instant (to Cassandra and to the Iceberg history). The aggregation runs
on the JVM tile engine the Flink job runs (io.skewless.engine, one JVM per Python process);
the row logic (derived columns, filter) on the job's own evaluator (io.skewless.logic) too.
"""

from skewless.testing.engine import Engine, EngineError
from skewless.testing.logic import EventRejected
from skewless.testing.run import Update, ViewRun, run_view, simulate

__all__ = ["Engine", "EngineError", "EventRejected", "Update", "ViewRun", "run_view", "simulate"]
