"""Errors of the serving SDK, the feature server and `skewless verify`; messages say what to fix."""

from __future__ import annotations

from collections.abc import Iterable

from skewless.errors import SkewlessError


class ServingError(SkewlessError):
    """Base of every error `skewless.serving` raises on purpose."""


class RequestError(ServingError, ValueError):
    """A feature request the caller must fix (HTTP 4xx); `code` is a stable machine-readable tag."""

    status = 400

    def __init__(self, message: str, *, code: str = "bad_request", known: Iterable[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.known = sorted(known) if known is not None else None


class UnknownFeatureError(RequestError):
    """A `view:feature` ref names a view or feature the registry does not have."""

    def __init__(self, message: str, *, known: Iterable[str]) -> None:
        super().__init__(message, code="unknown_feature", known=known)


class RequestTooLargeError(RequestError):
    status = 413

    def __init__(self, message: str) -> None:
        super().__init__(message, code="too_large")


class StoreUnavailableError(ServingError):
    """The online store could not answer (Cassandra down, table missing, timeout): HTTP 503."""


class VerifyError(ServingError):
    """`skewless verify` could not run (unreadable log, missing history); not a mismatch."""
