"""PNG <-> (pixel samples, everything else), byte-exact whenever the deflate stream can be replayed.

Pixels are decoded by Pillow. Every chunk other than IDAT (IHDR, PLTE, tRNS, iCCP, gAMA, pHYs,
tEXt, ...) is kept raw, in its place, so metadata survives untouched. The compressed IDAT stream is
what a model-driven coder must not store, so it is rebuilt on the way back:

* exact: most PNG writers use zlib with one of a few settings. If refiltering the decoded rows with
  the file's own per-row filter types and deflating them with some (level, window, memLevel,
  strategy) reproduces the original stream byte for byte, we keep those settings (a few bytes) and
  the rebuilt file is identical to the input. This depends on the decoder's zlib producing the same
  deflate output as the encoder's (true across zlib 1.2.x/1.3.x; zlib-ng differs), so the version is
  recorded and a different output is reported, never written silently.
* re-encoded: otherwise (other deflaters, interlaced files) the pixels are refiltered with the
  usual minimum-sum heuristic and deflated at level 9: the pixels and every other chunk are
  identical, the file bytes are not. `extras["reencoded"]` says so, and `canonical()` gives the
  bytes the engine's end-to-end checksum covers in that case.

Supported: 8-bit greyscale, grey+alpha, RGB, RGBA and palette (indices coded, PLTE kept raw) and
16-bit greyscale (two bytes per sample, big-endian as in the file). Others are refused clearly.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import zlib

import numpy as np

from compress.core.errors import ChecksumError, InputError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CANONICAL_VERSION = b"lmcompress/png-canonical/v1\n"
# (bit depth, colour type) -> (Pillow mode, channels, bytes per sample)
SUPPORTED = {
    (8, 0): ("L", 1, 1),
    (8, 2): ("RGB", 3, 1),
    (8, 3): ("P", 1, 1),
    (8, 4): ("LA", 2, 1),
    (8, 6): ("RGBA", 4, 1),
    (16, 0): ("I;16", 1, 2),
}
_COLOUR = {0: "greyscale", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


CHUNK_NAME = re.compile(r"[A-Za-z]{4}")  # what read_chunks accepts (bytes.isalpha is ASCII-only)


# -- chunk layer ------------------------------------------------------------------------------------
def read_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """([(type, data)] up to and including IEND, trailing bytes); InputError on damage."""
    if not data.startswith(SIGNATURE):
        raise InputError("not a PNG file (bad signature)")
    chunks = []
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise InputError("truncated PNG: the file ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise InputError(f"corrupt PNG: bad chunk header at byte {pos}")
        end = pos + 12 + length
        if end > len(data):
            raise InputError(f"truncated PNG: chunk {kind.decode('ascii')} is cut short")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise InputError(f"corrupt PNG: CRC mismatch in chunk {kind.decode('ascii')}")
        chunks.append((kind, body))
        pos = end
        if kind == b"IEND":
            return chunks, data[pos:]


def write_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# -- pixels -----------------------------------------------------------------------------------------
class Header:
    def __init__(self, body: bytes):
        if len(body) != 13:
            raise InputError("corrupt PNG: IHDR must be 13 bytes")
        (self.width, self.height, self.depth, self.colour, self.compression, self.filter_method,
         self.interlace) = struct.unpack(">IIBBBBB", body)
        if self.width == 0 or self.height == 0:
            raise InputError("corrupt PNG: zero width or height")
        key = (self.depth, self.colour)
        if key not in SUPPORTED:
            kind = _COLOUR.get(self.colour, f"colour type {self.colour}")
            raise InputError(
                f"unsupported PNG: {self.depth}-bit {kind} (supported: 8-bit greyscale, grey+alpha, "
                "RGB, RGBA, palette, and 16-bit greyscale)"
            )
        self.mode, self.channels, self.sample_bytes = SUPPORTED[key]

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.sample_bytes


def parse(data: bytes):
    """(Header, chunks, trailer, index of the first IDAT), checking the structure we rely on."""
    chunks, trailer = read_chunks(data)
    if chunks[0][0] != b"IHDR":
        raise InputError("corrupt PNG: the first chunk is not IHDR")
    header = Header(chunks[0][1])
    kinds = [k for k, _ in chunks]
    if b"acTL" in kinds:
        raise InputError("unsupported PNG: animated PNG (APNG)")
    idat = [i for i, k in enumerate(kinds) if k == b"IDAT"]
    if not idat:
        raise InputError("corrupt PNG: no IDAT chunk")
    if idat != list(range(idat[0], idat[-1] + 1)):
        raise InputError("corrupt PNG: IDAT chunks are not consecutive")
    return header, chunks, trailer, idat[0]


def decode_samples(data: bytes, header: Header) -> np.ndarray:
    """Pixel samples as uint8 (height, width, channels, sample_bytes), big-endian samples."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode != header.mode or im.size != (header.width, header.height):
                raise InputError(f"unsupported PNG: Pillow decodes it as {im.mode}, expected {header.mode}")
            arr = np.asarray(im)
    except InputError:
        raise
    except Exception as exc:  # Pillow raises many types for damaged data
        raise InputError(f"cannot decode PNG: {exc}") from None
    h, w = header.height, header.width
    if header.sample_bytes == 2:
        arr = arr.astype(">u2").view(np.uint8)
    return np.ascontiguousarray(arr, dtype=np.uint8).reshape(h, w, header.channels, header.sample_bytes)


