"""The image front end's extras in the compact container header (form `c`, compress/core/compact.py).

Why: in the JSON form an image container's header is ~640 bytes deflated (three full digests,
library versions, the checkpoint's path, a segment table of ~2,800 entries for a Kodak photograph,
the PNG's chunks in base64); over the 24 Kodak images that is 0.15% of the containers, a fifth of
what the Kodak target still lacked when this was built. The compact core header plus these extras
is well under 100 bytes for a Kodak PNG.

What it holds: the file format, the payload order, strip and predictor, and the parts of the file
that are not pixels: for a PNG every chunk but IDAT (raw bytes, not base64), where the IDATs go and
what follows IEND, and, when the deflate stream replays, its filter types, zlib settings, IDAT chunk
sizes, CRC and zlib version; for a PGM/PPM its header text and trailer. The dimensions are not
stored: they are read again from the IHDR chunk or the PGM/PPM header, as the front end's
`check_extras` demands they agree. A field that does not fit (non-canonical base64, a chunk list
without IHDR first, dimensions that differ from the file's own header) makes `encode` raise
`compact.Unrepresentable`, and the encoder writes the JSON form.

Layout, after the core header (varint = unsigned LEB128; ids index the append-only tuples below):

    flags        1 byte: 1 a strip width follows, 2 a predictor follows, 4 PNG deflate replay
    format       1 byte id into FORMATS
    order        1 byte id into ORDERS
    strip        (flag 1) varint
    predictor    (flag 2) 1 byte id into PREDICTORS
    png:         chunk count varint; per chunk its 4-byte name, varint length, bytes;
                 idat_at varint; trailer varint length + bytes;
                 (flag 4) filters varint length + bytes, zlib level/wbits/memlevel/strategy
                 4 bytes, IDAT sizes as runs (count, then size and repeat varints), the
                 stream's CRC-32 4 bytes, zlib version varint length + ASCII
    netpbm:      header varint length + latin-1 bytes; trailer varint length + latin-1 bytes

`decode` only parses (bounded by the header's bytes); the values then go through the one validator
(the front end's schema and check_extras), exactly as a JSON header's do.
"""

from __future__ import annotations

import binascii
import struct

from compress.core import compact
from compress.core.errors import ContainerError, InputError
from compress.media import netpbm, pngfile

FLAG_STRIP, FLAG_PREDICTOR, FLAG_REPLAY = 1, 2, 4
FORMATS = ("png", "netpbm")                                   # append only
ORDERS = ("interleaved", "planar", "rows", "strips")          # append only
PREDICTORS = ("none", "med", "med-green", "gap-green")        # append only
ZLIB_KEYS = ("level", "wbits", "memlevel", "strategy")
DIMENSIONS = ("width", "height", "channels", "sample_bytes")
_PNG = frozenset({"format", *DIMENSIONS, "order", "chunks", "idat_at", "trailer", "reencoded"})
_REPLAY = frozenset({"filters", "zlib", "idat_sizes", "idat_crc32", "zlib_version"})
_NETPBM = frozenset({"format", *DIMENSIONS, "order", "header", "trailer"})


def _raw64(value) -> bytes:
    """The bytes a base64 field holds, when writing them back gives the same text (else the JSON
    form keeps it as written)."""
    if not isinstance(value, str):
        raise compact.Unrepresentable
    try:
        raw = pngfile.unb64(value)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise compact.Unrepresentable from None
    if pngfile.b64(raw) != value:
        raise compact.Unrepresentable
    return raw


def _dimensions_png(chunks: list) -> dict:
    if not chunks or chunks[0][0] != "IHDR":
        raise ValueError("no IHDR first")
    ihdr = pngfile.Header(pngfile.unb64(chunks[0][1]))
    return dict(zip(DIMENSIONS, (ihdr.width, ihdr.height, ihdr.channels, ihdr.sample_bytes), strict=True))


def _dimensions_netpbm(header: str) -> dict:
    _, width, height, channels, maxval = netpbm.parse_header(header.encode("latin-1"))
    return dict(zip(DIMENSIONS, (width, height, channels, 1 if maxval < 256 else 2), strict=True))


def _png_body(extras: dict) -> list[bytes]:
    """The PNG part of the layout; Unrepresentable for anything the JSON form must keep."""
    replay = not extras["reencoded"]
    if not isinstance(extras["reencoded"], bool) or set(extras) & _REPLAY != (_REPLAY if replay else set()):
        raise compact.Unrepresentable
    chunks = extras["chunks"]
    if not isinstance(chunks, list) or not all(isinstance(c, list) and len(c) == 2 for c in chunks):
        raise compact.Unrepresentable
    parts = [compact.varint(len(chunks))]
    for name, body in chunks:
        if not isinstance(name, str) or not pngfile.CHUNK_NAME.fullmatch(name):
            raise compact.Unrepresentable
        parts += [name.encode("ascii"), compact.field(_raw64(body))]
    parts += [compact.varint(extras["idat_at"]), compact.field(_raw64(extras["trailer"]))]
    if not replay:
        return parts
    settings, runs, crc, version = (extras[k] for k in ("zlib", "idat_sizes", "idat_crc32", "zlib_version"))
    if not isinstance(settings, dict) or set(settings) != set(ZLIB_KEYS) or not all(
            type(settings[k]) is int and 0 <= settings[k] < 256 for k in ZLIB_KEYS):
        raise compact.Unrepresentable
    if not isinstance(runs, list) or not all(isinstance(r, list) and len(r) == 2 for r in runs):
        raise compact.Unrepresentable
    if type(crc) is not int or not 0 <= crc < 1 << 32 or not isinstance(version, str) or not version.isascii():
        raise compact.Unrepresentable
    parts += [compact.field(_raw64(extras["filters"])), bytes(settings[k] for k in ZLIB_KEYS),
              compact.varint(len(runs))]
    parts += [compact.varint(size) + compact.varint(count) for size, count in runs]
    return parts + [struct.pack("<I", crc), compact.field(version.encode("ascii"))]


