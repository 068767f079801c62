"""The example feature view: spending features of a user, from the transactions topic."""

from pathlib import Path

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

user = Entity("user", keys="user_id", description="A card holder")

transactions = Source(
    name="transactions",
    topic="transactions",
    schema=SCHEMAS / "transactions.avsc",
    event_time="event_time",
    description="Card transactions, one event per payment",
)

user_transactions = FeatureView(
    name="user_transactions",
    version=1,
    entity=user,
    source=transactions,
    aggregations=[
        Aggregation("amount", "avg", windows=[Window("30d", hop="1d")]),
        Aggregation(None, "count", windows=[Window("30d", hop="1d")]),
        Aggregation("amount", "sum", windows=[Window("1d", hop="1h")]),
        Aggregation("amount", "max", windows=[Window("7d", hop="1d")]),
    ],
    ttl="30d",
    out_of_orderness="1m",
    description="Spending of a card holder over rolling windows",
    owner="risk-ml",
)

# The compiled spec, for tests that run the example view without a registry.
USER_TRANSACTIONS = user_transactions.compile()
