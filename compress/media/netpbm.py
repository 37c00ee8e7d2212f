"""Binary PGM (P5) and PPM (P6) <-> (header bytes, pixel samples), byte for byte.

The header is kept exactly as written (magic, whitespace, comments), so joining it back with the
raster gives the original file. Samples are one byte for maxval < 256 and two bytes (big-endian, as
in the file) up to 65535. Parsed here rather than through Pillow because Pillow drops comments and
normalises the header, and the header is what makes the round trip byte-exact.
"""

from __future__ import annotations

import numpy as np

from compress.core.errors import InputError

MAGIC_CHANNELS = {b"P5": 1, b"P6": 3}
MAX_TRAILER = 1 << 16  # bytes after the raster kept verbatim (more: another image, refused)
_SPACE = b" \t\r\n\x0b\x0c"


def parse_header(data: bytes) -> tuple[int, int, int, int, int]:
    """(header length, width, height, channels, maxval) of a P5/P6 file; InputError if malformed."""
    magic = data[:2]
    if magic not in MAGIC_CHANNELS:
        if magic in (b"P1", b"P2", b"P3", b"P4", b"P7"):
            raise InputError(f"unsupported netpbm format {magic.decode()} (binary P5/P6 only)")
        raise InputError("not a binary PGM/PPM file")
    pos, fields = 2, []
    while len(fields) < 3:
        start = pos
        while pos < len(data) and (data[pos] in _SPACE or data[pos] == ord("#")):
            if data[pos] == ord("#"):  # comment to end of line
                while pos < len(data) and data[pos] not in b"\r\n":
                    pos += 1
            else:
                pos += 1
        if pos == start:
            raise InputError("malformed netpbm header: expected whitespace between fields")
        digits = pos
        while pos < len(data) and 48 <= data[pos] <= 57:
            pos += 1
        if pos == digits:
            if pos >= len(data):
                raise InputError("truncated netpbm header")
            raise InputError("malformed netpbm header: expected a number")
        fields.append(int(data[digits:pos]))
    if pos >= len(data) or data[pos] not in _SPACE:
        raise InputError("truncated netpbm header" if pos >= len(data) else
                         "malformed netpbm header: expected whitespace after maxval")
    width, height, maxval = fields
    if width < 1 or height < 1:
        raise InputError("malformed netpbm header: zero width or height")
    if not 1 <= maxval <= 65535:
        raise InputError(f"malformed netpbm header: maxval {maxval} outside 1..65535")
    return pos + 1, width, height, MAGIC_CHANNELS[magic], maxval


def split(data: bytes) -> tuple[np.ndarray, dict]:
    """(samples (h, w, channels, sample_bytes), extras with the exact header and any trailer)."""
    size, width, height, channels, maxval = parse_header(data)
    sample_bytes = 1 if maxval < 256 else 2
    raster = width * height * channels * sample_bytes
    if len(data) < size + raster:
        raise InputError(f"truncated netpbm raster: {len(data) - size} of {raster} bytes")
    trailer = data[size + raster :]
    if len(trailer) > MAX_TRAILER:
        raise InputError("netpbm file holds more than one image (or trailing data); one image per file")
    samples = np.frombuffer(data, dtype=np.uint8, count=raster, offset=size)
    extras = {
        "format": "netpbm",
        "header": data[:size].decode("latin-1"),
        "width": width,
        "height": height,
        "channels": channels,
        "sample_bytes": sample_bytes,
        "trailer": trailer.decode("latin-1"),
    }
    return samples.reshape(height, width, channels, sample_bytes), extras


def join(samples: np.ndarray, extras: dict) -> bytes:
    return (extras["header"].encode("latin-1") + samples.tobytes()
            + extras.get("trailer", "").encode("latin-1"))
