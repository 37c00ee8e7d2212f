"""Video in the compact header (form `c`): compress/media/video_compact.py, and the online tuning flag of
compress/core/compact.py (FLAG_TUNE).

Round trips of the header codec with hypothesis over real front-end extras, the shapes that must
fall back to the JSON form, the registry ids, hostile compact video headers (each refused with a
ContainerError or checked out by the one validator), the engine writing it, and a golden."""


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compress  # noqa: F401  (registers the media front ends and their compact codecs)
from compress.core import compact, container, frontends, online
from compress.core.engine import Compressor
from compress.core.errors import ContainerError
from compress.media import video, video_compact
from test_compact import (
    _field,
    body_of,
    compact_round_trip,
    digests,
    forge_each_field,
    golden_header,
    reframe,
    truncations_are_refused,
)
from test_video import y4m


@st.composite
def video_headers(draw):
    w, h = draw(st.integers(1, 9)), draw(st.integers(1, 7))
    colour = draw(st.sampled_from(sorted(video.COLOURSPACES)))
    frames = draw(st.integers(1, 4))
    params = draw(st.lists(st.sampled_from(["", " Ixyz", " XA=1", " \xe9"]), min_size=frames, max_size=frames))
    data, _ = y4m(w, h, colour, frames, seed=draw(st.integers(0, 9)), frame_params=params)
    predictor = draw(st.sampled_from(video.PREDICTORS))
    order = "frames" if predictor in video.MOTION_PREDICTORS else draw(st.sampled_from(video.ORDERS))
    payload, extras = frontends.get("video", order=order, group=draw(st.integers(1, 9)),
                                    predictor=predictor).split(data)
    tuned = draw(st.booleans())
    header = {
        "format": "lmcompress", "modality": "video", "frontend": extras, "symbolizer": "bytes-charmap/v1",
        "original_length": len(data), "payload_length": len(payload), "original_sha256": draw(digests),
        "checked_sha256": None, "model": {"id": "/ckpt", "base_id": "/ckpt", "sha256": draw(digests)},
        "adapter": None, "tokenizer_sha256": draw(st.sampled_from(compact.TOKENIZER_DIGESTS) | digests),
        "vocab_size": 259, "prefix_id": 1, "context": 512, "batch": 1024, "dtype": "float32",
        "device": "cpu:x86_64", "threads": draw(st.integers(1, 4)), "quantizer": "constriction-leaky24/1",
        "stepper": "kv-growing/2", "libraries": {"torch": "2.13.0"},
        "segments": [511] * draw(st.integers(1, 30)) + [7], "batches": [draw(st.integers(0, 2**32 - 1))],
        "batch_crc32": [draw(st.integers(0, 2**32 - 1))],
    }
    if tuned:
        header["tune"] = online.ADAM1
    return header


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(video_headers())
def test_video_header_round_trips_through_the_compact_form(h):
    decoded = compact_round_trip(h)
    assert decoded["frontend"] == h["frontend"] and decoded.get("tune") == h.get("tune")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(video_headers(), st.data())
def test_video_shapes_it_cannot_hold_fall_back_to_json(h, data):
    extras = h["frontend"]
    change = data.draw(st.sampled_from(["width", "planes", "line", "predictor", "order", "extra", "checked",
                                        "tune", "carried-tune", "frames"]))
    if change == "width":
        extras["width"] += 1  # differs from the header line's
    elif change == "planes":
        extras["planes"] = extras["planes"] + [[1, 1]]  # one plane more than the colourspace has
    elif change == "line":
        extras["header"] = "YUV4MPEG2 W0 H1\n"  # does not parse
    elif change == "predictor":
        extras["predictor"] = "mc-future"
    elif change == "order":
        extras["order"] = "zigzag"
    elif change == "extra":
        extras["reencoded"] = True
    elif change == "checked":
        h["checked_sha256"] = "0" * 64
    elif change == "tune":
        h["tune"] = "adam/9"
    elif change == "carried-tune":
        h.update(stepper="kv-carried/3", keep=128, adapt=None, tune=online.ADAM1)
    else:
        extras["frames"] = -1
    assert compact.encode(h) is None


