"""Training sets: point-in-time-correct features from the Iceberg history (no pyflink here)."""

from skewless.training.errors import TrainingSetError
from skewless.training.historical import get_historical_features, iter_join_history, join_history, ttl_to_us
from skewless.training.pit import AS_OF_MODES, point_in_time_join

__all__ = ["AS_OF_MODES", "TrainingSetError", "get_historical_features", "iter_join_history", "join_history", "point_in_time_join", "ttl_to_us"]
