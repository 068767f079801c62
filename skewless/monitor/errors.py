"""The root of every error `skewless monitor` raises on purpose."""

from skewless.errors import SkewlessError


class MonitorError(SkewlessError):
    """No history to monitor, or arguments that cannot be monitored; the message says what to fix."""