# -- filtering (PNG spec section 9) -----------------------------------------------------------------
BLOCK_ROWS = 256  # filter this many rows at a time: bounded memory for large images


def filter_candidates(rows: np.ndarray, bpp: int, above: np.ndarray | None = None) -> np.ndarray:
    """All five filtered versions of raw rows (height, rowbytes) -> (5, height, rowbytes) uint8.

    `above` is the raw row just above the first one (None at the top of the image). Filtering
    (unlike unfiltering) only looks at raw neighbours, so it vectorises."""
    x = rows.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    if above is not None:
        b[0] = above
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    out = np.stack([x, x - a, x - b, x - ((a + b) >> 1), x - paeth])
    return (out & 0xFF).astype(np.uint8)


def _blocks(rows: np.ndarray, bpp: int):
    for start in range(0, rows.shape[0], BLOCK_ROWS):
        above = rows[start - 1] if start else None
        yield start, filter_candidates(rows[start : start + BLOCK_ROWS], bpp, above)


def filter_rows(rows: np.ndarray, bpp: int, types: np.ndarray) -> bytes:
    """The filtered scanline stream (type byte + filtered row, per row) for given filter types."""
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = types
    for start, cand in _blocks(rows, bpp):
        n = cand.shape[1]
        out[start : start + n, 1:] = cand[types[start : start + n], np.arange(n)]
    return out.tobytes()


def heuristic_types(rows: np.ndarray, bpp: int) -> np.ndarray:
    """libpng's default choice: per row, the filter with the least sum of |signed bytes|."""
    types = [np.abs(cand.view(np.int8).astype(np.int32)).sum(axis=2).argmin(axis=0)
             for _, cand in _blocks(rows, bpp)]
    return np.concatenate(types).astype(np.uint8)


# -- deflate replay ---------------------------------------------------------------------------------
def _zlib_candidates(stream: bytes):
    """(level, wbits, memlevel, strategy) settings that could have written this zlib header."""
    if len(stream) < 2 or stream[0] & 0x0F != 8 or stream[1] & 0x20:
        return []
    wbits = (stream[0] >> 4) + 8
    if wbits > 15:  # not a valid zlib window: nothing can replay it
        return []
    flevel = stream[1] >> 6
    levels = {0: [1, 0], 1: [5, 2, 3, 4], 2: [6], 3: [9, 7, 8]}[flevel]
    out = [(lv, wbits, mem, st) for lv in levels for st in (0, 1) for mem in (8, 9)]
    if flevel == 0:  # Huffman-only / RLE strategies also write FLEVEL 0
        out += [(lv, wbits, mem, st) for st in (2, 3) for lv in (6, 9) for mem in (8, 9)]
    return out


def _deflate(raw: bytes, level: int, wbits: int, memlevel: int, strategy: int,
             expect: bytes | None = None) -> bytes | None:
    """zlib stream of `raw`; with `expect`, stops early (None) at the first byte that differs."""
    z = zlib.compressobj(level, zlib.DEFLATED, wbits, memlevel, strategy)
    out = bytearray()
    step, checked = 1 << 16, 0
    for start in range(0, len(raw), step):
        out += z.compress(raw[start : start + step])
        if expect is not None:
            if out[checked:] != expect[checked : len(out)]:
                return None
            checked = len(out)
    out += z.flush()
    if expect is not None and out != expect:
        return None
    return bytes(out)


