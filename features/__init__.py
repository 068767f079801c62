"""The example feature repo: every view the demo and the tests run."""

from features.transactions import USER_TRANSACTIONS
from skewless.spec import ViewSpec

VIEWS: dict[str, ViewSpec] = {v.name: v for v in (USER_TRANSACTIONS,)}