def encode(extras: dict) -> bytes:
    if not isinstance(extras, dict) or extras.get("format") not in FORMATS:
        raise compact.Unrepresentable
    optional = {k for k in ("strip", "predictor") if k in extras}
    base = _PNG if extras["format"] == "png" else _NETPBM
    if set(extras) - _REPLAY != base | optional:
        raise compact.Unrepresentable
    if extras["order"] not in ORDERS or extras.get("predictor", "none") not in PREDICTORS:
        raise compact.Unrepresentable
    if extras["format"] == "png":
        try:
            derived = _dimensions_png(extras["chunks"])
        except (InputError, ValueError, binascii.Error, TypeError, IndexError):
            raise compact.Unrepresentable from None
        flags, body = (0 if extras["reencoded"] is True else FLAG_REPLAY), _png_body(extras)
    else:
        if set(extras) & _REPLAY:
            raise compact.Unrepresentable
        try:
            derived = _dimensions_netpbm(extras["header"])
        except (InputError, ValueError, AttributeError, UnicodeEncodeError):
            raise compact.Unrepresentable from None
        flags, body = 0, [compact.latin1_field(extras["header"]), compact.latin1_field(extras["trailer"])]
    if any(extras[k] != v or type(extras[k]) is not int for k, v in derived.items()):
        raise compact.Unrepresentable
    flags |= (FLAG_STRIP if "strip" in extras else 0) | (FLAG_PREDICTOR if "predictor" in extras else 0)
    parts = [bytes([flags]), bytes([FORMATS.index(extras["format"]) + 1]),
             bytes([ORDERS.index(extras["order"]) + 1])]
    if "strip" in extras:
        parts.append(compact.varint(extras["strip"]))
    if "predictor" in extras:
        parts.append(bytes([PREDICTORS.index(extras["predictor"]) + 1]))
    return b"".join(parts + body)


def decode(r: compact.Reader) -> dict:
    flags = r.take(1, "image flags")[0]
    if flags & ~(FLAG_STRIP | FLAG_PREDICTOR | FLAG_REPLAY):
        raise ContainerError(f"corrupt header: unsupported compact image flags 0x{flags:02x}")
    extras: dict = {"format": r.choice("image format", FORMATS), "order": r.choice("image order", ORDERS)}
    if flags & FLAG_STRIP:
        extras["strip"] = r.varint("image strip")
    if flags & FLAG_PREDICTOR:
        extras["predictor"] = r.choice("image predictor", PREDICTORS)
    if extras["format"] == "netpbm":
        if flags & FLAG_REPLAY:
            raise ContainerError("corrupt header: a PNG replay flag on a PGM/PPM image")
        extras["header"] = r.field("image header").decode("latin-1")
        extras["trailer"] = r.field("image trailer").decode("latin-1")
        try:
            extras.update(_dimensions_netpbm(extras["header"]))
        except InputError as exc:
            raise ContainerError(f"corrupt header: image file header ({exc})") from None
        return extras
    chunks = []
    for _ in range(r.count("image chunks", 5)):  # a 4-byte name and a length each, at least
        name = r.take(4, "image chunk name").decode("latin-1")
        chunks.append([name, pngfile.b64(r.field("image chunk"))])
    extras.update(chunks=chunks, idat_at=r.varint("image idat_at"),
                  trailer=pngfile.b64(r.field("image trailer")), reencoded=not flags & FLAG_REPLAY)
    if flags & FLAG_REPLAY:
        extras["filters"] = pngfile.b64(r.field("image filters"))
        extras["zlib"] = dict(zip(ZLIB_KEYS, r.take(4, "image zlib settings"), strict=True))
        extras["idat_sizes"] = [[r.varint("image idat size"), r.varint("image idat repeat")]
                                for _ in range(r.count("image idat runs", 2))]
        extras["idat_crc32"] = struct.unpack("<I", r.take(4, "image idat_crc32"))[0]
        extras["zlib_version"] = r.field("image zlib version").decode("latin-1")
    try:
        extras.update(_dimensions_png(chunks))
    except (InputError, ValueError, binascii.Error) as exc:
        raise ContainerError(f"corrupt header: image file header ({exc})") from None
    return extras


compact.register_extras("image", encode, decode, checked=True)