def find_settings(filtered: bytes, stream: bytes) -> dict | None:
    for level, wbits, memlevel, strategy in _zlib_candidates(stream):
        if _deflate(filtered, level, wbits, memlevel, strategy, expect=stream) is not None:
            return {"level": level, "wbits": wbits, "memlevel": memlevel, "strategy": strategy}
    return None


def _runs(values: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for v in values:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return runs


# -- the two directions -----------------------------------------------------------------------------
def split(data: bytes) -> tuple[np.ndarray, dict]:
    """(samples (h, w, channels, sample_bytes), extras without the payload order)."""
    header, chunks, trailer, first_idat = parse(data)
    samples = decode_samples(data, header)
    idat = [body for kind, body in chunks if kind == b"IDAT"]
    others = [(kind, body) for kind, body in chunks if kind != b"IDAT"]
    extras = {
        "format": "png",
        "width": header.width,
        "height": header.height,
        "channels": header.channels,
        "sample_bytes": header.sample_bytes,
        "chunks": [[kind.decode("ascii"), b64(body)] for kind, body in others],
        "idat_at": first_idat,
        "trailer": b64(trailer),
        "reencoded": True,
    }
    if header.interlace == 0:
        stream = b"".join(idat)
        rows = samples.reshape(header.height, -1)
        try:
            filtered = zlib.decompress(stream)
        except zlib.error:
            filtered = b""
        width = rows.shape[1] + 1
        if len(filtered) == header.height * width:
            types = np.frombuffer(filtered, dtype=np.uint8)[::width].copy()
            if types.max() <= 4 and filter_rows(rows, header.pixel_bytes, types) == filtered:
                settings = find_settings(filtered, stream)
                if settings is not None:
                    extras.update(reencoded=False, filters=b64(types.tobytes()), zlib=settings,
                                  idat_sizes=_runs([len(c) for c in idat]),
                                  idat_crc32=zlib.crc32(stream), zlib_version=zlib.ZLIB_VERSION)
    return samples, extras


def join(samples: np.ndarray, extras: dict) -> bytes:
    h, w = extras["height"], extras["width"]
    bpp = extras["channels"] * extras["sample_bytes"]
    rows = samples.reshape(h, w * bpp)
    chunks = [(kind.encode("ascii"), unb64(body)) for kind, body in extras["chunks"]]
    if extras["reencoded"]:
        stream = _deflate(filter_rows(rows, bpp, heuristic_types(rows, bpp)), 9, 15, 9, 0)
        ihdr = bytearray(chunks[0][1])
        ihdr[12] = 0  # written without interlacing
        chunks[0] = (b"IHDR", bytes(ihdr))
        idat = [stream]
    else:
        types = np.frombuffer(unb64(extras["filters"]), dtype=np.uint8)
        z = extras["zlib"]
        stream = _deflate(filter_rows(rows, bpp, types), z["level"], z["wbits"], z["memlevel"],
                          z["strategy"])
        if zlib.crc32(stream) != extras["idat_crc32"]:
            raise ChecksumError(
                f"this zlib ({zlib.ZLIB_VERSION}) does not reproduce the original PNG's deflate "
                f"stream (made with zlib {extras.get('zlib_version')}); decode with a matching zlib"
            )
        idat, pos = [], 0
        for size, count in extras["idat_sizes"]:
            for _ in range(count):
                idat.append(stream[pos : pos + size])
                pos += size
    at = extras["idat_at"]
    body = [write_chunk(k, b) for k, b in chunks[:at]] + [write_chunk(b"IDAT", c) for c in idat]
    body += [write_chunk(k, b) for k, b in chunks[at:]]
    return SIGNATURE + b"".join(body) + unb64(extras["trailer"])


def canonical(data: bytes) -> bytes:
    """What a re-encoded PNG shares with its original: header fields but interlacing, every chunk
    but IHDR/IDAT in order, the decoded samples and any trailing bytes."""
    header, chunks, trailer, _ = parse(data)
    out = [CANONICAL_VERSION, struct.pack(">IIBB", header.width, header.height, header.depth,
                                          header.colour)]
    for kind, body in chunks[1:]:
        if kind != b"IDAT":
            out.append(struct.pack(">I", len(body)) + kind + body)
    out.append(decode_samples(data, header).tobytes())
    out.append(trailer)
    return b"".join(out)
