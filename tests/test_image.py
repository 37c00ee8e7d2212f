"""Image front end: PNG pixel-exact (byte-exact when zlib replays), PGM/PPM byte-exact, all orders."""

import hashlib
import io
import math
import struct
import zlib

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image, PngImagePlugin

from compress.core import container, frontends
from compress.core.errors import ChecksumError, ContainerError, InputError
from compress.media import image, pixelpred, pngfile

MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "I;16": 1}
sizes = st.tuples(st.integers(1, 9), st.integers(1, 7))


def make_array(mode, w, h, seed):
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
    arr = rng.integers(0, 256, size=(h, w, MODES[mode]), dtype=np.uint8)
    if seed % 2:  # smooth content too, so filters other than None get chosen
        arr = (np.arange(w * h * MODES[mode]).reshape(arr.shape) % 7).astype(np.uint8)
    return arr[..., 0] if MODES[mode] == 1 else arr


def png_bytes(mode, arr, **save):
    h, w = arr.shape[:2]
    raw = arr.astype("<u2").tobytes() if mode == "I;16" else arr.tobytes()
    im = Image.frombytes(mode, (w, h), raw)
    if mode == "P":
        im.putpalette(bytes(np.random.default_rng(1).integers(0, 256, 768, dtype=np.uint8)))
        im.info["transparency"] = bytes(range(0, 256, 16))
    buf = io.BytesIO()
    im.save(buf, "PNG", **save)
    return buf.getvalue()


def pixels(data):
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, np.asarray(im).copy()


def chunk_list(data):
    chunks, _ = pngfile.read_chunks(data)
    return [(k, b) for k, b in chunks if k != b"IDAT"]


def odd_deflate(raw):
    """A valid zlib stream no plain compressobj setting writes (a full flush in the middle)."""
    z = zlib.compressobj(6)
    half = len(raw) // 2
    return z.compress(raw[:half]) + z.flush(zlib.Z_FULL_FLUSH) + z.compress(raw[half:]) + z.flush()


def round_trip(data, order):
    fe = frontends.get("image", order=order)
    payload, extras = fe.split(data)
    assert extras["order"] == order
    out = fe.join(payload, extras)
    return payload, extras, out


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(sorted(MODES)), size=sizes, seed=st.integers(0, 9),
       order=st.sampled_from(image.ORDERS), level=st.sampled_from([0, 1, 6, 9]))
def test_png_round_trip_exact(mode, size, seed, order, level):
    w, h = size
    arr = make_array(mode, w, h, seed)
    data = png_bytes(mode, arr, compress_level=level)
    payload, extras, out = round_trip(data, order)
    assert len(payload) == w * h * MODES[mode] * (2 if mode == "I;16" else 1)
    # Pillow writes with zlib, whose deflate stream replays: the file comes back byte for byte
    assert extras["reencoded"] is False
    assert out == data


@settings(max_examples=30, deadline=None)
@given(mode=st.sampled_from(sorted(MODES)), size=sizes, seed=st.integers(0, 9),
       order=st.sampled_from(image.ORDERS))
def test_png_reencoded_is_pixel_exact(mode, size, seed, order):
    """A deflate stream zlib cannot replay: pixels and chunks kept, bytes not."""
    w, h = size
    data = png_bytes(mode, make_array(mode, w, h, seed))
    chunks, _ = pngfile.read_chunks(data)
    stream = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    odd = odd_deflate(stream)
    data = pngfile.SIGNATURE + b"".join(
        pngfile.write_chunk(k, odd if k == b"IDAT" else b) for k, b in chunks)
    fe = frontends.get("image", order=order)
    _, extras, out = round_trip(data, order)
    assert extras["reencoded"] is True
    assert pixels(out)[0] == pixels(data)[0]
    assert np.array_equal(pixels(out)[1], pixels(data)[1])
    assert chunk_list(out) == chunk_list(data)
    assert fe.checksum_bytes(out) == fe.checksum_bytes(data)


