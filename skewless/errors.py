"""The root of every error skewless raises on purpose; messages say what to fix."""


class SkewlessError(Exception):
    """Base class: catch this to handle any skewless failure."""


class SpecError(SkewlessError):
    """A feature definition or compiled spec is invalid."""


class ConfigError(SkewlessError):
    """A setting, environment variable or CLI argument is invalid."""
