"""Modality front ends: file bytes <-> (payload bytes for a symbolizer, header extras).

The engine codes a payload through a symbolizer; a front end decides what the payload is and keeps
whatever else the file holds in the header, so that `join(split(x)) == x` byte for byte. Bytes are
the identity, text the identity or CRLF line ends coded as LF. Audio, image and video front ends
(compress/media/) register here with the same interface: this registry sits in the core and knows
no front end but text; `compress/__init__.py` imports `compress.media`, whose modules call
`register`, so the core never imports upward.
"""

from __future__ import annotations

from typing import Protocol

from compress.core import container, schema
from compress.core.errors import ContainerError, InputError
from compress.core.symbols import BYTEMAP_VERSION, SYMBOLIZER_VERSION, ByteSymbolizer, TextSymbolizer


class Frontend(Protocol):
    name: str
    SYMBOLIZER: str  # the symbolizer name its containers must record
    EXTRAS: schema.Obj  # types and ranges of its header extras (compress/core/schema.py)

    @staticmethod
    def check_extras(extras: dict, header: dict) -> None:
        """Cross-field rules of its extras against the core header (lengths, dimensions), so that
        `join` can neither fail on nor allocate more than a checked header allows."""

    def split(self, data: bytes) -> tuple[bytes, dict]:
        """(payload, extras): extras must be JSON-serialisable and hold all non-payload bytes."""

    def join(self, payload: bytes, extras: dict) -> bytes:
        """Inverse of split."""

    def symbolizer(self, tokenizer, vocab_size: int):
        """The symbolizer that turns this front end's payload into token ids and back."""


class BytesFrontend:
    """Bytes as they are, one token per byte (the byte symbolizer the audio, image and video front
    ends code their payloads with). For byte-level models and for a payload a front end has already
    made: evaluation codes the test part of an audio or image corpus, which holds front-end
    payloads, with it (evaluation/measure.py), as validation during training scores them."""

    name = "bytes"
    SYMBOLIZER = BYTEMAP_VERSION
    EXTRAS = schema.Obj({})

    @staticmethod
    def check_extras(extras: dict, header: dict) -> None:
        if header["original_length"] != header["payload_length"]:
            raise ContainerError(f"corrupt header: a {header['modality']} container's payload is the whole file")

    def split(self, data: bytes) -> tuple[bytes, dict]:
        return data, {}

    def join(self, payload: bytes, extras: dict) -> bytes:
        return payload

    def symbolizer(self, tokenizer, vocab_size: int):
        return ByteSymbolizer(tokenizer, vocab_size)


LINE_ENDS = ("auto", "keep")  # TextFrontend's `newlines` option


class TextFrontend(BytesFrontend):
    """Text, tokenized by the model's own tokenizer (with the byte escape).

    Line ends: a file whose every LF is preceded by a CR (Windows line ends) is coded with the CRs
    taken out, `{"newlines": "crlf"}` in the header, and the CRs put back on decoding. Why: a
    language model has seen mostly LF text; on CRLF text it spends bits on every CR and predicts
    the text after it worse (alice29, embedded SmolLM2-135M, scoring pass: 1.0615 -> 1.0444 bits
    per byte of the original file, docs/targets.md). The transform is exact by construction
    (`join(split(x)) == x` is checked before it is used, and the container's checksum covers the
    original bytes); a file with any bare LF is coded as it is. `newlines="keep"` (`lmcompress
    --keep-line-ends`) always codes the bytes as they are."""

    name = "text"
    SYMBOLIZER = SYMBOLIZER_VERSION
    EXTRAS = schema.Obj({"newlines": schema.Str(choices=("crlf",))}, optional=frozenset({"newlines"}))

    def __init__(self, newlines: str = "auto"):
        if newlines not in LINE_ENDS:
            raise InputError(f"unknown newlines option '{newlines}' (choose from {', '.join(LINE_ENDS)})")
        self.newlines = newlines

    @staticmethod
    def check_extras(extras: dict, header: dict) -> None:
        if extras.get("newlines") != "crlf":
            BytesFrontend.check_extras(extras, header)
        elif not header["payload_length"] < header["original_length"] <= 2 * header["payload_length"]:
            # every LF of the payload gains one CR: at least one, at most one per payload byte
            raise ContainerError("corrupt header: a CRLF text container's original length must exceed its "
                                 "payload's, by at most the payload's length")

    def split(self, data: bytes) -> tuple[bytes, dict]:
        if self.newlines == "auto" and b"\r\n" in data:
            payload = data.replace(b"\r\n", b"\n")
            if payload.replace(b"\n", b"\r\n") == data:  # no bare LF: the CRs come back exactly
                return payload, {"newlines": "crlf"}
        return data, {}

    def join(self, payload: bytes, extras: dict) -> bytes:
        if extras.get("newlines") == "crlf":
            return payload.replace(b"\n", b"\r\n")
        return payload

    def symbolizer(self, tokenizer, vocab_size: int):
        return TextSymbolizer(tokenizer, vocab_size)

    @staticmethod
    def describe(extras: dict) -> list[str]:
        """Lines for `lmcompress -l`."""
        return ["line ends CRLF, coded as LF"] if extras.get("newlines") == "crlf" else []


FRONTENDS: dict[str, type] = {"text": TextFrontend, "bytes": BytesFrontend}


def register(cls: type) -> type:
    """Class decorator: make a front end available under `cls.name` (and its `suffixes`)."""
    FRONTENDS[cls.name] = cls
    return cls


def frontend_class(name: str) -> type | None:
    """The class registered under `name` (built-ins loaded first), or None: for reading its class
    attributes (`describe`, `explicit_options`) without constructing one."""
    return FRONTENDS.get(name)


def check_extras(header: dict) -> None:
    """The front end's part of the one validation layer: its extras' types and ranges, then their
    agreement with the core header. ContainerError naming the first violation."""
    cls = frontend_class(header["modality"])
    if cls is None:
        raise ContainerError(f"corrupt header: unknown modality {header['modality']!r}")
    if header["symbolizer"] != cls.SYMBOLIZER:
        raise ContainerError(f"corrupt header: a {cls.name} container must use the "
                             f"{cls.SYMBOLIZER} symbolizer")
    extras = header.get("frontend", {})
    schema.check(extras, cls.EXTRAS, "frontend")
    cls.check_extras(extras, header)


def read_header(blob: bytes) -> dict:
    """A container's header, every field checked (core and front end); no model is loaded."""
    header = container.read_header(blob)
    if not container.is_stored(header):  # the stored form has no front end
        check_extras(header)
    return header


def parse(blob: bytes) -> container.Container:
    """Header and streams of a container, every field checked: what every decoding path reads."""
    parsed = container.unpack(blob)
    if parsed.stored is None:
        check_extras(parsed.header)
    return parsed


def get(name: str, **options) -> Frontend:
    try:
        cls = FRONTENDS[name]
    except KeyError:
        raise InputError(f"unknown modality '{name}' (choose from {', '.join(sorted(FRONTENDS))})") from None
    return cls(**options)


def guess(filename: str | None) -> str:
    """Modality from a file name's suffix; text (any bytes) when nothing more specific fits."""
    if filename:
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        for name, cls in FRONTENDS.items():
            if suffix in getattr(cls, "suffixes", ()):
                return name
    return "text"