def test_png_keeps_ancillary_chunks_in_place():
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "lossless")
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"zzZz", b"after", after_idat=True)  # a private chunk after the image data
    arr = make_array("RGB", 5, 4, 3)
    data = png_bytes("RGB", arr, pnginfo=info, dpi=(72, 72), icc_profile=b"\x00" * 40)
    kinds = [k for k, _ in pngfile.read_chunks(data)[0]]
    assert {b"tEXt", b"gAMA", b"pHYs", b"iCCP", b"zzZz"} <= set(kinds)
    for order in image.ORDERS:
        assert round_trip(data, order)[2] == data


def test_png_filters_across_row_blocks(monkeypatch):
    """Filtering runs in blocks of rows; the row above a block must come from the previous one."""
    monkeypatch.setattr(pngfile, "BLOCK_ROWS", 3)
    rng = np.random.default_rng(5)
    arr = (np.cumsum(rng.integers(0, 4, (20, 11, 3)), axis=0) % 256).astype(np.uint8)
    data = png_bytes("RGB", arr)
    types = np.frombuffer(zlib.decompress(b"".join(
        b for k, b in pngfile.read_chunks(data)[0] if k == b"IDAT")), np.uint8)[:: 11 * 3 + 1]
    assert len(set(types.tolist()) - {0, 1}) > 0  # Up/Average/Paeth rows, which look above
    _, extras, out = round_trip(data, "rows")
    assert extras["reencoded"] is False and out == data


def test_png_trailing_bytes_and_multiple_idat_chunks():
    data = png_bytes("RGB", make_array("RGB", 9, 7, 0))
    chunks, _ = pngfile.read_chunks(data)
    stream = b"".join(b for k, b in chunks if k == b"IDAT")
    parts = [stream[i : i + 10] for i in range(0, len(stream), 10)]
    body = []
    for k, b in chunks:
        if k == b"IDAT":
            body += [pngfile.write_chunk(b"IDAT", p) for p in parts]
        else:
            body.append(pngfile.write_chunk(k, b))
    data = pngfile.SIGNATURE + b"".join(body) + b"trailing junk"
    _, extras, out = round_trip(data, "planar")
    assert extras["reencoded"] is False and out == data


def test_png_interlaced_is_reencoded_pixel_exact():
    arr = make_array("RGB", 9, 9, 1)
    base = png_bytes("RGB", arr)
    chunks, _ = pngfile.read_chunks(base)
    rows = arr.reshape(9, 27)
    # Adam7 passes: (x0, y0, dx, dy); each pass filtered with type 0
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
              (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + r.tobytes() for r in sub)
    ihdr = struct.pack(">IIBBBBB", 9, 9, 8, 2, 0, 0, 1)
    data = (pngfile.SIGNATURE + pngfile.write_chunk(b"IHDR", ihdr)
            + pngfile.write_chunk(b"IDAT", zlib.compress(raw)) + pngfile.write_chunk(b"IEND", b""))
    assert np.array_equal(pixels(data)[1], arr) and rows.size
    _, extras, out = round_trip(data, "interleaved")
    assert extras["reencoded"] is True
    assert np.array_equal(pixels(out)[1], arr)


# -- netpbm -------------------------------------------------------------------------------------
comment = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
space = st.sampled_from([" ", "\n", "\t", "\r\n", "  "])


@settings(max_examples=60, deadline=None)
@given(magic=st.sampled_from(["P5", "P6"]), size=sizes, maxval=st.sampled_from([1, 255, 256, 65535]),
       seps=st.lists(space, min_size=4, max_size=4), comments=st.lists(comment, max_size=3),
       order=st.sampled_from(image.ORDERS), seed=st.integers(0, 99), trailer=st.binary(max_size=5))