def test_registry_ids_are_append_only():
    assert compact.MODALITIES[:3] == ("text", "audio", "video")
    assert compact.SYMBOLIZER_OF["video"] == "bytes-charmap/v1"
    assert compact.TUNES[:2] == ("adam/1", "adam/2") and compact.FLAG_TUNE == 8
    assert video_compact.ORDERS == ("frames", "temporal")
    assert video_compact.PREDICTORS == ("none", "med", "med-temporal", "mc-temporal", "mc-intra")
    # every predictor and order the front end has can be written (else the JSON form is)
    assert set(video.PREDICTORS) <= set(video_compact.PREDICTORS) and set(video.ORDERS) <= set(video_compact.ORDERS)
    assert set(online.VERSIONS) == set(compact.TUNES)


@pytest.fixture(scope="module")
def coder(tiny_model_dir):
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)


@pytest.fixture(scope="module")
def clip():
    return y4m(8, 6, "420jpeg", 5, seed=9, frame_params=[" Ixyz", "", "", "", " XA=1"])[0]


@pytest.fixture(scope="module")
def blob(coder, clip):
    return coder.compress(clip, modality="video", predictor="mc-intra", group=2)


def test_the_encoder_writes_video_compactly(coder, clip, blob):
    assert container.form(blob) == "compact"
    header = frontends.read_header(blob)
    assert header["tune"] == online.ADAM1 and header["frontend"]["predictor"] == "mc-intra"
    assert container.stored_header_length(blob) <= 200
    assert coder.decompress(blob) == clip
    assert video.read_frame(coder, blob, 4) == y4m(8, 6, "420jpeg", 5, seed=9)[1][4]


def test_truncation_anywhere_is_refused(blob):
    truncations_are_refused(blob)


def test_every_video_field_goes_through_the_one_validator(blob):
    """Each compact video field replaced by hostile values: a ContainerError, never a crash or an
    allocation the header did not pay for."""
    single = ("video flags", "video order", "video predictor", "tune")
    forged = forge_each_field(blob, lambda n: n.startswith("video") or n == "tune", (0, 1, 2, 3, 9, 255, 2**16, 2**34),
                              lambda name, v: bytes([v & 0xFF]) if name in single else compact.varint(v))
    assert forged >= {"video flags", "video header line", "video frames", "video frame line runs", "video order",
                      "video group", "video predictor", "tune"}


def test_tune_flag_on_a_carried_container_is_refused(blob):
    body = bytearray(body_of(blob))
    a, b = _field(blob, "stepper")
    assert b - a == 1
    body[a] = compact.STEPPERS.index("kv-carried/3") + 1
    # a carried stepper reads keep and adapt next, then the tune id; the one validator refuses the pair
    decoded, _ = compact.decode(reframe(bytes(body[:b]) + compact.varint(4) + b"\x00" + bytes(body[b:])))
    assert decoded["stepper"] == "kv-carried/3" and decoded["tune"] == online.ADAM1
    decoded["batch"] = len(decoded["segments"])  # one row per stretch, as a carried header has
    with pytest.raises(ContainerError, match="'tune'/'mix' belong to containers of independent segments"):
        container.check_header(decoded)


def test_golden_compact_video_header():
    """tests/golden/video-compact.head: the compact header of the real carphone container
    (checkpoints/video_mc/cpu8640, mc-intra, one group, online tuning adam/1) as first written, and
    the header it stands for. The test model's containers cover the engine; this pins the bytes:
    they must keep decoding to that header and the encoder must keep writing exactly them."""
    decoded, _ = golden_header("video-compact")
    assert decoded["tune"] == online.ADAM1 and decoded["frontend"]["predictor"] == "mc-intra"
