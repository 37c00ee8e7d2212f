"""Image front end: PNG and binary PPM/PGM <-> a payload of pixel bytes for a byte-level model.

Each sample byte becomes one token of ByteSymbolizer's 256-token alphabet (the LMCompress image
recipe). How the (height, width, channels) samples are laid out in the payload changes what the
model sees before each byte, so the order is a choice, recorded in the extras:

* planar       every channel in turn, its rows concatenated (the paper's order);
* interleaved  pixel after pixel, its channels together (RGBRGB...) -- the default: each byte
               follows its left neighbour and its own pixel's earlier channels. Measured with
               bench/image_order.py (untuned SmolLM2-135M, fast scoring, 1024-pixel segments,
               32x32 centre crops of kodim01/05/13/23): 7.005 bits/byte vs planar 7.337, rows 7.379;
* rows         per image row, each channel's row in turn: a row sees the same row of the
               previous channels and the previous rows;
* strips       the image cut into vertical strips `strip` pixels wide (default 16), each strip
               scanned row by row with the channels interleaved: the pixel above is 3*strip
               bytes back instead of 3*width, so a context of a few hundred symbols holds several
               rows of 2-D neighbourhood. Made for small byte models with short contexts
               (compress/core/bytemodel.py); the strip width is recorded in the extras.

All four are exact bijections of the sample array. For single-channel images they coincide.
Before the order is applied, `predictor` may replace the samples by prediction residuals
(compress/media/pixelpred.py: `med`, `med-green`, `gap-green`; recorded in the extras, exactly invertible).
Two-byte samples (16-bit PNG greyscale, PGM/PPM with maxval > 255) stay big-endian byte pairs.
"""

from __future__ import annotations

import numpy as np

from compress.core import frontends, pixmix, schema
from compress.core.container import MAX_HEADER_TEXT
from compress.core.errors import ContainerError, InputError
from compress.core.symbols import BYTEMAP_VERSION, ByteSymbolizer
from compress.media import netpbm, pixelpred, pngfile

ORDERS = ("interleaved", "planar", "rows", "strips")
DEFAULT_ORDER = "interleaved"
DEFAULT_STRIP = 16
# samples array axes: (height, width, channel, byte); each order but strips is an axis permutation
_AXES = {"interleaved": (0, 1, 2, 3), "planar": (2, 0, 1, 3), "rows": (0, 2, 1, 3)}


def valid_strip(strip) -> bool:
    return isinstance(strip, int) and not isinstance(strip, bool) and strip >= 1


def _ordered(samples: np.ndarray, order: str, strip: int) -> np.ndarray:
    """`samples` (height, width, channel, byte) flattened in payload order (any dtype)."""
    if order == "strips":
        width = samples.shape[1]
        return np.concatenate([np.ascontiguousarray(samples[:, x : x + strip]).reshape(-1)
                               for x in range(0, width, strip)])
    return np.ascontiguousarray(samples.transpose(_AXES[order])).reshape(-1)


def to_payload(samples: np.ndarray, order: str, strip: int = DEFAULT_STRIP) -> bytes:
    return _ordered(samples, order, strip).tobytes()


def payload_index(shape: tuple[int, int, int, int], order: str, strip: int = DEFAULT_STRIP) -> np.ndarray:
    """int32 [height, width, channels, bytes]: the payload position of every sample byte, the
    layout `to_payload` writes (the pixel mixer's map from the image to the payload)."""
    n = int(np.prod(shape))
    flat = _ordered(np.arange(n, dtype=np.int32).reshape(shape), order, strip)
    index = np.empty(n, dtype=np.int32)
    index[flat] = np.arange(n, dtype=np.int32)
    return index.reshape(shape)


def from_payload(payload: bytes, shape: tuple[int, int, int, int], order: str,
                 strip: int = DEFAULT_STRIP) -> np.ndarray:
    flat = np.frombuffer(payload, dtype=np.uint8)
    if order == "strips":
        height, width, channels, nbytes = shape
        out = np.empty(shape, dtype=np.uint8)
        pos = 0
        for x in range(0, width, strip):
            w = min(strip, width - x)
            n = height * w * channels * nbytes
            out[:, x : x + w] = flat[pos : pos + n].reshape(height, w, channels, nbytes)
            pos += n
        return out
    axes = _AXES[order]
    permuted = flat.reshape([shape[a] for a in axes])
    return permuted.transpose(np.argsort(axes))