def test_netpbm_round_trip_byte_exact(magic, size, maxval, seps, comments, order, seed, trailer):
    w, h = size
    channels = 3 if magic == "P6" else 1
    sample_bytes = 1 if maxval < 256 else 2
    text = magic + seps[0] + "".join(f"#{c}\n" for c in comments)
    header = f"{text}{w}{seps[1]}{h}{seps[2]}{maxval}{seps[3][-1]}".encode()
    raster = np.random.default_rng(seed).integers(0, 256, w * h * channels * sample_bytes,
                                                  dtype=np.uint8).tobytes()
    data = header + raster + trailer
    payload, extras, out = round_trip(data, order)
    assert out == data
    assert sorted(payload) == sorted(raster)
    if order == "interleaved":
        assert payload == raster


def test_ppm_planar_order_is_per_channel_rows():
    arr = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = b"P6\n# made by hand\n3 2\n255\n" + arr.tobytes()
    fe = frontends.get("image", order="planar")
    payload, _ = fe.split(data)
    assert payload == arr.transpose(2, 0, 1).tobytes()
    payload, _ = frontends.get("image", order="rows").split(data)
    assert payload == arr.transpose(0, 2, 1).tobytes()


def test_suffixes_pick_image():
    for name in ("a.png", "b.PPM", "c.pgm", "d.pnm"):
        assert frontends.guess(name) == "image"


# -- errors -------------------------------------------------------------------------------------
def test_errors_are_clear():
    fe = frontends.get("image")
    good = png_bytes("RGB", make_array("RGB", 4, 4, 0))
    cases = {
        b"": "empty",
        b"GIF89a....": "not a PNG",
        good[:30]: "truncated PNG",
        good[:-12]: "truncated PNG",  # IEND missing
        good[:40] + bytes([good[40] ^ 1]) + good[41:]: "CRC mismatch",
        b"P3\n1 1\n255\n0 0 0\n": "P3",
        b"P6\n2 2\n255\n" + b"\x00" * 5: "truncated netpbm raster",
        b"P6\n2 2\n": "truncated netpbm header",
        b"P5 2 x 255\n": "expected a number",
        b"P5\n2 2\n0\n\x00\x00\x00\x00": "maxval",
        b"P5\n1 1\n255\n" + b"\x00" * (2 + (1 << 16)): "more than one image",
    }
    for data, words in cases.items():
        with pytest.raises(InputError, match=words):
            fe.split(data)
    with pytest.raises(InputError, match="order"):
        frontends.get("image", order="zigzag")


def test_unsupported_pngs_are_refused():
    fe = frontends.get("image")
    rgb16 = struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0)
    data = (pngfile.SIGNATURE + pngfile.write_chunk(b"IHDR", rgb16)
            + pngfile.write_chunk(b"IDAT", zlib.compress(b"\x00" * 7)) + pngfile.write_chunk(b"IEND", b""))
    with pytest.raises(InputError, match="16-bit RGB"):
        fe.split(data)
    bilevel = io.BytesIO()
    Image.new("1", (3, 3)).save(bilevel, "PNG")
    with pytest.raises(InputError, match="1-bit greyscale"):
        fe.split(bilevel.getvalue())
    apng = io.BytesIO()
    Image.new("RGB", (2, 2)).save(apng, "PNG", save_all=True,
                                  append_images=[Image.new("RGB", (2, 2), "red")])
    with pytest.raises(InputError, match="animated"):
        fe.split(apng.getvalue())


# -- through the real engine ------------------------------------------------------------------------
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["L", "RGB", "RGBA", "P", "I;16"]), size=sizes,
       order=st.sampled_from(image.ORDERS))
def test_engine_round_trip_png(tiny_compressor, mode, size, order):
    data = png_bytes(mode, make_array(mode, *size, seed=2))
    blob = tiny_compressor.compress(data, modality="image", order=order)
    header = container.read_header(blob)
    assert header["modality"] == "image" and header["frontend"]["order"] == order
    assert header.get("checked_sha256") is None  # byte-exact: the strict whole-file check applies
    assert tiny_compressor.decompress(blob) == data


def test_engine_round_trip_ppm_and_default_order(tiny_compressor):
    data = b"P6\n# kodak crop\n5 3\n255\n" + bytes(range(45))
    blob = tiny_compressor.compress(data, modality="image")
    assert container.read_header(blob)["frontend"]["order"] == image.DEFAULT_ORDER
    assert tiny_compressor.decompress(blob) == data


