"""The root of every error training-set building raises on purpose."""

from skewless.errors import SkewlessError


class TrainingSetError(SkewlessError):
    """Bad labels or arguments for a training set; the message says what to fix."""
