"""Modality front ends: file bytes <-> (payload bytes for a symbolizer, header extras).

The engine codes a payload through a symbolizer; a front end decides what the payload is and keeps
whatever else the file holds in the header, so that `join(split(x)) == x` byte for byte. Text is
the identity. Audio, image and video front ends register here with the same interface.
"""

from __future__ import annotations

from typing import Protocol

from .errors import InputError
from .symbols import TextSymbolizer


class Frontend(Protocol):
    name: str

    def split(self, data: bytes) -> tuple[bytes, dict]:
        """(payload, extras): extras must be JSON-serialisable and hold all non-payload bytes."""

    def join(self, payload: bytes, extras: dict) -> bytes:
        """Inverse of split."""

    def symbolizer(self, tokenizer, vocab_size: int):
        """The symbolizer that turns this front end's payload into token ids and back."""


class TextFrontend:
    """Bytes as they are, tokenized by the model's own tokenizer (with the byte escape)."""

    name = "text"

    def split(self, data: bytes) -> tuple[bytes, dict]:
        return data, {}

    def join(self, payload: bytes, extras: dict) -> bytes:
        return payload

    def symbolizer(self, tokenizer, vocab_size: int):
        return TextSymbolizer(tokenizer, vocab_size)


FRONTENDS: dict[str, type] = {"text": TextFrontend}
_BUILTIN_MODULES = ("audio", "image", "video")  # each calls register() on import, if present
_loaded = False


def register(cls: type) -> type:
    """Class decorator: make a front end available under `cls.name` (and its `suffixes`)."""
    FRONTENDS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module}":
                raise


def frontend_class(name: str) -> type | None:
    """The class registered under `name` (built-ins loaded first), or None: for reading its class
    attributes (`describe`, `explicit_options`) without constructing one."""
    _load_builtin()
    return FRONTENDS.get(name)


def get(name: str, **options) -> Frontend:
    _load_builtin()
    try:
        cls = FRONTENDS[name]
    except KeyError:
        raise InputError(f"unknown modality '{name}' (choose from {', '.join(sorted(FRONTENDS))})") from None
    return cls(**options)


def guess(filename: str | None) -> str:
    """Modality from a file name's suffix; text (any bytes) when nothing more specific fits."""
    _load_builtin()
    if filename:
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        for name, cls in FRONTENDS.items():
            if suffix in getattr(cls, "suffixes", ()):
                return name
    return "text"
