"""Images in the compact header (form `c`): compress/media/image_compact.py, and the checked digest of
compress/core/compact.py (FLAG_CHECKED, for PNGs whose layout is rebuilt).

Round trips of the header codec with hypothesis over real front-end extras (PNG replayed and
re-encoded, PGM/PPM, every order and predictor), the shapes that must fall back to the JSON form, the
registry ids, hostile compact image headers (each refused with a ContainerError or checked out by the
one validator), the engine writing it, and a golden."""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import compress  # noqa: F401  (registers the media front ends and their compact codecs)
from compress.core import compact, container, frontends, online
from compress.core.engine import Compressor
from compress.core.errors import ChecksumError, ContainerError
from compress.media import image, image_compact, pixelpred
from test_compact import (
    GOLDEN,
    body_of,
    compact_round_trip,
    digests,
    forge_each_field,
    golden_header,
    reframe,
    truncations_are_refused,
)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_saved(mode: str, w: int, h: int, seed: int) -> bytes:
    """A PNG written by Pillow: its deflate stream replays (extras hold filters, zlib settings)."""
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, channels), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(out, "PNG")
    return out.getvalue()


def png_rebuilt(w: int, h: int, seed: int, text: bytes = b"Comment\x00hi") -> bytes:
    """An RGB PNG whose deflate stream no zlib setting replays (a full flush inside it): decoding
    rebuilds the file, so the header holds checked_sha256 (what every Kodak image gets)."""
    rng = np.random.default_rng(seed)
    raw = b"".join(b"\x00" + rng.integers(0, 256, 3 * w, dtype=np.uint8).tobytes() for _ in range(h))
    z = zlib.compressobj(9)
    stream = z.compress(raw[: len(raw) // 2]) + z.flush(zlib.Z_FULL_FLUSH) + z.compress(raw[len(raw) // 2:]) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"tEXt", text) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b""))


def pnm(w: int, h: int, grey: bool, seed: int, trailer: bytes = b"") -> bytes:
    magic, channels = (b"P5", 1) if grey else (b"P6", 3)
    pixels = np.random.default_rng(seed).integers(0, 256, w * h * channels, dtype=np.uint8).tobytes()
    return magic + b"\n# made here\n%d %d\n255\n" % (w, h) + pixels + trailer


@st.composite
def image_headers(draw):
    w, h, seed = draw(st.integers(1, 9)), draw(st.integers(1, 7)), draw(st.integers(0, 9))
    kind = draw(st.sampled_from(["saved-L", "saved-RGB", "saved-RGBA", "rebuilt", "pgm", "ppm"]))
    if kind.startswith("saved"):
        data = png_saved(kind[6:], w, h, seed)
    elif kind == "rebuilt":
        data = png_rebuilt(w, h, seed)
    else:
        data = pnm(w, h, kind == "pgm", seed)
    order = draw(st.sampled_from(image.ORDERS))
    predictor = draw(st.sampled_from(pixelpred.KINDS))
    payload, extras = frontends.get("image", order=order, strip=draw(st.integers(1, 40)),
                                    predictor=predictor).split(data)
    header = {
        "format": "lmcompress", "modality": "image", "frontend": extras, "symbolizer": "bytes-charmap/v1",
        "original_length": len(data), "payload_length": len(payload), "original_sha256": draw(digests),
        "checked_sha256": draw(digests) if extras.get("reencoded") else None,
        "model": {"id": "/ckpt", "base_id": "/ckpt", "sha256": draw(digests)},
        "adapter": None, "tokenizer_sha256": draw(st.sampled_from(compact.TOKENIZER_DIGESTS) | digests),
        "vocab_size": 259, "prefix_id": 1, "context": 512, "batch": 256, "dtype": "float32",
        "device": "cpu:x86_64", "threads": draw(st.integers(1, 4)), "quantizer": "constriction-leaky24/1",
        "stepper": draw(st.sampled_from(["kv-growing/2", "kv-primed/1"])), "libraries": {"torch": "2.13.0"},
        "segments": [415] * draw(st.integers(1, 30)) + [7], "batches": [draw(st.integers(0, 2**32 - 1))],
        "batch_crc32": [draw(st.integers(0, 2**32 - 1))],
    }
    if draw(st.booleans()):
        header["tune"] = draw(st.sampled_from(sorted(online.VERSIONS)))
    if draw(st.booleans()):
        header["mix"] = draw(st.sampled_from(compact.MIXES))
    return header


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_headers())
def test_image_header_round_trips_through_the_compact_form(h):
    decoded = compact_round_trip(h)
    assert decoded["frontend"] == h["frontend"]
    assert decoded.get("checked_sha256") == (None if h["checked_sha256"] is None else h["checked_sha256"][:16])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_headers(), st.data())
def test_image_shapes_it_cannot_hold_fall_back_to_json(h, data):
    extras = h["frontend"]
    change = data.draw(st.sampled_from(["width", "order", "predictor", "extra", "format", "base64", "ihdr",
                                        "channels"]))
    if change == "width":
        extras["width"] += 1  # differs from the IHDR's or the PGM/PPM header's
    elif change == "order":
        extras["order"] = "zigzag"
    elif change == "predictor":
        extras["predictor"] = "paeth"
    elif change == "extra":
        extras["colour"] = "srgb"
    elif change == "format":
        extras["format"] = "gif"
    elif change == "channels":
        extras["channels"] = True  # equal to 1, but not the integer the file's header gives
        extras["width"] = extras["width"] if extras["format"] == "png" else extras["width"] + 1
    elif extras["format"] == "png" and change == "base64":
        extras["trailer"] = "QR=="  # decodes, but "QQ==" is how b64 writes that byte: not canonical
    elif extras["format"] == "png":
        extras["chunks"] = extras["chunks"][1:]  # no IHDR first
    else:
        extras["header"] = "P7\n"  # does not parse
    assert compact.encode(h) is None


