"""Errors the trainer reports as one line (`lmcompress-train: <message>`) before exiting 1.

They subclass the engine's LMCompressError so a caller handles training and engine failures alike.
"""

from compress.core.errors import InputError, LMCompressError


class ConfigError(LMCompressError):
    """The recipe/overrides do not compose or hold an unusable value."""


class DataError(InputError):
    """The training corpus cannot be read, fetched or split as asked."""


class CheckpointError(LMCompressError):
    """A run directory cannot be resumed or written as asked."""
