"""Exception types the CLI turns into one readable line and exit code 1.

Every failure a user can cause (bad input, wrong model, corrupt container) raises a subclass of
LMCompressError with a message that stands on its own, so callers never need a traceback to act.
"""


class LMCompressError(Exception):
    """Base class: the message is the whole story, printed as `lmcompress: <message>`."""


class ModelLoadError(LMCompressError):
    """A model, adapter or tokenizer could not be found or loaded."""


class ContainerError(LMCompressError):
    """The container is not a valid .lmc file (magic, version, truncation, header damage)."""


class MismatchError(LMCompressError):
    """The container needs a model/adapter/tokenizer/setting other than the one available."""


class ChecksumError(LMCompressError):
    """Decoded bytes do not match the checksum stored in the container."""


class InputError(LMCompressError):
    """An input file or option is unusable (missing file, directory, unsupported format)."""