_B64 = schema.Str(max_len=MAX_HEADER_TEXT, pattern=schema.BASE64)
_DIM = schema.Int(1, 2**31 - 1)
EXTRAS = schema.Obj(
    fields={
        "format": schema.Str(choices=("png", "netpbm")),
        "width": _DIM,
        "height": _DIM,
        "channels": schema.Int(1, 4),
        "sample_bytes": schema.Int(1, 2),
        "order": schema.Str(choices=ORDERS),
        "strip": _DIM,
        "predictor": schema.Str(choices=pixelpred.KINDS),
        # netpbm: the header as written and any bytes after the raster (latin-1 text)
        "header": schema.Str(max_len=1 << 20, forbid="", latin1=True),
        # png: every chunk but IDAT in order, where the IDATs go, what follows IEND
        "trailer": schema.Str(max_len=MAX_HEADER_TEXT, forbid="", latin1=True),
        "chunks": schema.List(schema.Tuple((schema.Str(max_len=4, pattern=pngfile.CHUNK_NAME), _B64)),
                              max_len=1 << 16),
        "idat_at": schema.Int(1, 1 << 16),
        "reencoded": schema.Bool(),
        # png whose deflate stream replays: filter types, zlib settings, IDAT chunk sizes
        "filters": _B64,
        "zlib": schema.Obj({"level": schema.Int(0, 9), "wbits": schema.Int(9, 15),
                            "memlevel": schema.Int(1, 9), "strategy": schema.Int(0, 4)}),
        "idat_sizes": schema.List(schema.Tuple((schema.Int(0, 2**31 - 1), _DIM)), max_len=1 << 20),
        "idat_crc32": schema.Int(0, 2**32 - 1),
        "zlib_version": schema.Str(max_len=32),
    },
    optional=frozenset({"strip", "predictor", "header", "trailer", "chunks", "idat_at",
                        "reencoded", "filters", "zlib", "idat_sizes", "idat_crc32", "zlib_version"}),
)
_REQUIRED = {"png": ("chunks", "idat_at", "trailer", "reencoded"), "netpbm": ("header",)}
_REPLAY = ("filters", "zlib", "idat_sizes", "idat_crc32")


def check_extras(extras: dict, header: dict) -> None:
    """Dimensions agree with the payload length and with the file's own header (IHDR, or the PGM/PPM
    header), and every part `join` reads is present and in range."""
    shape = _shape(extras)
    if header["payload_length"] != shape[0] * shape[1] * shape[2] * shape[3]:  # Python ints
        raise ContainerError("corrupt header: image payload length does not match its dimensions")
    missing = [k for k in _REQUIRED[extras["format"]] if k not in extras]
    if missing:
        raise ContainerError(f"corrupt header: field 'frontend.{missing[0]}' is missing")
    try:
        if extras["format"] == "netpbm":
            size, *found = netpbm.parse_header(extras["header"].encode("latin-1"))
            sample_bytes = 1 if found[3] < 256 else 2
            if size != len(extras["header"]) or tuple(found[:3]) + (sample_bytes,) != (
                    extras["width"], extras["height"], extras["channels"], extras["sample_bytes"]):
                raise ContainerError("corrupt header: image dimensions differ from the PGM/PPM header")
            trailer = len(extras.get("trailer", ""))
            if trailer > netpbm.MAX_TRAILER or size + header["payload_length"] + trailer != header[
                    "original_length"]:
                raise ContainerError("corrupt header: PGM/PPM parts do not add up to the original length")
            return
        pngfile.unb64(extras["trailer"])
        chunks = extras["chunks"]
        if not chunks or chunks[0][0] != "IHDR" or extras["idat_at"] > len(chunks):
            raise ContainerError("corrupt header: PNG chunk list")
        ihdr = pngfile.Header(pngfile.unb64(chunks[0][1]))
    except (InputError, ValueError) as exc:
        raise ContainerError(f"corrupt header: image file header ({exc})") from None
    if (ihdr.width, ihdr.height, ihdr.channels, ihdr.sample_bytes) != (
            extras["width"], extras["height"], extras["channels"], extras["sample_bytes"]):
        raise ContainerError("corrupt header: image dimensions differ from the PNG's IHDR")
    if not extras["reencoded"]:
        if any(k not in extras for k in _REPLAY):
            raise ContainerError("corrupt header: PNG replay settings are incomplete")
        filters = pngfile.unb64(extras["filters"])
        if len(filters) != extras["height"] or max(filters, default=0) > 4:
            raise ContainerError("corrupt header: PNG filter types do not fit the image")
        # each IDAT chunk took 12 bytes of the original file besides its data
        chunks_total = sum(count for _, count in extras["idat_sizes"])
        data_total = sum(size * count for size, count in extras["idat_sizes"])
        if 12 * chunks_total + data_total > header["original_length"]:
            raise ContainerError("corrupt header: PNG IDAT sizes exceed the original file")


