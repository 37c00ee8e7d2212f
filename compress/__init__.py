"""lmcompress: lossless compression driven by a causal language model's next-token probabilities.

    >>> import compress
    >>> blob = compress.compress(b"hello", model="smollm2-135m")
    >>> compress.decompress(blob)
    b'hello'

`Compressor` keeps a model loaded across calls; `compress`/`decompress` are one-shot helpers.
"""

from compress import media  # noqa: F401  (registers the audio, image and video front ends)
from compress.core import __version__
from compress.core.errors import (
    ChecksumError,
    ContainerError,
    InputError,
    LMCompressError,
    MismatchError,
    ModelLoadError,
)


def __getattr__(name):
    # heavy imports (torch, transformers) happen only when the engine is used
    if name in ("Compressor",):
        from compress.core.engine import Compressor

        return Compressor
    raise AttributeError(name)


def compress(data: bytes, model: str = "smollm2-135m", **options) -> bytes:
    """Compress `data` with `model` (alias, .gguf, directory, checkpoint or hub id)."""
    from compress.core.engine import Compressor

    return Compressor(model, **options).compress(data)


def decompress(blob: bytes, model: str | None = None, **options) -> bytes:
    """Decompress a container; settings come from its header. The model is `model`, or the
    embedded alias when the header names it: a container never chooses a path or hub id to load."""
    from compress.core.engine import Compressor

    return Compressor(model, **options).decompress(blob, model=model)


__all__ = [
    "__version__",
    "Compressor",
    "compress",
    "decompress",
    "LMCompressError",
    "ModelLoadError",
    "ContainerError",
    "MismatchError",
    "ChecksumError",
    "InputError",
]
