"""The root of every error the registry raises on purpose."""

from skewless.errors import SkewlessError


class RegistryError(SkewlessError):
    """The registry cannot do what was asked; the message says what to fix."""
