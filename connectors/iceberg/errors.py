"""The root of every error the Iceberg connector raises on purpose."""

from skewless.errors import SkewlessError


class IcebergError(SkewlessError):
    """Catalog configuration, history-table or Iceberg I/O failure; the message says what to fix."""
