"""The .lmc container: parse and build, with no model and no file policy involved.

Layout (docs/format.md has it byte by byte):

    magic      8 bytes   89 4C 4D 43 0D 0A 1A 0A   ("\\x89LMC\\r\\n\\x1a\\n", PNG-style)
    version    u16 LE    FORMAT_VERSION
    flags      u16 LE    1 = header is raw DEFLATE with the v1 preset dictionary; other bits refused
    hdr_len    u32 LE    length of the stored header in bytes (at most MAX_HEADER)
    header     hdr_len   UTF-8 JSON object, keys sorted (deflated with HEADER_DICTIONARY if flag 1)
    hdr_crc    u32 LE    CRC-32 of the stored header bytes
    payload    ...       the batch streams, each `batches[i]` little-endian u32 words, in order

Everything decoding depends on lives in the header; the payload must be exactly as long as the
header says (truncation and trailing garbage are both refused).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from .errors import ContainerError

MAGIC = b"\x89LMC\r\n\x1a\n"
FORMAT_VERSION = 1
MAX_HEADER = 1 << 27
FLAG_DEFLATED = 1
MAX_CONTEXT = 1 << 20
MAX_BATCH = 1 << 16
MAX_THREADS = 1024
# Part of format version 1. A preset dictionary holding the header's keys and usual values lets
# DEFLATE store a typical header in ~190 bytes (the three sha256 digests are most of it), which
# matters for small files. Raw DEFLATE back-references count backwards from the output, so bytes
# may only ever be *prepended* (older headers still find what they referenced at the same
# distance); never change or append: tests/test_golden.py decodes headers made before each change.
HEADER_DICTIONARY = (
    b'"stepper":"kv-growing/2",'
    b'{"adapter":null,"batch":32,"batch_crc32":[],"batches":[],"context":1024,"device":'
    b'"cpu:x86_64","dtype":"float32","format":"lmcompress","frontend":{},"libraries":'
    b'{"constriction":"0.5.0","lmcompress":"0.1.0","numpy":"2.4.6","python":"3.11.7",'
    b'"torch":"2.13.0+cpu","transformers":"5.23.0"},"modality":"text","model":{"base_id":'
    b'"smollm2-135m","id":"smollm2-135m","sha256":""},"original_length":0,"original_sha256":'
    b'"","payload_length":0,"prefix_id":1,"quantizer":"constriction-leaky24/1","segments":'
    b'[1023,1023,1023,1023],"symbolizer":"text-table/v1","threads":2,"tokenizer_sha256":"",'
    b'"vocab_size":49152}'
)
_FIXED = struct.Struct("<8sHHI")

REQUIRED = {
    "original_length": int,
    "payload_length": int,
    "original_sha256": str,
    "modality": str,
    "symbolizer": str,
    "model": dict,
    "tokenizer_sha256": str,
    "context": int,
    "batch": int,
    "dtype": str,
    "threads": int,
    "prefix_id": int,
    "quantizer": str,
    "segments": list,
    "batches": list,
    "batch_crc32": list,
}


# Containers written before the header had a "stepper" field were all coded with this stepper
# (compress/stepper.py names it STATIC); the decoder must keep using it for them.
STEPPER_BEFORE_FIELD = "kv-static/1"


def header_stepper(header: dict) -> str:
    """The stepper kind a container was coded with."""
    return str(header.get("stepper", STEPPER_BEFORE_FIELD))


@dataclass
class Container:
    header: dict
    streams: list[np.ndarray]  # one uint32 array per batch


def pack(header: dict, streams: list[np.ndarray]) -> bytes:
    header = dict(header)
    header["batches"] = [int(len(s)) for s in streams]
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=HEADER_DICTIONARY)
    raw = deflate.compress(text) + deflate.flush()
    parts = [_FIXED.pack(MAGIC, FORMAT_VERSION, FLAG_DEFLATED, len(raw)), raw,
             struct.pack("<I", zlib.crc32(raw))]
    parts += [np.ascontiguousarray(s, dtype="<u4").tobytes() for s in streams]
    return b"".join(parts)


def _validate(header: dict) -> None:
    for key, kind in REQUIRED.items():
        if key not in header:
            raise ContainerError(f"corrupt header: field '{key}' is missing")
        if not isinstance(header[key], kind) or (kind is int and isinstance(header[key], bool)):
            raise ContainerError(f"corrupt header: field '{key}' has the wrong type")
    if not isinstance(header.get("stepper", ""), str):
        raise ContainerError("corrupt header: field 'stepper' has the wrong type")
    seg, crc, words = header["segments"], header["batch_crc32"], header["batches"]
    for name, values in (("segments", seg), ("batch_crc32", crc), ("batches", words)):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise ContainerError(f"corrupt header: '{name}' holds a non-count")
    if header["original_length"] < 0 or header["payload_length"] < 0:
        raise ContainerError("corrupt header: negative length")
    if not (2 <= header["context"] <= MAX_CONTEXT and 1 <= header["batch"] <= MAX_BATCH
            and 1 <= header["threads"] <= MAX_THREADS):
        raise ContainerError("corrupt header: context, batch or threads out of range")
    # a token stands for at least one payload byte, except escapes (3 tokens per byte)
    if sum(seg) > 3 * header["payload_length"]:
        raise ContainerError("corrupt header: more tokens than the payload can hold")
    if any(n > header["context"] - 1 for n in seg):
        raise ContainerError("corrupt header: a segment is longer than the context")
    if any(n == 0 for n in seg):
        raise ContainerError("corrupt header: empty segment")
    if (header["payload_length"] == 0) != (len(seg) == 0):
        raise ContainerError("corrupt header: segment table does not match the payload length")
    expected_batches = -(-len(seg) // header["batch"])
    if len(words) != expected_batches or len(crc) != expected_batches:
        raise ContainerError("corrupt header: batch tables do not match the segment count")


def unpack(blob: bytes) -> Container:
    """Parse and check structure; raises ContainerError naming what is wrong."""
    header = read_header(blob)
    offset = stored_header_length(blob)
    streams = []
    for i, words in enumerate(header["batches"]):
        if not isinstance(words, int) or words < 0:
            raise ContainerError("corrupt header: bad batch length")
        end = offset + 4 * words
        if end > len(blob):
            raise ContainerError(f"truncated container: batch {i} stream is cut short")
        streams.append(np.frombuffer(blob, dtype="<u4", count=words, offset=offset).astype(np.uint32))
        offset = end
    if offset != len(blob):
        raise ContainerError(f"corrupt container: {len(blob) - offset} unexpected bytes after the payload")
    return Container(header, streams)


def _header_bytes(blob: bytes) -> bytes:
    if len(blob) < _FIXED.size:
        if not MAGIC.startswith(bytes(blob[: len(MAGIC)])):
            raise ContainerError("not an lmcompress container (bad magic)")
        raise ContainerError("truncated container: shorter than the fixed header")
    magic, version, flags, hlen = _FIXED.unpack_from(blob, 0)
    if magic != MAGIC:
        raise ContainerError("not an lmcompress container (bad magic)")
    if version > FORMAT_VERSION:
        raise ContainerError(
            f"container format version {version} is newer than this lmcompress supports "
            f"({FORMAT_VERSION}); upgrade lmcompress"
        )
    if version != FORMAT_VERSION:
        raise ContainerError(f"unsupported container format version {version}")
    if flags & ~FLAG_DEFLATED:
        raise ContainerError(f"unsupported container flags 0x{flags:04x}")
    if hlen > MAX_HEADER:
        raise ContainerError(f"corrupt container: header length {hlen} is implausible")
    end = _FIXED.size + hlen
    if end + 4 > len(blob):
        raise ContainerError("truncated container: header is cut short")
    raw = bytes(blob[_FIXED.size:end])
    (crc,) = struct.unpack_from("<I", blob, end)
    if zlib.crc32(raw) != crc:
        raise ContainerError("corrupt container: header checksum mismatch")
    if flags & FLAG_DEFLATED:
        inflate = zlib.decompressobj(-15, zdict=HEADER_DICTIONARY)
        try:
            text = inflate.decompress(raw, MAX_HEADER)
        except zlib.error:
            raise ContainerError("corrupt container: header does not inflate") from None
        if inflate.unconsumed_tail or not inflate.eof:
            raise ContainerError("corrupt container: header is damaged or implausibly large")
        return text
    return raw


def stored_header_length(blob: bytes) -> int:
    """Bytes the header occupies on disk (fixed part + stored header + CRC)."""
    (hlen,) = struct.unpack_from("<I", blob, 12)
    return _FIXED.size + hlen + 4


def read_header(blob: bytes) -> dict:
    """The header alone (enough for --list); no model is loaded."""
    raw = _header_bytes(blob)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ContainerError("corrupt container: header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ContainerError("corrupt container: header is not an object")
    if "batches" not in header or not isinstance(header["batches"], list):
        raise ContainerError("corrupt header: field 'batches' is missing")
    _validate(header)
    return header
