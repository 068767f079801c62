"""A second example view: merchant activity, showing row logic (derived columns, a filter),
several windows per aggregation, a lifetime window and an explicit feature name.

`skewless apply` registers it with the rest of the repo, and `skewless run --topic
transactions` then runs it and user_transactions in one job (tests/integration/test_feature_repo.py
checks both against the oracle).
"""

from pathlib import Path

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

merchant = Entity("merchant", keys="merchant_id", description="A card acceptor")

merchant_payments = Source(
    name="merchant_payments",
    topic="transactions",
    schema=SCHEMAS / "transactions.avsc",
    event_time="event_time",
    derived={
        "amount_eur": "amount if upper(currency) == 'EUR' else round(amount * 0.92, 2)",
        "is_large": "1 if amount_eur >= 500 else 0",
    },
    filter="amount > 0",
    description="Card transactions with positive amounts, seen from the merchant's side",
)

merchant_activity = FeatureView(
    name="merchant_activity",
    version=1,
    entity=merchant,
    source=merchant_payments,
    aggregations=[
        Aggregation(None, "count", windows=[Window("1h", hop="5m"), Window("1d", hop="1h")]),
        Aggregation("is_large", "sum", windows=[Window("1d", hop="1h")], name="large_payments_1d"),
        Aggregation("amount_eur", "last_n", windows=[Window.lifetime()], params={"n": 5}),
    ],
    ttl="7d",
    owner="fraud-ops",
    description="How busy a merchant is, and its recent payments in EUR",
    tags=["merchant", "fraud"],
)