def _reencoded_png():
    data = png_bytes("RGB", make_array("RGB", 6, 5, 4), pnginfo=_text("Author", "me"))
    chunks, _ = pngfile.read_chunks(data)
    stream = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    odd = odd_deflate(stream)
    return pngfile.SIGNATURE + b"".join(
        pngfile.write_chunk(k, odd if k == b"IDAT" else b) for k, b in chunks)


def _text(key, value):
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


def test_engine_reencoded_png_checks_canonical_bytes(tiny_compressor):
    data = _reencoded_png()
    blob = tiny_compressor.compress(data, modality="image")
    header = container.read_header(blob)
    # the compact header keeps the canonical digest's first 8 bytes (compared by prefix)
    assert header["frontend"]["reencoded"] is True and len(header["checked_sha256"]) == 16
    out = tiny_compressor.decompress(blob)
    assert out != data and np.array_equal(pixels(out)[1], pixels(data)[1])
    assert chunk_list(out) == chunk_list(data)
    # damage the metadata in the header: the canonical checksum must catch it
    parsed = container.unpack(blob)
    header = dict(parsed.header)
    extras = dict(header["frontend"])
    extras["chunks"] = [[k, pngfile.b64(b"Author\x00you") if k == "tEXt" else v]
                        for k, v in extras["chunks"]]
    header["frontend"] = extras
    with pytest.raises(ChecksumError, match="canonical"):
        tiny_compressor.decompress(container.pack(header, parsed.streams))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 23), c=st.sampled_from([1, 3, 4]), nbytes=st.sampled_from([1, 2]),
       strip=st.integers(1, 25), seed=st.integers(0, 999))
def test_strips_order_is_a_bijection(h, w, c, nbytes, strip, seed):
    samples = np.random.default_rng(seed).integers(0, 256, (h, w, c, nbytes), dtype=np.uint8)
    payload = image.to_payload(samples, "strips", strip)
    assert len(payload) == samples.size
    assert np.array_equal(image.from_payload(payload, samples.shape, "strips", strip), samples)


def test_strips_put_the_pixel_above_one_strip_row_back():
    arr = make_array("RGB", 40, 6, 3)
    data = png_bytes("RGB", arr)
    fe = frontends.get("image", order="strips", strip=8)
    payload, extras = fe.split(data)
    assert extras["strip"] == 8
    p = np.frombuffer(payload, dtype=np.uint8)
    # first strip: rows of 8 pixels x 3 channels; byte 24 is pixel (row 1, col 0)
    assert list(p[24:27]) == list(arr[1, 0]) and list(p[:24]) == list(arr[0, :8].ravel())
    assert fe.join(payload, extras) == data or fe.checksum_bytes(fe.join(payload, extras)) == fe.checksum_bytes(data)
    with pytest.raises(Exception, match="strip width"):
        frontends.get("image", order="strips", strip=0)


# -- pixel prediction (predictor=, compress/media/pixelpred.py) -------------------------------------------
@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(1, 4), nbytes=st.sampled_from([1, 2]),
       kind=st.sampled_from(pixelpred.KINDS), smooth=st.booleans(), seed=st.integers(0, 999))
def test_pixel_predictors_are_bijections(h, w, c, nbytes, kind, smooth, seed):
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, 256, (h, w, c, nbytes), dtype=np.uint8)
    if smooth:  # a gradient with extremes: predictions overshoot and residuals wrap
        samples[..., 0] = (np.add.outer(np.arange(h) * 40, np.arange(w) * 90)[..., None] % 256).astype(np.uint8)
    res = pixelpred.residuals(samples, kind)
    assert res.shape == samples.shape and res.dtype == np.uint8
    assert np.array_equal(pixelpred.restore(res, kind), samples)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), seed=st.integers(0, 999), share=st.floats(0, 1))
