"""The example feature view: spending features of a user, from the transactions topic."""

from skewless.spec import FeatureSpec, ViewSpec

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

USER_TRANSACTIONS = ViewSpec(
    name="user_transactions",
    version=1,
    entity_key="user_id",
    source_topic="transactions",
    event_time_field="event_time",
    features=(
        FeatureSpec("avg_amount_30d", "avg", "amount", window_ms=30 * DAY, hop_ms=DAY),
        FeatureSpec("count_30d", "count", None, window_ms=30 * DAY, hop_ms=DAY),
        FeatureSpec("sum_amount_1d", "sum", "amount", window_ms=DAY, hop_ms=HOUR),
        FeatureSpec("max_amount_7d", "max", "amount", window_ms=7 * DAY, hop_ms=DAY),
    ),
    ttl_ms=30 * DAY,
    out_of_orderness_ms=MINUTE,
    description="Spending of a card holder over rolling windows",
    owner="risk-ml",
)
