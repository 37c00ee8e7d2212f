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

Two more forms share the magic's first three bytes `\x89LM` and differ in the fourth:
`c` is the compact header (compress/core/compact.py: the same fields as binary ids and varints, ~50
bytes, used whenever it can represent the header) followed by the same payload; `s` is the stored
form (the input as is after a CRC-32 of it, used whenever coding with the model would be larger; it
decodes without any model). All three forms come out of `unpack` as a header dict checked here.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from compress.core import schema
from compress.core.errors import ContainerError
from compress.core.limits import (  # noqa: F401  (re-exported: part of this module's API)
    MAX_HEADER,
    MAX_HEADER_TEXT,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_JSON_STRINGS,
    MAX_ORIGINAL,
    MAX_VOCAB,
)

FORM_PREFIX = b"\x89LM"   # bytes 0-2 of every form; byte 3 selects it
STORED_PRELUDE = b"\x89LMs"
STORED_OVERHEAD = len(STORED_PRELUDE) + 4  # prelude + CRC-32 of the input
MAGIC = b"\x89LMC\r\n\x1a\n"
FORMAT_VERSION = 1
FLAG_DEFLATED = 1
MAX_CONTEXT = 1 << 20
MAX_BATCH = 1 << 16
MAX_THREADS = 256  # torch intra-op threads; more only oversubscribe (and a hostile header could ask for them)
# Part of format version 1. A preset dictionary holding the header's keys and usual values lets
# DEFLATE store a typical header in ~190 bytes (the three sha256 digests are most of it), which
# matters for small files. Raw DEFLATE back-references count backwards from the output, so bytes
# may only ever be *prepended* (older headers still find what they referenced at the same
# distance); never change or append: tests/test_golden.py decodes headers made before each change.
HEADER_DICTIONARY = (
    b'"keep":512,"adapt":"ngram-mix/1","stepper":"kv-carried/3",'
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

BYTE_ALPHABET = 256
SYMBOLIZERS = ("text-table/v1", "bytes-charmap/v1")
DTYPES = ("float32", "bfloat16", "float16", "bf16-linear")  # bf16-linear: compress/core/linear16.py
PRECISION = 24                  # constriction's range coder: every symbol gets >= 2**-24
# An identity or output digest: a sha256, or its first 8 bytes (16 hex digits; the compact form's
# unregistered digests). Compared by prefix (digest_matches); never shorter than 64 bits.
_DIGEST = schema.Str(max_len=64, pattern=re.compile(r"[0-9a-f]{16}(?:[0-9a-f]{48})?"))
_NAME = schema.Str(max_len=64)

HEADER = schema.Obj(
    fields={
        "format": schema.Str(choices=("lmcompress",)),
        "modality": schema.Str(max_len=32),
        "frontend": schema.Opaque(),  # the front end's extras: checked by frontends.check_extras
        "symbolizer": schema.Str(choices=SYMBOLIZERS),
        "original_length": schema.Int(0, MAX_ORIGINAL),
        "original_sha256": _DIGEST,
        "checked_sha256": schema.Nullable(_DIGEST),
        "payload_length": schema.Int(0, MAX_ORIGINAL),
        "model": schema.Obj({"id": schema.Str(max_len=4096), "base_id": schema.Str(max_len=4096),
                             "sha256": _DIGEST}),
        "adapter": schema.Nullable(schema.Obj({"sha256": _DIGEST})),
        "tokenizer_sha256": _DIGEST,
        "vocab_size": schema.Int(2, MAX_VOCAB),
        "context": schema.Int(4, MAX_CONTEXT),
        "batch": schema.Int(1, MAX_BATCH),
        "dtype": schema.Str(choices=DTYPES),
        "device": schema.Str(max_len=256),
        "threads": schema.Int(1, MAX_THREADS),
        "prefix_id": schema.Int(0, MAX_VOCAB - 1),
        "quantizer": _NAME,
        "stepper": _NAME,
        "libraries": schema.Map(schema.Str(max_len=128)),
        "segments": schema.List(schema.Int(1, MAX_CONTEXT - 1)),
        "batches": schema.List(schema.Int(0, 2**32 - 1)),
        "batch_crc32": schema.List(schema.Int(0, 2**32 - 1)),
        # carried context (stepper kv-carried/3) only: tokens kept when a window re-primes, and
        # the online adaptation beside the model (compress/core/adapt.py VERSIONS; null: none)
        "keep": schema.Int(0, MAX_CONTEXT - 2),
        "adapt": schema.Nullable(_NAME),
        # independent segments only: the online tuning between batches (compress/core/online.py
        # VERSIONS); absent: none
        "tune": _NAME,
        # independent segments of an 8-bit image only: the pixel mixing (compress/core/pixmix.py
        # VERSIONS); absent: none
        "mix": _NAME,
    },
    # absent from containers written before they existed (tests/golden keeps such files)
    optional=frozenset({"format", "frontend", "checked_sha256", "adapter", "vocab_size", "device",
                        "stepper", "libraries", "keep", "adapt", "tune", "mix"}),
)


# The stored form's header (no model, no coding): what `unpack` gives for a `\x89LMs` container.
STORED_HEADER = schema.Obj({
    "format": schema.Str(choices=("lmcompress",)),
    "mode": schema.Str(choices=("stored",)),
    "original_length": schema.Int(0, MAX_ORIGINAL),
    "original_crc32": schema.Int(0, 2**32 - 1),
})


def is_stored(header: dict) -> bool:
    """True for the stored form's header (the input kept as is; no model decodes it)."""
    return header.get("mode") == "stored"


def digest_matches(want: str | None, have: str | None) -> bool:
    """Whether a recorded digest (a sha256 or its 16-hex-digit prefix, schema-checked; None: no
    such object) names the full sha256 `have`."""
    if want is None or have is None:
        return want is None and have is None
    return len(want) >= 16 and have.startswith(want)


# Containers written before the header had a "stepper" field were all coded with this stepper
# (compress/core/stepper.py names it STATIC); the decoder must keep using it for them.
STEPPER_BEFORE_FIELD = "kv-static/1"
# Carried context (compress/core/stepper.py CARRIED): "batch" is the number of rows, "segments" the rows'
# contiguous stretches (one batch, any length), and "keep" is required.
STEPPER_CARRIED = "kv-carried/3"
# Primed segments (compress/core/stepper.py PRIMED): independent segments of at most context - 1 -
# PRIME_TOKENS tokens, coded in striped batches (batch_members), every batch after the first primed
# with the last PRIME_TOKENS tokens of each segment's predecessor. The constant is the version's.
STEPPER_PRIMED = "kv-primed/1"
PRIME_TOKENS = {STEPPER_PRIMED: 96}


def header_stepper(header: dict) -> str:
    """The stepper kind a container was coded with."""
    return str(header.get("stepper", STEPPER_BEFORE_FIELD))


@dataclass
class Container:
    header: dict
    streams: list[np.ndarray]  # one uint32 array per batch
    stored: bytes | None = None  # the stored form: the input itself (CRC checked by the decoder)


def pack_auto(header: dict, streams: list[np.ndarray]) -> bytes:
    """The compact form when it can represent `header` (checked: it must decode to exactly
    `compact.reduced(header)`), else the JSON form (`pack`)."""
    from compress.core import compact

    header = dict(header)
    header["batches"] = [int(len(s)) for s in streams]
    head = compact.encode(header)
    if head is None:
        return pack(header, streams)
    if compact.decode(head)[0] != compact.reduced(header):  # a programming error, never data
        raise AssertionError("compact header does not round-trip; refusing to write it")
    return head + b"".join(np.ascontiguousarray(s, dtype="<u4").tobytes() for s in streams)


def pack_stored(data: bytes) -> bytes:
    """The stored form: prelude, CRC-32 of the input, the input. Its length is implied (the file
    ends after it), so it costs STORED_OVERHEAD bytes."""
    if len(data) > MAX_ORIGINAL:
        raise ContainerError(f"input of {len(data)} bytes exceeds the format's limit of {MAX_ORIGINAL}")
    return STORED_PRELUDE + struct.pack("<I", zlib.crc32(data)) + bytes(data)


def form(blob: bytes) -> str:
    """"json", "compact" or "stored", from the first four bytes; ContainerError otherwise."""
    if len(blob) < 4 or blob[:3] != FORM_PREFIX:
        if len(blob) < len(MAGIC) and MAGIC.startswith(bytes(blob)):
            raise ContainerError("truncated container: shorter than the fixed header")
        raise ContainerError("not an lmcompress container (bad magic)")
    kind = {MAGIC[3]: "json", ord("c"): "compact", STORED_PRELUDE[3]: "stored"}.get(blob[3])
    if kind is None:
        raise ContainerError(f"unknown container form 0x{blob[3]:02x} (made by a newer lmcompress?)")
    return kind


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


def min_bits_per_token(alphabet: int) -> float:
    """The fewest bits any token can cost: constriction's leaky quantizer gives each of the other
    `alphabet - 1` symbols at least 2**-24, so no symbol gets more than 1 - (alphabet-1) * 2**-24."""
    return -math.log2(1.0 - (alphabet - 1) / 2.0**PRECISION)


def alphabet_size(header: dict) -> int:
    """Symbols each token is coded over (the byte alphabet, or the model's vocabulary)."""
    if header["symbolizer"] == SYMBOLIZERS[1]:
        return BYTE_ALPHABET
    return header.get("vocab_size", 2)  # unknown (old header): the most permissive bound


def check_header(header: dict) -> None:
    """Every type, range and cross-field rule of the core header; ContainerError naming the first
    violation. Called on every header read and on every header the encoder writes."""
    schema.check(header, HEADER)
    seg, crc, words = header["segments"], header["batch_crc32"], header["batches"]
    payload = header["payload_length"]
    if header["symbolizer"] == SYMBOLIZERS[1] and sum(seg) != payload:
        raise ContainerError("corrupt header: a byte payload must have one token per byte")
    # a text token stands for at least one payload byte, except escapes (3 tokens per byte)
    if sum(seg) > 3 * payload:
        raise ContainerError("corrupt header: more tokens than the payload can hold")
    if header_stepper(header) == STEPPER_CARRIED:
        if "keep" not in header or "adapt" not in header:
            raise ContainerError("corrupt header: a carried-context container needs 'keep' and 'adapt'")
        if header["keep"] > header["context"] - 2:
            raise ContainerError("corrupt header: 'keep' leaves no room in the context")
        if len(seg) > header["batch"]:
            raise ContainerError("corrupt header: more stretches than rows")
        if "tune" in header or "mix" in header:
            raise ContainerError("corrupt header: 'tune'/'mix' belong to containers of independent segments")
    else:
        if "keep" in header or "adapt" in header:
            raise ContainerError("corrupt header: 'keep'/'adapt' belong to carried-context containers")
        room = header["context"] - 1 - PRIME_TOKENS.get(header_stepper(header), 0)
        if room < 1 and seg:
            raise ContainerError("corrupt header: the prime leaves no room in the context")
        if any(n > room for n in seg):
            raise ContainerError("corrupt header: a segment is longer than the context")
    if (payload == 0) != (len(seg) == 0):
        raise ContainerError("corrupt header: segment table does not match the payload length")
    if header["prefix_id"] >= header.get("vocab_size", MAX_VOCAB):
        raise ContainerError("corrupt header: the prefix token is outside the vocabulary")
    members = header_members(header)
    if len(words) != len(members) or len(crc) != len(members):
        raise ContainerError("corrupt header: batch tables do not match the segment count")
    # Bound the decoding work by the stream's size: each token costs at least min_bits, and a
    # range coder's output holds no more information than its words (+ its 64-bit state).
    floor = min_bits_per_token(alphabet_size(header))
    for rows, n_words in zip(members, words, strict=True):
        tokens = sum(seg[k] for k in rows)
        if tokens * floor > 32 * n_words + 64 or (tokens and not n_words):
            raise ContainerError("corrupt header: a batch claims more tokens than its stream can hold")


def segment_ranges(n_segments: int, batch: int) -> list[tuple[int, int]]:
    """[(start, end)) segment ranges of each batch: balanced, ceil(n / batch) batches whose row
    counts differ by at most one, a pure function of (n, batch), so the decoder rebuilds the
    encoder's layout from the header alone (compress/core/segments.py re-exports it as `layout`)."""
    if n_segments == 0:
        return []
    n_batches = -(-n_segments // batch)
    base, extra = divmod(n_segments, n_batches)
    ranges = []
    start = 0
    for i in range(n_batches):
        end = start + base + (1 if i < extra else 0)
        ranges.append((start, end))
        start = end
    return ranges


def batch_members(n_segments: int, batch: int, striped: bool = False) -> list[range]:
    """The segment indices of each batch's rows, in row order: segment_ranges' contiguous ranges,
    or `striped` (kv-primed/1) the same row counts dealt round-robin, batch b holding segments
    b, b + B, b + 2B, ... of B batches, so that each segment's predecessor (b >= 1) lies in the
    batch before it and is known to both ends when it is coded."""
    ranges = segment_ranges(n_segments, batch)
    if not striped:
        return [range(start, end) for start, end in ranges]
    return [range(b, n_segments, len(ranges)) for b in range(len(ranges))]


def header_members(header: dict) -> list[range]:
    """batch_members under a header's segment table, batch size and stepper."""
    return batch_members(len(header["segments"]), header["batch"],
                         header_stepper(header) == STEPPER_PRIMED)


def unpack(blob: bytes) -> Container:
    """Parse and check structure; raises ContainerError naming what is wrong."""
    header = read_header(blob)
    if is_stored(header):
        return Container(header, [], stored=bytes(blob[STORED_OVERHEAD:]))
    offset = stored_header_length(blob)
    streams = []
    for i, words in enumerate(header["batches"]):
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
        try:  # never inflate more than the format allows (a deflate bomb stops here)
            text = inflate.decompress(raw, MAX_HEADER_TEXT + 1)
        except zlib.error:
            raise ContainerError("corrupt container: header does not inflate") from None
        if len(text) > MAX_HEADER_TEXT or inflate.unconsumed_tail:
            raise ContainerError(f"corrupt container: header inflates past {MAX_HEADER_TEXT} bytes")
        if not inflate.eof:
            raise ContainerError("corrupt container: header is damaged")
        return text
    if len(raw) > MAX_HEADER_TEXT:
        raise ContainerError(f"corrupt container: header is longer than {MAX_HEADER_TEXT} bytes")
    return raw


def stored_header_length(blob: bytes) -> int:
    """Bytes the header occupies on disk (fixed part + stored header + CRC) of a container that
    `read_header` accepted (the stored form: prelude + CRC)."""
    kind = form(blob)
    if kind == "stored":
        return STORED_OVERHEAD
    if kind == "compact":
        from compress.core import compact

        return compact.header_span(blob)[1] + 4
    (hlen,) = struct.unpack_from("<I", blob, 12)
    return _FIXED.size + hlen + 4


def read_header(blob: bytes) -> dict:
    """The header alone (enough for --list); no model is loaded. Every form gives a dict checked
    by the same rules (`check_header`; the stored form's by STORED_HEADER)."""
    kind = form(blob)
    if kind == "stored":
        if len(blob) < STORED_OVERHEAD:
            raise ContainerError("truncated container: shorter than the stored form's prelude")
        if len(blob) - STORED_OVERHEAD > MAX_ORIGINAL:
            raise ContainerError(f"corrupt container: stored data exceeds {MAX_ORIGINAL} bytes")
        header = {"format": "lmcompress", "mode": "stored", "original_length": len(blob) - STORED_OVERHEAD,
                  "original_crc32": struct.unpack_from("<I", blob, 4)[0]}
        schema.check(header, STORED_HEADER)
        return header
    if kind == "compact":
        from compress.core import compact

        header = compact.decode(blob)[0]
        check_header(header)
        return header
    raw = _header_bytes(blob)
    depth, containers, strings = json_shape(raw)
    if depth > MAX_JSON_DEPTH:
        raise ContainerError("corrupt container: header nests deeper than any lmcompress header")
    if containers > MAX_JSON_CONTAINERS or strings > MAX_JSON_STRINGS:
        raise ContainerError("corrupt container: header holds more objects than any lmcompress header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ContainerError("corrupt container: header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ContainerError("corrupt container: header is not an object")
    check_header(header)
    return header


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_shape(text: bytes) -> tuple[int, int, int]:
    """(deepest nesting, objects + arrays, strings) of JSON text, counted outside strings without
    parsing it, so that a hostile header can make json.loads neither recurse nor build millions of
    objects; a malformed text is left for json.loads to refuse."""
    stripped, strings = _STRING.subn(b'""', text)
    code = np.frombuffer(stripped, dtype=np.uint8)
    if not code.size:
        return 0, 0, strings
    opens = (code == 0x5B) | (code == 0x7B)
    steps = opens.astype(np.int64) - (code == 0x5D) - (code == 0x7D)
    return int(np.cumsum(steps).max()), int(opens.sum()), strings