def test_med_restore_where_fills_only_the_marked_pixels(h, w, seed, share):
    """Video's intra blocks (compress/media/motion.py): pixels marked `where` coded as MED residuals
    of their own plane, the others known; decoding fills the marked ones from their decoded
    neighbours and leaves the rest. With every pixel marked it is plain MED decoding."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (h, w)).astype(np.int64)
    where = rng.random((h, w)) < share
    r = (x - pixelpred.med_prediction(x) + 128) & 0xFF
    assert np.array_equal(pixelpred.med_restore_where(r, np.where(where, -1, x), where), x)
    everything = np.ones((h, w), dtype=bool)
    assert np.array_equal(pixelpred.med_restore_where(r, np.zeros_like(x), everything), pixelpred.plane_restore(r))


GAP_GREEN_DIGEST = "04aebc48af25068a2554ac997baeb9a79e809bafff4763ab8a9fb5e15d126c71"


def gap_by_hand(d, y, x, bits=8):
    """GAP at one pixel, written out as pixelpred's docstrings state it (a second reading of the
    rule for the vectorised code to agree with)."""
    height, width = d.shape

    def v(yy, xx):
        return int(d[yy, xx]) if yy >= 0 and 0 <= xx < width else 0

    if y == 0:
        w = v(0, x - 1)
        w, ww, n, nn, nw, ne, nne = w, w, w, w, w, w, w
    else:
        n = v(y - 1, x)
        w = n if x == 0 else v(y, x - 1)
        ww = n if x == 0 else (w if x == 1 else v(y, x - 2))
        nw = n if x == 0 else v(y - 1, x - 1)
        nn = n if y == 1 else v(y - 2, x)
        ne = n if x == width - 1 else v(y - 1, x + 1)
        nne = ne if y == 1 else (nn if x == width - 1 else v(y - 2, x + 1))
    dh = abs(w - ww) + abs(n - nw) + abs(n - ne)
    dv = abs(w - nw) + abs(n - nn) + abs(ne - nne)
    base, g, k = (w + n) / 2 + (ne - nw) / 4, dv - dh, 1 << (bits - 8)
    for edge, towards in ((g, w), (-g, n)):
        if edge > 80 * k:
            return towards
        if edge > 32 * k:
            return math.floor((base + towards) / 2 + 0.5)
        if edge > 8 * k:
            return math.floor((3 * base + towards) / 4 + 0.5)
    return math.floor(base + 0.5)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), bits=st.sampled_from([8, 16]), seed=st.integers(0, 999))
def test_gap_prediction_is_the_rule_as_written(h, w, bits, seed):
    rng = np.random.default_rng(seed)
    d = rng.integers(-(1 << bits) + 1, 1 << bits, (h, w)).astype(np.int64)  # colour differences go negative
    want = [[gap_by_hand(d, y, x, bits) for x in range(w)] for y in range(h)]
    assert np.array_equal(pixelpred.gap_prediction(d, bits), np.array(want, dtype=np.int64).reshape(h, w))


def test_gap_predicts_along_a_sharp_edge():
    """GAP (gap-green): horizontal stripes (each row constant, rows 100 apart) have a vertical
    gradient far above the horizontal one, so every pixel after the first of its row is predicted
    from W exactly; vertical stripes the other way, from N, below the first row."""
    rows = (np.arange(12) * 100 % 256).astype(np.int64)
    stripes = np.repeat(rows[:, None], 9, axis=1)
    r = pixelpred.plane_residuals(stripes, gap=True)
    assert (r[:, 1:] == 0x80).all()
    assert np.array_equal(pixelpred.plane_restore(r, gap=True), stripes)
    r = pixelpred.plane_residuals(stripes.T.copy(), gap=True)
    assert (r[1:, :] == 0x80).all() and (r[0, 1:] != 0x80).all()


def test_gap_residuals_of_a_flat_image_are_0x80():
    """With every neighbour equal, GAP's base (W + N)/2 + (NE - NW)/4 is the value itself; the
    first pixel has none (its W is 0) and keeps its value + 0x80 (mod 256)."""
    flat = np.full((5, 7, 3, 1), 77, dtype=np.uint8)
    r = pixelpred.residuals(flat, "gap-green")[..., 0]
    assert (r.reshape(-1, 3)[1:] == 0x80).all()
    assert (r[0, 0] == [(77 + 0x80) % 256, 0x80, 0x80]).all()  # green first; R - G = B - G = 0


def test_gap_green_residuals_are_pinned():
    """The residuals of a fixed picture, by digest: gap-green's arithmetic (thresholds, rounding,
    the neighbours that stand in outside the image) is the format; any change must be a new kind."""
    y, x = np.mgrid[0:23, 0:31]
    rgb = np.stack([(x * x * 7 + y * 13) % 256, (x * y * 5 + 3 * y * y) % 256, (x * 29 + y * 31 + x * y) % 256], -1)
    r = pixelpred.residuals(rgb.astype(np.uint8)[..., None], "gap-green")
    assert hashlib.sha256(r.tobytes()).hexdigest() == GAP_GREEN_DIGEST
    assert np.array_equal(pixelpred.restore(r, "gap-green")[..., 0], rgb)


def test_gap_green_through_the_engine(tiny_compressor):
    data = png_bytes("RGB", make_array("RGB", 9, 7, 4))
    blob = tiny_compressor.compress(data, modality="image", order="strips", predictor="gap-green")
    assert container.read_header(blob)["frontend"]["predictor"] == "gap-green"
    assert np.array_equal(pixels(tiny_compressor.decompress(blob))[1], pixels(data)[1])


def test_med_residuals_of_a_smooth_image_are_0x80():
    """On a plane v = 3y - 2x + 40, NW lies between W and N, so MED predicts W + N - NW = v
    exactly: residuals are the zero symbol 0x80 everywhere but the first row and column; with
    med-green the colour channels follow green and come after it."""
    y, x = np.mgrid[0:16, 0:16]
    g = 3 * y - 2 * x + 40
    rgb = np.stack([g + 20, g, g + 40], axis=-1).astype(np.uint8)[..., None]
    med = pixelpred.residuals(rgb, "med")[1:, 1:, :, 0]
    assert (med == 0x80).all()
    green = pixelpred.residuals(rgb, "med-green")[:, :, :, 0]
    assert (green[1:, 1:] == 0x80).all()
    # the first pixel has no neighbours: G = 40 itself first, then R - G = 20 and B - G = 40
    assert (green[0, 0] == [0x80 + 40, 0x80 + 20, 0x80 + 40]).all()


@settings(max_examples=30, deadline=None)
@given(mode=st.sampled_from(sorted(MODES)), size=sizes, seed=st.integers(0, 9),
       order=st.sampled_from(image.ORDERS), kind=st.sampled_from(["med", "med-green", "gap-green"]))
def test_png_with_predictor_is_pixel_exact(mode, size, seed, order, kind):
    data = png_bytes(mode, make_array(mode, *size, seed=seed))
    payload, extras = frontends.get("image", order=order, predictor=kind).split(data)
    assert extras["predictor"] == kind
    out = frontends.get("image").join(payload, extras)  # the decoder knows only the header
    assert pixels(out)[0] == pixels(data)[0]
    assert np.array_equal(pixels(out)[1], pixels(data)[1])


def test_predictor_through_the_engine_and_errors(tiny_compressor):
    data = png_bytes("RGB", make_array("RGB", 9, 7, 3))
    blob = tiny_compressor.compress(data, modality="image", order="strips", predictor="med-green")
    assert container.read_header(blob)["frontend"]["predictor"] == "med-green"
    assert np.array_equal(pixels(tiny_compressor.decompress(blob))[1], pixels(data)[1])
    with pytest.raises(InputError, match="unknown pixel predictor"):
        frontends.get("image", predictor="paeth")
    payload, extras = frontends.get("image", predictor="med").split(data)
    extras["predictor"] = "calic"
    with pytest.raises(ContainerError, match="pixel predictor"):
        frontends.get("image").join(payload, extras)