def _shape(extras: dict) -> tuple[int, int, int, int]:
    return extras["height"], extras["width"], extras["channels"], extras["sample_bytes"]


@frontends.register
class ImageFrontend:
    """PNG (pixel-exact; byte-exact when its deflate stream replays) and PGM/PPM (byte-exact)."""

    name = "image"
    # The coder's online adaptation (compress/core/adapt.py) is off for pixel bytes: it gains
    # nothing and its per-token Python work dominates a small pixel model's time. Scoring pass on a
    # 768x512 crop of wiki_008.png (validation image, checkpoints/kodak_igpt/cpu3600med, carried
    # context 512): ngram-mix/2 3,078,264 bits in 228 s, none 3,077,820 bits in 66 s
    # (independent segments 3,103,569 bits in 58 s).
    coder_adapt = None
    # Carried context with one row per 2,048 bytes (at most 1,024 rows) instead of the text default
    # (one per 2,560 tokens, at most 32): with 32 rows kodim01 and kodim23 took 182-205 s each way,
    # over the 3-minute budget. Compressing a 768x512 crop of wiki_008.png (validation image, same
    # checkpoint, 2 threads): 256 rows 385,668 B in 104 s; 576 rows (this rule) 386,059 B in 92 s;
    # independent segments (kv-growing/2, batch 1024) 388,618 B in 63 s.
    coder_rows = (2048, 1024)
    # New containers: independent segments, 256 to a batch, with online tuning between batches
    # (compress/core/online.py adam/3): the model meets photographs unlike its training set and
    # learns each one as it is coded, which outweighs carried context's longer view. Centre 768x512
    # of wiki_016.png (validation photograph, `kodak_igpt/cpu8640`, 2 threads, idle): carried context
    # (the rule above) 345,392 B in 77 s; independent segments, batch 1024, 349,869 B in 56 s;
    # batch 256 with adam/1 347,511 B in 84 s, adam/2 341,993 B, adam/3 339,256 B (104 s, on a
    # faster host); the probes behind adam/2 and adam/3 in docs/image.md. Since stop 48 the
    # segments are primed (kv-primed/1): from the second batch on each starts from the 96 bytes
    # before it (two rows of its strip) instead of cold, in striped batches so that those bytes
    # are decoded first. Same crop, teacher-forced ideal bytes with adam/3: 338,748 B cold,
    # 334,077 B primed (-1.4%; striping alone costs the tuning 0.4%, 340,072 B). Since stop 53 the
    # tuning is adam/4 (every segment once instead of every other one twice, the same steps):
    # teacher-forced, `kodak_igpt/cpu17280bf16`, 327,604 B -> 326,309 (-0.40%; wiki_019, never
    # read by training: -0.02%); batches of 192 326,272, not worth their extra lockstep steps.
    # Since stop 54 it is adam/5, adam/4's steps at a step size that shrinks by 0.9 a batch:
    # 326,309 B -> 325,119 (-0.36%; wiki_019 -0.09%), in the same time. Since stop 56 it is adam/6,
    # adam/5 with two passes over each of the first three batches, and since stop 58 adam/7, which
    # moves adam/6's steps towards the start of the file (the validation and Kodak figures of both
    # beside ADAM6 and ADAM7 in compress/core/online.py).
    coder_stepper = "kv-primed/1"   # compress.core.stepper.PRIMED
    coder_batch = 256
    coder_tune = "adam/7"
    # float32, not the text default bf16-linear (compress/core/linear16.py): the byte models'
    # figures and time budgets were measured in float32, bf16-linear's were not.
    coder_dtype = "float32"
    # New containers of residual payloads (a predictor set) mix the model with classical features
    # of the decoded neighbourhood under weights learned from the file (compress/core/pixmix.py;
    # measured on the validation photographs only, figures there). Decoders accept it on any
    # 8-bit image; raw-sample payloads get it only when asked for, as it was not measured there.
    coder_mix = pixmix.VERSION
    suffixes = ("png", "ppm", "pgm", "pnm")
    SYMBOLIZER = BYTEMAP_VERSION
    EXTRAS = EXTRAS
    check_extras = staticmethod(check_extras)

    def __init__(self, order: str = DEFAULT_ORDER, strip: int = DEFAULT_STRIP, predictor: str = "none"):
        if order not in ORDERS:
            raise InputError(f"unknown image order '{order}' (choose from {', '.join(ORDERS)})")
        if not valid_strip(strip):
            raise InputError(f"image strip width must be a positive integer, not {strip!r}")
        if predictor not in pixelpred.KINDS:
            raise InputError(f"unknown pixel predictor '{predictor}' (choose from {', '.join(pixelpred.KINDS)})")
        self.order = order
        self.strip = strip
        self.predictor = predictor

    def split(self, data: bytes) -> tuple[bytes, dict]:
        if not data:
            raise InputError("empty input: not an image")
        if data.startswith(pngfile.SIGNATURE[:4]):
            samples, extras = pngfile.split(data)
        elif data[:1] == b"P":
            samples, extras = netpbm.split(data)
        else:
            raise InputError("not a PNG or binary PGM/PPM image")
        extras["order"] = self.order
        if self.order == "strips":
            extras["strip"] = self.strip
        if self.predictor != "none":
            extras["predictor"] = self.predictor
            samples = pixelpred.residuals(samples, self.predictor)
        return to_payload(samples, self.order, self.strip), extras

    def join(self, payload: bytes, extras: dict) -> bytes:
        shape = _shape(extras)
        if len(payload) != int(np.prod(shape)):
            raise ContainerError("image payload length does not match the header's dimensions")
        order = extras.get("order")
        strip = extras.get("strip", DEFAULT_STRIP)
        if order not in ORDERS or not valid_strip(strip):
            raise ContainerError("corrupt header: unknown image order or strip width")
        samples = pixelpred.restore(from_payload(payload, shape, order, strip),
                                    extras.get("predictor", "none"))
        if extras["format"] == "png":
            return pngfile.join(samples, extras)
        return netpbm.join(samples, extras)

    @staticmethod
    def mix_default(extras: dict) -> bool:
        """Whether new containers of this image mix by default (`coder_mix`): residual payloads of
        8-bit samples."""
        return extras.get("predictor", "none") != "none" and extras.get("sample_bytes", 1) == 1

    @staticmethod
    def mix_geometry(extras: dict, payload_length: int) -> pixmix.Geometry | None:
        """Where each sample of a checked header's image lies in the payload, for the pixel mixer;
        None when its samples are not single bytes (the mixer's symbols are 8-bit values) or do
        not fill exactly `payload_length` bytes (checked before anything is allocated)."""
        shape = _shape(extras)
        if shape[3] != 1 or shape[0] * shape[1] * shape[2] != payload_length:  # Python ints
            return None
        index = payload_index(shape, extras.get("order"), extras.get("strip", DEFAULT_STRIP))
        return pixmix.Geometry(index.reshape(shape[:3]))

    def checksum_bytes(self, data: bytes) -> bytes:
        """Canonical bytes for re-encoded PNGs (see compress.core.engine): pixels + metadata. Only
        re-encoded PNGs are checked this way; every other file keeps the whole-file check."""
        return pngfile.canonical(data) if data.startswith(pngfile.SIGNATURE) else data

    def symbolizer(self, tokenizer, vocab_size: int):
        return ByteSymbolizer(tokenizer, vocab_size)

    @staticmethod
    def describe(extras: dict) -> list[str]:
        """Lines for `lmcompress -l`: the image, the payload order and the predictor."""
        order = extras.get("order")
        if order == "strips":
            order = f"strips of {extras.get('strip', DEFAULT_STRIP)} pixels"
        kind = str(extras.get("format", "?")).upper()
        if kind == "NETPBM":
            kind = {"P5": "PGM", "P6": "PPM"}.get(str(extras.get("header", ""))[:2], kind)
        lines = [f"{kind} {extras.get('width')}x{extras.get('height')}, "
                 f"{extras.get('channels')} channel(s) of {8 * int(extras.get('sample_bytes') or 1)} bits, "
                 f"payload order {order}"]
        if extras.get("predictor"):
            lines.append(f"payload holds pixel prediction residuals ({extras['predictor']}): lossless")
        return lines