def test_a_checked_digest_is_written_only_for_images():
    """Text, audio and video never rebuild the file: a header of theirs with checked_sha256 keeps the
    JSON form, and a compact one that claims the flag is refused."""
    assert compact._CHECKED == {"image"}
    text_body = bytearray(body_of(Compressor(str(GOLDEN / "tiny-llama"), threads=1, allow_stored=False)
                                  .compress(b"checked digests are for images only")))
    text_body[1] |= compact.FLAG_CHECKED
    with pytest.raises(ContainerError, match="unsupported compact flags"):
        compact.decode(reframe(bytes(text_body)))


def test_registry_ids_are_append_only():
    assert compact.MODALITIES == ("text", "audio", "video", "image")
    assert compact.SYMBOLIZER_OF["image"] == "bytes-charmap/v1" and compact.FLAG_CHECKED == 16
    assert image_compact.FORMATS == ("png", "netpbm")
    assert image_compact.ORDERS == ("interleaved", "planar", "rows", "strips")
    assert image_compact.PREDICTORS == ("none", "med", "med-green", "gap-green")
    # every order and predictor the front end has can be written (else the JSON form is)
    assert set(image.ORDERS) <= set(image_compact.ORDERS)
    assert set(pixelpred.KINDS) <= set(image_compact.PREDICTORS)


@pytest.fixture(scope="module")
def coder(tiny_model_dir):
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)


@pytest.fixture(scope="module")
def photo():
    return png_rebuilt(9, 7, seed=3)


@pytest.fixture(scope="module")
def blob(coder, photo):
    return coder.compress(photo, modality="image", predictor="med-green", order="strips", strip=4)


def _pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).tobytes()


def test_the_encoder_writes_images_compactly(coder, photo, blob):
    assert container.form(blob) == "compact"
    header = frontends.read_header(blob)
    assert header["frontend"]["reencoded"] and len(header["checked_sha256"]) == 16
    assert header["frontend"]["chunks"][1][0] == "tEXt" and header["tune"] == online.ADAM7
    assert container.stored_header_length(blob) <= 160
    rebuilt = coder.decompress(blob)
    assert _pixels(rebuilt) == _pixels(photo)
    for data in (png_saved("RGBA", 5, 4, 1), pnm(4, 3, True, 2, trailer=b"\n"), pnm(3, 2, False, 5)):
        packed = coder.compress(data, modality="image")
        assert container.form(packed) == "compact" and coder.decompress(packed) == data


def test_changed_pixels_fail_the_short_checked_digest(coder, blob):
    """The checked digest, cut to 8 bytes, still catches a file whose pixels differ: its prefix
    is the sha256 of other canonical bytes."""
    start, end = compact.header_span(blob)
    spans: list = []
    compact.decode(blob, spans)
    a, b = next((a, b) for n, a, b in spans if n == "checked digest")
    forged = bytearray(blob)
    forged[a] ^= 1
    forged = reframe(bytes(forged[start:end]), bytes(blob[end + 4:]))
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        coder.decompress(forged)


def test_truncation_anywhere_is_refused(blob):
    truncations_are_refused(blob)


def _forged_image_field(name: str, value: int) -> bytes:
    if name == "image chunk name":
        return value.to_bytes(4, "little") if value < 2**32 else b"IHDR"
    single = ("image flags", "image format", "image order", "image predictor")
    return bytes([value & 0xFF]) if name in single else compact.varint(value)


def test_every_image_field_goes_through_the_one_validator(blob):
    """Each compact image field replaced by hostile values: a ContainerError, never a crash or an
    allocation the header did not pay for."""
    forged = forge_each_field(blob, lambda n: n.startswith("image"), (0, 1, 2, 3, 4, 7, 9, 255, 2**16, 2**34),
                              _forged_image_field)
    assert forged >= {"image flags", "image format", "image order", "image strip", "image predictor",
                      "image chunks", "image chunk name", "image chunk", "image idat_at", "image trailer"}


def test_a_replay_flag_on_a_pgm_is_refused(coder):
    blob = coder.compress(pnm(3, 2, True, 1), modality="image")
    body = bytearray(body_of(blob))
    spans: list = []
    compact.decode(blob, spans)
    start = compact.header_span(blob)[0]
    a = next(a for n, a, _ in spans if n == "image flags") - start
    body[a] |= image_compact.FLAG_REPLAY
    with pytest.raises(ContainerError, match="PNG replay flag on a PGM/PPM"):
        frontends.parse(reframe(bytes(body), blob[compact.header_span(blob)[1] + 4:]))


def test_golden_compact_image_header():
    """tests/golden/image-compact.head: the compact header of a re-encoded PNG's container (the
    `photo` fixture's file, med-green residuals in 4-pixel strips, the test model, adam/4) as first
    written, and the header it stands for: it must keep decoding to that header, and the encoder
    must keep writing exactly those bytes for it."""
    decoded, _ = golden_header("image-compact")
    assert decoded["frontend"]["reencoded"] and len(decoded["checked_sha256"]) == 16
