"""Audio front end: byte-exact WAV round trips (front end and real engine), refusals, FLAC, paper mode.

Every WAV here is built in the test from numpy samples and hand-written RIFF chunks, so the odd
cases (extra chunks before and after the data, odd sizes with pad bytes, lying size fields,
WAVE_FORMAT_EXTENSIBLE) are exercised without shared data.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import wave
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, example, given, settings

from compress.core import container, frontends
from compress.core.errors import ContainerError, InputError
from compress.media.audio import BYTE_ORDERS, DEFAULT_LAYOUT, AudioFrontend, from_payload, to_payload

PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
LAYOUTS = [o + p for o in BYTE_ORDERS for p in ("", "+planar")]


# -- a WAV writer independent of the code under test -------------------------------------------
def chunk(cid: bytes, body: bytes, size: int | None = None) -> bytes:
    pad = b"\x00" if len(body) % 2 else b""
    return cid + struct.pack("<I", len(body) if size is None else size) + body + pad


def fmt(channels=1, rate=16000, bits=16, tag=1, extensible=False, subformat=PCM_GUID, valid=None):
    width = (bits + 7) // 8
    block = channels * width
    if extensible:
        base = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        return chunk(b"fmt ", base + struct.pack("<HHI", 22, valid or bits, 0) + subformat)
    return chunk(b"fmt ", struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits))


def riff(*chunks: bytes, size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body


def pcm(samples: np.ndarray, width: int) -> bytes:
    """Little-endian PCM bytes for integer samples (8-bit is unsigned, wider is signed)."""
    s = np.asarray(samples, dtype=np.int64).reshape(-1)
    if width == 1:
        return (s + 128).astype(np.uint8).tobytes()
    u = s & ((1 << (8 * width)) - 1)
    return np.stack([(u >> (8 * i)) & 0xFF for i in range(width)], axis=-1).astype(np.uint8).tobytes()


def simple_wav(frames=200, channels=1, bits=16, rate=16000, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    width = bits // 8
    t = np.arange(frames)[:, None]
    amp = (1 << (bits - 1)) // 4
    s = (amp * np.sin(2 * np.pi * 440 * t / rate + np.arange(channels))).astype(np.int64)
    s += rng.integers(-3, 4, size=s.shape)
    return riff(fmt(channels, rate, bits), chunk(b"data", pcm(s, width)))


def split_join(data: bytes, **options) -> tuple[bytes, dict]:
    """Split with `options`, join as the decoder does (no options): the file comes back exactly,
    or, for a converting mode, exactly the file the engine's end-to-end checksum covers."""
    frontend = AudioFrontend(**options)
    payload, extras = frontend.split(data)
    want = data if not extras.get("reencoded") else frontend.checksum_bytes(data)
    assert AudioFrontend().join(payload, extras) == want
    return payload, extras


# -- front end round trips ---------------------------------------------------------------------
odd_chunk = st.tuples(st.sampled_from([b"LIST", b"INFO", b"junk", b"bext", b"cue "]),
                      st.binary(max_size=9)).map(lambda c: chunk(*c))


@settings(max_examples=150, deadline=None)
@given(channels=st.integers(1, 3), width=st.sampled_from([1, 2, 3, 4]), layout=st.sampled_from(LAYOUTS),
       body=st.binary(max_size=200), before=st.lists(odd_chunk, max_size=2),
       after=st.lists(odd_chunk, max_size=2), extensible=st.booleans(), trailer=st.binary(max_size=3))
def test_split_join_exact(channels, width, layout, body, before, after, extensible, trailer):
    data = riff(*before, fmt(channels, 8000, 8 * width, extensible=extensible), *before,
                chunk(b"data", body), *after) + trailer
    payload, extras = split_join(data, layout=layout)
    assert len(payload) == len(body)
    assert extras["data_declared"] == extras["data_present"] == len(body)
    assert (extras["channels"], extras["width"]) == (channels, width)
    if extras["layout"] == "stored":
        assert payload == body


@settings(max_examples=100, deadline=None)
@given(channels=st.integers(1, 4), width=st.sampled_from([1, 2, 3, 4]), layout=st.sampled_from(LAYOUTS),
       body=st.binary(max_size=120))
def test_layouts_are_bijections(channels, width, layout, body):
    assert from_payload(to_payload(body, channels, width, layout), channels, width, layout) == body


def test_hi_lo_offset_layout_bytes():
    # 16-bit samples 1, -1, 0x1234 as stored: 01 00 | ff ff | 34 12
    stored = bytes.fromhex("0100ffff3412")
    assert to_payload(stored, 1, 2, "hi-lo") == bytes.fromhex("0001ffff1234")
    assert to_payload(stored, 1, 2, "hi-lo-offset") == bytes.fromhex("80017fff9234")
    stereo = bytes.fromhex("0100" "0200" "0300" "0400")  # L1 R1 L2 R2
    assert to_payload(stereo, 2, 2, "stored+planar") == bytes.fromhex("0100" "0300" "0200" "0400")


def test_default_layout_recorded_and_8bit_is_stored():
    _, extras = split_join(simple_wav())
    assert extras["layout"] == DEFAULT_LAYOUT
    _, extras = split_join(simple_wav(bits=8, channels=2), layout="hi-lo-offset+planar")
    assert extras["layout"] == "stored+planar"  # byte order means nothing for unsigned 8-bit


def test_odd_length_16bit_data_and_pad_byte():
    body = pcm(np.arange(-50, 50), 2) + b"\x7f"  # 201 bytes: a partial last sample
    data = riff(fmt(1, 16000, 16), chunk(b"data", body), chunk(b"LIST", b"INFOISFT\x03\x00\x00\x00ab\x00"))
    assert data[12 + 24 + 8 + 201] == 0  # the pad byte after the odd data chunk
    payload, extras = split_join(data)
    assert len(payload) == 201 and payload[-1:] == b"\x7f"


def test_extensible_24bit_multichannel():
    rng = np.random.default_rng(1)
    s = rng.integers(-(1 << 23), 1 << 23, size=(50, 6))
    data = riff(chunk(b"JUNK", b"\x00" * 28), fmt(6, 48000, 24, extensible=True, valid=20),
                chunk(b"data", pcm(s, 3)))
    payload, extras = split_join(data)
    assert extras["extensible"] and extras["bits"] == 20 and extras["width"] == 3


def test_fmt_after_data_and_lying_riff_size():
    data = riff(chunk(b"data", pcm(np.arange(10), 2)), fmt(1, 8000, 16), size=12345)
    split_join(data)


def test_lying_data_size_round_trips_and_is_reported():
    body = pcm(np.arange(-20, 20), 2)
    for declared in (len(body) + 1000, 0xFFFFFFFF):
        data = riff(fmt(1, 8000, 16), chunk(b"data", body, size=declared))
        payload, extras = split_join(data)
        assert payload == to_payload(body, 1, 2, DEFAULT_LAYOUT)
        assert (extras["data_declared"], extras["data_present"]) == (declared, len(body))
        assert "declares" in extras["note"]
        assert any("declares" in line for line in AudioFrontend.describe(extras))


def test_truncated_file_mid_sample_round_trips():
    data = simple_wav(frames=100)
    for cut in (len(data) - 1, len(data) - 7, 44, 45):
        split_join(data[:cut])


# -- refusals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello world, not audio", "not a WAV file"),
    (b"RIFF\x04\x00\x00\x00AVI ", "not a WAV file"),
    (b"RIFX" + b"\x00" * 40, "RIFX"),
    (b"RF64" + b"\x00" * 40, "RF64"),
    (riff(fmt(1, 8000, 32, tag=3), chunk(b"data", b"\x00" * 8)), "IEEE float"),
    (riff(fmt(1, 8000, 8, tag=7), chunk(b"data", b"\x00" * 8)), "µ-law"),
    (riff(fmt(1, 8000, 8, tag=6), chunk(b"data", b"\x00" * 8)), "A-law"),
    (riff(fmt(2, 8000, 32, extensible=True, subformat=b"\x03\x00" + PCM_GUID[2:]),
          chunk(b"data", b"\x00" * 16)), "IEEE float"),
    (riff(fmt(1, 8000, 16)), "no data chunk"),
    (riff(chunk(b"data", b"\x00" * 8)), "no fmt chunk"),
    (riff(fmt(1, 8000, 16))[:-4], "fmt chunk"),
    (riff(fmt(1, 8000, 16), b"dat"), "no data chunk"),  # file ends inside the data chunk header
    (riff(chunk(b"fmt ", struct.pack("<HHIIHH", 1, 2, 8000, 32000, 3, 16)), chunk(b"data", b"")),
     "block align"),
    (b"fLaC" + b"\x00" * 30, "damaged FLAC"),
], ids=["empty", "text", "avi", "rifx", "rf64", "float", "mulaw", "alaw", "ext-float", "no-data",
        "no-fmt", "fmt-cut", "data-header-cut", "block-align", "flac-damaged"])
def test_bad_input_is_one_readable_line(data, message):
    with pytest.raises(InputError) as err:
        AudioFrontend().split(data)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_refusal_suggests_text_modality():
    with pytest.raises(InputError, match="--modality text"):
        AudioFrontend().split(riff(fmt(1, 8000, 8, tag=7), chunk(b"data", b"\x00" * 8)))


def test_bad_options():
    with pytest.raises(InputError, match="audio-bits"):
        AudioFrontend(audio_bits=16)
    with pytest.raises(InputError, match="layout"):
        AudioFrontend(layout="lo-hi")


def test_registered_for_suffixes():
    assert frontends.guess("speech.wav") == "audio" and frontends.guess("x.FLAC") == "audio"
    assert isinstance(frontends.get("audio"), AudioFrontend)


# -- through the real engine (tiny random LLaMA) -----------------------------------------------
@pytest.mark.parametrize("data", [
    simple_wav(frames=150),
    simple_wav(frames=40, channels=2, bits=24, rate=44100),
    simple_wav(frames=120, bits=8),
    riff(chunk(b"LIST", b"INFOINAM\x05\x00\x00\x00hello\x00"), fmt(2, 8000, 16),
         chunk(b"data", bytes(range(61))), chunk(b"id3 ", b"\x01\x02\x03")) + b"\x00junk",
    riff(fmt(1, 8000, 16), chunk(b"data", pcm(np.arange(30), 2), size=0xFFFFFFFF)),
    riff(fmt(1, 8000, 16), chunk(b"data", b"")),
], ids=["mono16", "stereo24", "mono8", "chunks-odd-trailing", "unfilled-size", "no-samples"])
def test_engine_round_trip_exact(tiny_compressor, data):
    blob = tiny_compressor.compress(data, modality="audio")
    header = container.read_header(blob)
    assert header["modality"] == "audio" and not header["frontend"].get("lossy")
    assert header.get("checked_sha256") is None  # WAV input: the strict whole-file check applies
    assert tiny_compressor.decompress(blob) == data


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(channels=st.integers(1, 2), width=st.sampled_from([1, 2, 3]), body=st.binary(max_size=90),
       after=st.lists(odd_chunk, max_size=1))
def test_engine_round_trip_random(tiny_compressor, channels, width, body, after):
    data = riff(fmt(channels, 22050, 8 * width), chunk(b"data", body), *after)
    assert tiny_compressor.decompress(tiny_compressor.compress(data, modality="audio")) == data


@pytest.mark.parametrize("subtype, channels", [("PCM_16", 2), ("PCM_24", 1)])
def test_flac_becomes_wav_with_the_same_samples(tiny_compressor, subtype, channels):
    rng = np.random.default_rng(2)
    samples = (rng.normal(0, 3000, size=(80, channels))).astype(np.int32) << 16
    flac = io.BytesIO()
    soundfile.write(flac, samples, 8000, format="FLAC", subtype=subtype)
    blob = tiny_compressor.compress(flac.getvalue(), modality="audio")
    extras = container.read_header(blob)["frontend"]
    assert extras["source"]["format"] == "flac" and extras["reencoded"] and not extras["lossy"]
    assert any("FLAC" in line for line in AudioFrontend.describe(extras))
    out = tiny_compressor.decompress(blob)
    assert container.read_header(blob)["checked_sha256"] == hashlib.sha256(out).hexdigest()
    assert out[:4] == b"RIFF"
    back, rate = soundfile.read(io.BytesIO(out), dtype="int32", always_2d=True)
    want, _ = soundfile.read(io.BytesIO(flac.getvalue()), dtype="int32", always_2d=True)
    assert rate == 8000 and np.array_equal(back, want)


# -- paper mode (lossy) ------------------------------------------------------------------------
def expected_paper(samples: np.ndarray, rate: int, bits: int) -> np.ndarray:
    """The paper's preprocessing, computed here from the samples: mean, resample, round."""
    from math import gcd

    from scipy.signal import resample_poly

    x = samples.astype(np.float64).mean(axis=1) / (1 << (bits - 1))
    g = gcd(16000, rate)
    if rate != 16000:
        x = resample_poly(x, 16000 // g, rate // g, window=("kaiser", 5.0))
    return np.clip(np.rint(x * 128) + 128, 0, 255).astype(np.uint8)


def test_paper_mode_through_engine(tiny_compressor):
    rate, n = 44100, 2205
    t = np.arange(n)[:, None] / rate
    s = (8000 * np.sin(2 * np.pi * 300 * t) + np.array([[0, 500]])).astype(np.int64)
    data = riff(fmt(2, rate, 16), chunk(b"LIST", b"INFOxyz"), chunk(b"data", pcm(s, 2)))
    blob = tiny_compressor.compress(data, modality="audio", audio_bits=8)
    header = container.read_header(blob)
    extras = header["frontend"]
    assert extras["lossy"] is True and extras["transform"]["mode"] == "paper-8bit"
    assert extras["transform"]["source"] == {"format": "wav", "channels": 2, "rate": 44100, "bits": 16,
                                             "frames": n}
    assert "LOSSY" in extras["note"]
    out = tiny_compressor.decompress(blob)
    assert header["checked_sha256"] == hashlib.sha256(out).hexdigest()  # end-to-end check: output file
    with wave.open(io.BytesIO(out)) as w:  # the strict stdlib reader accepts it
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 1, 16000)
        got = np.frombuffer(w.readframes(w.getnframes()), dtype=np.uint8)
    assert np.array_equal(got, expected_paper(s, rate, 16))
    assert len(got) == 800


def test_paper_mode_16khz_mono_is_requantised_only():
    s = np.array([[-32768], [-129], [-128], [-1], [0], [127], [129], [32767]])  # rint: half to even
    payload, extras = split_join(riff(fmt(1, 16000, 16), chunk(b"data", pcm(s, 2))), audio_bits=8)
    assert list(payload) == [0, 127, 128, 128, 128, 128, 129, 255]
    assert "16000 Hz already" in extras["transform"]["steps"]


def test_paper_mode_filters_before_downsampling():
    """A 12 kHz tone at 48 kHz lies above the new Nyquist (8 kHz): a proper resampler removes it,
    naive decimation would fold it to 4 kHz at full amplitude."""
    rate = 48000
    t = np.arange(4800)[:, None] / rate
    s = (16000 * np.sin(2 * np.pi * 12000 * t)).astype(np.int64)
    payload, _ = AudioFrontend(audio_bits=8).split(riff(fmt(1, rate, 16), chunk(b"data", pcm(s, 2))))
    middle = np.frombuffer(payload, dtype=np.uint8)[100:-100].astype(int) - 128
    assert np.abs(middle).max() <= 1  # naive s[::3] would swing about +-62


def test_paper_mode_from_flac():
    samples = (np.arange(-400, 400) * 40).astype(np.int32)[:, None] << 16
    flac = io.BytesIO()
    soundfile.write(flac, samples, 16000, format="FLAC", subtype="PCM_16")
    payload, extras = split_join(flac.getvalue(), audio_bits=8)
    assert extras["lossy"] and extras["transform"]["source"]["format"] == "flac"
    assert np.array_equal(np.frombuffer(payload, dtype=np.uint8), expected_paper(samples >> 16, 16000, 16))


# -- linear prediction (predictor="lpc", compress/media/lpc.py) --------------------------------------
@settings(max_examples=120, deadline=None)
@given(channels=st.integers(1, 3), width=st.sampled_from([1, 2, 3, 4]), body=st.binary(max_size=400),
       order=st.integers(1, 8), block=st.integers(8, 40), layout=st.sampled_from(LAYOUTS),
       trailer=st.binary(max_size=3))
def test_lpc_split_join_exact(channels, width, body, order, block, layout, trailer):
    """Any sample bytes (noise: predictions overshoot and residuals wrap), any width, channel
    count, block and order, a trailing partial frame: the file comes back byte for byte."""
    data = riff(fmt(channels, 8000, 8 * width), chunk(b"data", body)) + trailer
    payload, extras = split_join(data, predictor="lpc", lpc_order=order, lpc_block=max(block, order),
                                 layout=layout)
    assert len(payload) == len(body)
    assert extras["predictor"]["kind"] == "lpc/1" and extras["predictor"]["order"] == order


@pytest.mark.parametrize("bits", [8, 16, 24])
def test_lpc_extreme_samples_wrap_exactly(bits):
    """Full-scale square waves and alternating extremes: the worst predictions still invert."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    s = np.array([lo, hi] * 300 + [hi] * 100 + [lo, lo, hi, hi] * 100, dtype=np.int64)
    data = riff(fmt(1, 8000, bits), chunk(b"data", pcm(s, bits // 8)))
    split_join(data, predictor="lpc", lpc_block=64)


def test_lpc_residuals_of_speech_like_audio_are_small():
    """The point of the transform: a voiced, band-limited signal leaves residuals tens of times
    smaller than the samples, and the payload says so (offset binary: high bytes near 0x80)."""
    rng = np.random.default_rng(5)
    t = np.arange(16000)
    s = sum(a * np.sin(2 * np.pi * f * t / 16000) for a, f in [(6000, 180), (3000, 360), (1500, 900)])
    s = (s + rng.normal(0, 20, t.size)).astype(np.int64)
    data = riff(fmt(1, 16000, 16), chunk(b"data", pcm(s, 2)))
    plain, _ = split_join(data)
    predicted, extras = split_join(data, predictor="lpc")
    res = np.frombuffer(predicted, dtype=">u2").astype(np.int64) - 0x8000
    raw = np.frombuffer(plain, dtype=">u2").astype(np.int64) - 0x8000
    assert np.abs(res[100:]).mean() * 20 < np.abs(raw).mean()
    assert any("linear-prediction residuals" in line for line in AudioFrontend.describe(extras))


def test_lpc_through_the_engine(tiny_compressor):
    for data in (simple_wav(frames=300), simple_wav(frames=90, channels=2, bits=24, rate=44100),
                 simple_wav(frames=100, bits=8)):
        blob = tiny_compressor.compress(data, modality="audio", predictor="lpc", lpc_block=64)
        assert container.read_header(blob)["frontend"]["predictor"]["block"] == 64
        assert tiny_compressor.decompress(blob) == data


@pytest.mark.parametrize("damage", [
    lambda p: p.update(kind="lpc/9"), lambda p: p.update(coefs="!!"), lambda p: p.pop("shifts"),
    lambda p: p.update(order=0), lambda p: p.update(shifts=base64.b64encode(b"\xff" * 5).decode()),
])
def test_lpc_damaged_header_is_a_container_error(damage):
    data = simple_wav(frames=200)
    payload, extras = AudioFrontend(predictor="lpc", lpc_block=50).split(data)
    damage(extras["predictor"])
    with pytest.raises(ContainerError, match="predictor"):
        AudioFrontend().join(payload, extras)


def test_lpc_bad_options():
    with pytest.raises(InputError, match="unknown audio predictor"):
        AudioFrontend(predictor="fir")
    with pytest.raises(InputError, match="LPC order"):
        AudioFrontend(predictor="lpc", lpc_order=0)
    with pytest.raises(InputError, match="LPC block"):
        AudioFrontend(predictor="lpc", lpc_order=16, lpc_block=8)


# -- the adaptive stage after LPC (predictor="lpc+lms", compress/media/lms.py) ---------------------
@settings(max_examples=150, deadline=None)
@given(bits=st.sampled_from([8, 16, 24, 32]), data=st.data(), kind=st.sampled_from(["sslms/1", "sslms/2"]),
       stages=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 14), st.integers(0, 4096)),
                       min_size=1, max_size=3))
def test_lms_inverse_gives_back_any_residual(bits, data, kind, stages):
    """Any signed values of the width (noise, extremes: predictions overshoot and wrap, weights
    reach their clamp), any cascade of either kind: inverse(forward(e)) == e, and forward stays
    inside the width."""
    from compress.media import lms

    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    e = np.array(data.draw(st.lists(st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, -1])),
                                    max_size=200)), dtype=np.int64)
    r = lms.forward(e, bits, stages, kind)
    assert r.shape == e.shape and (r.size == 0 or (r.min() >= lo and r.max() <= hi))
    assert np.array_equal(lms.inverse(r, bits, stages, kind), e)


@pytest.mark.parametrize("kind, stages", [("sslms/1", "STAGES_V1"), ("sslms/2", "STAGES")])
def test_lms_default_cascade_on_full_scale_32_bit_noise(kind, stages):
    """Each kind's default stages at the widest samples (the weight clamp keeps int64 sums exact)."""
    from compress.media import lms

    stages = getattr(lms, stages)
    e = np.random.default_rng(3).integers(-(1 << 31), 1 << 31, 3000)
    e[:500] = np.where(np.arange(500) % 2, (1 << 31) - 1, -(1 << 31))
    assert np.array_equal(lms.inverse(lms.forward(e, 32, stages, kind), 32, stages, kind), e)


def test_lms_scaled_kind_is_what_new_containers_get_and_shrinks_speech_like_residuals():
    """New headers name sslms/2; on an AR(2) signal's LPC-free residual with a mid-file onset its
    residual is smaller in total than sign-sign's with sslms/1's own stages."""
    from compress.media import lms

    assert lms.params()["kind"] == lms.SCALED and lms.check_entry(lms.params()) == (lms.SCALED, list(lms.STAGES))
    rng = np.random.default_rng(5)
    x = np.zeros(6000)
    for n in range(2, x.size):
        x[n] = 1.6 * x[n - 1] - 0.8 * x[n - 2] + rng.normal() * (40 if n > 3000 else 2)
    e = np.round(x).astype(np.int64)
    scaled = np.abs(lms.forward(e, 16)).sum()
    sign_sign = np.abs(lms.forward(e, 16, lms.STAGES_V1, lms.SIGN_SIGN)).sum()
    assert scaled < sign_sign


@settings(max_examples=60, deadline=None)
@given(channels=st.integers(1, 3), width=st.sampled_from([1, 2, 3, 4]), body=st.binary(max_size=400),
       layout=st.sampled_from(LAYOUTS), trailer=st.binary(max_size=3))
def test_lpc_lms_split_join_exact(channels, width, body, layout, trailer):
    data = riff(fmt(channels, 8000, 8 * width), chunk(b"data", body)) + trailer
    payload, extras = split_join(data, predictor="lpc+lms", lpc_order=4, lpc_block=16, layout=layout)
    assert len(payload) == len(body)
    assert extras["adaptive"] == {"kind": "sslms/2", "stages": [[256, 16, 8], [32, 14, 32], [16, 12, 64], [2, 12, 32]]}


def test_lms_stage_shrinks_what_block_lpc_leaves():
    """The point of the stage: on a signal whose spectrum drifts inside an LPC block (a chirp),
    block LPC leaves structure that the sample-by-sample stage removes."""
    t = np.arange(32768)
    rng = np.random.default_rng(2)
    s = (8000 * np.sin(2 * np.pi * (100 + 400 * t / t.size) * t / 16000) + rng.normal(0, 2, t.size))
    data = riff(fmt(1, 16000, 16), chunk(b"data", pcm(s.astype(np.int64), 2)))
    mean_abs = {}
    for predictor in ("lpc", "lpc+lms"):
        payload, extras = split_join(data, predictor=predictor)
        mean_abs[predictor] = np.abs(np.frombuffer(payload, dtype=">u2").astype(np.int64) - 0x8000).mean()
    assert mean_abs["lpc+lms"] < 0.9 * mean_abs["lpc"]
    assert any("adaptive sign LMS (sslms/2: 256 > 32 > 16 > 2 taps)" in line
               for line in AudioFrontend.describe(extras))


def test_lms_kind_option_reproduces_the_sign_sign_cascade():
    """`lms_kind="sslms/1"` (for retraining checkpoints made before sslms/2) writes and reads back
    the older kind with its own default stages; an unknown kind is an InputError."""
    from compress.media import lms

    data = simple_wav(frames=400)
    payload, extras = split_join(data, predictor="lpc+lms", lpc_block=64, lms_kind="sslms/1")
    assert extras["adaptive"] == lms.params(lms.SIGN_SIGN)
    assert extras["adaptive"]["stages"] == [list(x) for x in lms.STAGES_V1]
    with pytest.raises(InputError, match="unknown LMS kind"):
        AudioFrontend(predictor="lpc+lms", lms_kind="sslms/9")


def test_lpc_lms_through_the_engine(tiny_compressor):
    for data in (simple_wav(frames=300), simple_wav(frames=90, channels=2, bits=24, rate=44100)):
        blob = tiny_compressor.compress(data, modality="audio", predictor="lpc+lms", lpc_block=64)
        assert container.read_header(blob)["frontend"]["adaptive"]["kind"] == "sslms/2"
        assert tiny_compressor.decompress(blob) == data


@pytest.mark.parametrize("damage, match", [
    (lambda x: x["adaptive"].update(kind="sslms/9"), "adaptive stage"),
    (lambda x: x["adaptive"].update(stages=[[0, 12, 32]]), "adaptive stage"),
    (lambda x: x["adaptive"].update(stages=[]), "adaptive stage"),
    (lambda x: x["adaptive"].update(stages=[[1000, 12, 32], [1000, 12, 32]]), "adaptive stage"),
    (lambda x: x["adaptive"].update(stages=[["x", 12, 32]]), "adaptive stage"),
    (lambda x: x["adaptive"].update(stages=[[16, 12]]), "adaptive stage"),
    (lambda x: x["adaptive"].pop("stages"), "adaptive stage"),
])
def test_lms_damaged_header_is_a_container_error(damage, match):
    payload, extras = AudioFrontend(predictor="lpc+lms", lpc_block=50).split(simple_wav(frames=200))
    damage(extras)
    with pytest.raises(ContainerError, match=match):
        AudioFrontend().join(payload, extras)


def test_lms_without_lpc_is_refused_by_the_header_check():
    payload, extras = AudioFrontend(predictor="lpc+lms", lpc_block=50).split(simple_wav(frames=200))
    del extras["predictor"]
    header = {"payload_length": extras["data_present"], "original_length": len(simple_wav(frames=200))}
    with pytest.raises(ContainerError, match="without its LPC stage"):
        AudioFrontend.check_extras(extras, header)


# -- the table-free predictor (predictor="nlms+lms", compress/media/nlms.py) --------------------------
@settings(max_examples=120, deadline=None)
@given(bits=st.sampled_from([8, 16, 24, 32]), data=st.data(), taps=st.integers(1, 20),
       wshift=st.integers(0, 24), mu=st.integers(0, 24), eps=st.integers(0, 40),
       coef=st.integers(0, 32))
def test_nlms_inverse_gives_back_any_samples(bits, data, taps, wshift, mu, eps, coef):
    """Any signed samples of the width (noise, extremes: predictions overshoot and wrap, weights
    reach their clamp) and any legal constants: inverse(forward(x)) == x inside the width."""
    from compress.media import nlms

    mu = min(mu, wshift)
    entry = {"kind": nlms.KIND, "coef": coef, "shift": 5, "nlms": [taps, wshift, mu, eps]}
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = np.array(data.draw(st.lists(st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, -1])),
                                    max_size=200)), dtype=np.int64)
    r = nlms.forward(x, bits, entry)
    assert r.shape == x.shape and (r.size == 0 or (r.min() >= lo and r.max() <= hi))
    assert np.array_equal(nlms.inverse(r, bits, entry), x)


def test_nlms_on_full_scale_32_bit_noise_and_its_widest_filter():
    """The bounds that keep int64 exact: 32-bit extremes, the most taps and the largest step."""
    from compress.media import nlms

    x = np.random.default_rng(3).integers(-(1 << 31), 1 << 31, 3000)
    x[:500] = np.where(np.arange(500) % 2, (1 << 31) - 1, -(1 << 31))
    for entry in (nlms.params(), {"kind": nlms.KIND, "coef": 256, "shift": 8, "nlms": [256, 24, 0, 0]}):
        assert np.array_equal(nlms.inverse(nlms.forward(x, 32, entry), 32, entry), x)


def test_nlms_adapts_where_a_fixed_first_order_filter_cannot():
    """The point of the stage: on an AR(2) signal whose loudness jumps, the NLMS residual is far
    smaller than what the first-order filter alone leaves (coef 31/32, NLMS step 0)."""
    from compress.media import nlms

    rng = np.random.default_rng(5)
    x = np.zeros(6000)
    for n in range(2, x.size):
        x[n] = 1.6 * x[n - 1] - 0.8 * x[n - 2] + rng.normal() * (40 if n > 3000 else 2)
    x = np.round(x).astype(np.int64)
    still = {"kind": nlms.KIND, "coef": 31, "shift": 5, "nlms": [16, 16, 0, 40]}  # mu 2**0 / 2**40: ~no step
    assert np.abs(nlms.forward(x, 16)).sum() < 0.7 * np.abs(nlms.forward(x, 16, still)).sum()


@settings(max_examples=40, deadline=None)
@given(channels=st.integers(1, 3), width=st.sampled_from([1, 2, 3, 4]), body=st.binary(max_size=400),
       layout=st.sampled_from(LAYOUTS), trailer=st.binary(max_size=3))
@example(channels=2, width=1, body=b"\x00\x00", layout="stored", trailer=b"")  # a zero channel dropped
def test_nlms_lms_split_join_exact(channels, width, body, layout, trailer):
    from compress.media import lms, nlms

    data = riff(fmt(channels, 8000, 8 * width), chunk(b"data", body)) + trailer
    payload, extras = split_join(data, predictor="nlms+lms", layout=layout)
    # all-zero channels (one kept at least) leave the payload: their whole frames' bytes
    dropped = len(extras.get("zero_channels", [])) * (len(body) // (channels * width)) * width
    assert len(payload) == len(body) - dropped
    entry = dict(extras["predictor"])
    assert entry.pop("stereo", None) in ((None, nlms.MID_SIDE) if channels == 2 else (None,))
    assert entry == nlms.params()
    assert extras["adaptive"] == {"kind": "sslms/2", "stages": [list(s) for s in lms.STAGES_AFTER_NLMS]}


def test_nlms_lms_through_the_engine_and_listing(tiny_compressor):
    for data in (simple_wav(frames=300), simple_wav(frames=90, channels=2, bits=24, rate=44100)):
        blob = tiny_compressor.compress(data, modality="audio", predictor="nlms+lms")
        header = container.read_header(blob)
        assert header["frontend"]["predictor"]["kind"] == "fo-nlms/1"
        assert tiny_compressor.decompress(blob) == data
    lines = AudioFrontend.describe(header["frontend"])
    assert any("fo-nlms/1" in line and "no side information" in line for line in lines)
    assert any("sslms/2: 32 > 16 > 2 taps" in line for line in lines)


def test_golden_nlms_residuals_keep_decoding_and_encoding():
    """tests/golden/audio-nlms.*: audio-lms.wav's nlms+lms payload and extras as first written.
    Both directions are integer-only, so decoding must give the WAV back and encoding the payload
    byte for byte; a deliberate change needs a new kind (fo-nlms/2) and a new golden."""
    import json
    from pathlib import Path

    golden = Path(__file__).resolve().parent / "golden"
    wav = (golden / "audio-lms.wav").read_bytes()
    payload = (golden / "audio-nlms.payload").read_bytes()
    extras = json.loads((golden / "audio-nlms.extras.json").read_text())
    assert extras["predictor"]["kind"] == "fo-nlms/1"
    assert AudioFrontend().join(payload, extras) == wav
    assert AudioFrontend(predictor="nlms+lms").split(wav) == (payload, extras)


# -- two channels: mid-side (nlms.mid_side, chosen per file by nlms.choose_stereo) ---------------
@settings(max_examples=60, deadline=None)
@given(bits=st.sampled_from([8, 16, 24, 32]), data=st.data())
def test_mid_side_is_exact_at_every_width(bits, data):
    from compress.media import nlms

    half = 1 << (bits - 1)
    n = data.draw(st.integers(0, 50))
    extremes = st.sampled_from([-half, -half + 1, -1, 0, 1, half - 2, half - 1]) | st.integers(-half, half - 1)
    x = np.array(data.draw(st.lists(st.tuples(extremes, extremes), min_size=n, max_size=n)),
                 dtype=np.int64).reshape(n, 2)
    y = nlms.mid_side(x, bits)
    assert ((y >= -half) & (y < half)).all()
    assert np.array_equal(nlms.mid_side(y, bits, inverse=True), x)


def test_mid_side_is_chosen_only_when_it_pays(tiny_compressor):
    from compress.media import nlms

    rng = np.random.default_rng(5)
    t = np.arange(4000)
    v = (3000 * np.sin(t / 9.0) + rng.normal(0, 300, t.size)).astype(np.int64)
    noise = rng.normal(0, 3000, t.size).astype(np.int64)
    assert nlms.choose_stereo(np.stack([v, v], 1), 16)                   # dual mono
    assert nlms.choose_stereo(np.stack([v, v + rng.integers(-20, 21, t.size)], 1), 16)
    assert not nlms.choose_stereo(np.stack([v, noise], 1), 16)           # unrelated channels
    assert nlms.choose_stereo(np.stack([v, -v], 1), 16)                  # opposite phase: M = 0
    assert not nlms.choose_stereo(np.stack([v, rng.integers(-3, 4, t.size)], 1), 16)  # a near-silent side
    dual = riff(fmt(2, 16000, 16), chunk(b"data", pcm(np.stack([v, v], 1), 2)))
    apart = riff(fmt(2, 16000, 16), chunk(b"data", pcm(np.stack([v, noise], 1), 2)))
    for data, want in ((dual, nlms.MID_SIDE), (apart, None)):
        payload, extras = split_join(data, predictor="nlms+lms")
        assert extras["predictor"].get("stereo") == want
    blob = tiny_compressor.compress(dual, modality="audio", predictor="nlms+lms")
    assert container.form(blob) == "compact" and tiny_compressor.decompress(blob) == dual
    header = container.read_header(blob)
    assert header["frontend"]["predictor"]["stereo"] == nlms.MID_SIDE
    assert header["frontend"]["zero_channels"] == [1]  # dual mono: the side is all zero
    assert header["payload_length"] == len(dual) - 44 - 2 * 4000
    assert any("mid and side" in line for line in AudioFrontend.describe(header["frontend"]))


@settings(max_examples=60, deadline=None)
@given(channels=st.integers(2, 3), width=st.sampled_from([1, 2, 3, 4]), frames=st.integers(1, 120),
       silent=st.sets(st.integers(0, 2), min_size=1), data=st.data())
def test_zero_residual_channels_leave_the_payload(channels, width, frames, silent, data):
    """A channel whose nlms+lms residuals are all zero (silent, or the side of dual mono) is left out
    of the payload and named in zero_channels; the file still comes back exactly, whatever the
    trailing partial frame."""
    silent = {c for c in silent if c < channels}
    half = 1 << (8 * width - 1)
    rng = np.random.default_rng(frames)
    x = rng.integers(-half // 4, half // 4, size=(frames, channels))
    x[:, sorted(silent)] = 0
    trailer = data.draw(st.binary(max_size=channels * width - 1))
    wav = riff(fmt(channels, 8000, 8 * width), chunk(b"data", pcm(x, width) + trailer))
    payload, extras = split_join(wav, predictor="nlms+lms")
    zero = extras.get("zero_channels", [])
    if extras["predictor"].get("stereo") is None:  # a residual is all zero exactly when its input is
        assert zero == [c for c in range(channels) if not x[:, c].any()][: channels - 1]
        assert set(zero) >= (silent if len(silent) < channels else set(range(channels - 1)))
    assert len(payload) == len(trailer) + frames * width * (channels - len(zero))


@pytest.mark.parametrize("damage, match", [
    (lambda x: x.update(zero_channels=[1, 1]), "increasing channel indices"),
    (lambda x: x.update(zero_channels=[2]), "increasing channel indices"),
    (lambda x: x.update(zero_channels=[0, 1]), "increasing channel indices"),
    (lambda x: x.pop("predictor"), "increasing channel indices"),
    (lambda x: x.update(zero_channels=[0]), None),   # another channel, same count: the bytes decide
    (lambda x: x.pop("zero_channels"), "payload length differs"),
])
def test_zero_channels_damaged_header_is_refused(damage, match):
    t = np.arange(400)
    v = (3000 * np.sin(t / 9.0)).astype(np.int64)
    wav = riff(fmt(2, 8000, 16), chunk(b"data", pcm(np.stack([v, v], 1), 2)))
    payload, extras = AudioFrontend(predictor="nlms+lms").split(wav)
    assert extras["zero_channels"] == [1] and len(payload) == 800
    header = {"payload_length": len(payload), "original_length": len(wav)}
    AudioFrontend.check_extras(extras, header)
    damage(extras)
    if match is None:
        AudioFrontend.check_extras(extras, header)
        assert AudioFrontend().join(payload, extras) != wav  # decodes to other bytes: the checksum's job
    else:
        with pytest.raises(ContainerError, match=match):
            AudioFrontend.check_extras(extras, header)


@pytest.mark.parametrize("wav_name, name, zero", [("audio-stereo", "audio-nlms-ms", None),
                                                   ("audio-dualmono", "audio-nlms-zero", [1])])
def test_golden_mid_side_residuals_keep_decoding_and_encoding(wav_name, name, zero):
    """tests/golden/audio-nlms-ms.*: audio-stereo.wav (two correlated channels, 16-bit) coded with
    nlms+lms, which chose mid-side (planar, the default for several channels); audio-nlms-zero.*:
    audio-dualmono.wav (the same samples in both channels), whose all-zero side channel is left out
    of the payload (zero_channels). As first written; as for audio-nlms.*, a deliberate change
    needs a new kind or stereo mode and a new golden."""
    import json

    golden = Path(__file__).resolve().parent / "golden"
    wav = (golden / f"{wav_name}.wav").read_bytes()
    payload = (golden / f"{name}.payload").read_bytes()
    extras = json.loads((golden / f"{name}.extras.json").read_text())
    assert extras["predictor"]["stereo"] == "mid-side" and extras["channels"] == 2
    assert extras.get("zero_channels") == zero
    assert extras["layout"] == ("hi-lo-offset" if zero else "hi-lo-offset+planar")
    assert AudioFrontend().join(payload, extras) == wav
    assert AudioFrontend(predictor="nlms+lms").split(wav) == (payload, extras)


@pytest.mark.parametrize("damage, match", [
    (lambda x: x["predictor"].update(stereo="left-side"), "unknown stereo mode"),
    (lambda x: x.update(channels=3), "needs exactly two channels"),
])
def test_mid_side_damaged_header_is_refused(damage, match):
    payload, extras = AudioFrontend(predictor="nlms+lms").split(
        (Path(__file__).resolve().parent / "golden" / "audio-stereo.wav").read_bytes())
    header = {"payload_length": extras["data_present"], "original_length": 4844}
    AudioFrontend.check_extras(extras, header)
    damage(extras)
    with pytest.raises(ContainerError, match=match):
        AudioFrontend.check_extras(extras, header)


def test_lpc_predictor_with_a_stereo_entry_is_refused():
    wav = riff(fmt(2, 8000, 16), chunk(b"data", pcm(np.zeros((100, 2), dtype=np.int64), 2)))
    payload, extras = AudioFrontend(predictor="lpc+lms", lpc_block=50).split(wav)
    extras["predictor"]["stereo"] = "mid-side"
    header = {"payload_length": extras["data_present"], "original_length": len(wav)}
    with pytest.raises(ContainerError, match="fo-nlms/1 fields"):
        AudioFrontend.check_extras(extras, header)


@pytest.mark.parametrize("damage, match", [
    (lambda x: x["predictor"].update(kind="fo-nlms/9"), "LPC predictor without its tables"),  # schema: first
    (lambda x: x["predictor"].update(nlms=[0, 16, 4, 14]), "fo-nlms values"),
    (lambda x: x["predictor"].update(nlms=[16, 16, 20, 14]), "fo-nlms values"),   # step above precision
    (lambda x: x["predictor"].update(nlms=[16, 16, 4, 41]), "fo-nlms values"),
    (lambda x: x["predictor"].update(coef=64), "fo-nlms values"),                  # above 2**shift
    (lambda x: x["predictor"].pop("nlms"), "damaged audio predictor"),
    (lambda x: x.pop("adaptive"), "without its LMS cascade"),
    (lambda x: x["predictor"].update(order=4, block=16, shifts="", coefs=""), "with LPC tables"),
])
def test_nlms_damaged_header_is_refused_before_decoding(damage, match):
    """The header check (the decoder's, and the encoder's on its own output) refuses what the
    inverse would refuse, before any sample is rebuilt."""
    wav = simple_wav(frames=200)
    payload, extras = AudioFrontend(predictor="nlms+lms").split(wav)
    header = {"payload_length": extras["data_present"], "original_length": len(wav)}
    AudioFrontend.check_extras(extras, header)
    damage(extras)
    with pytest.raises(ContainerError, match=match):
        AudioFrontend.check_extras(extras, header)


def test_lpc_predictor_without_its_tables_is_refused():
    wav = simple_wav(frames=200)
    payload, extras = AudioFrontend(predictor="lpc+lms", lpc_block=50).split(wav)
    del extras["predictor"]["coefs"]
    header = {"payload_length": extras["data_present"], "original_length": len(wav)}
    with pytest.raises(ContainerError, match="without its tables"):
        AudioFrontend.check_extras(extras, header)


def test_audio_codes_without_the_text_adaptation_by_default(tiny_compressor, tiny_model_dir):
    """adapt=AUTO (the default) takes the front end's choice: none for audio, ngram-mix/2 for
    text; an explicit adapt= still wins, and each container says what it used."""
    from compress.core import adapt
    from compress.core.engine import AUTO, Compressor

    assert tiny_compressor.adapt == AUTO
    for modality, want in (("audio", None), ("image", None), ("video", None), ("text", adapt.VERSION)):
        assert tiny_compressor.adapt_for(frontends.get(modality)) == want
    wav = simple_wav(frames=300)
    blob = tiny_compressor.compress(wav, modality="audio")
    assert container.read_header(blob)["adapt"] is None and tiny_compressor.decompress(blob) == wav
    text = tiny_compressor.compress(b"some text, some text, some text", modality="text")
    assert container.read_header(text)["adapt"] == adapt.VERSION
    mixed = Compressor(str(tiny_model_dir), context=16, threads=1, allow_stored=False, adapt=adapt.VERSION)
    blob = mixed.compress(wav, modality="audio")
    assert container.read_header(blob)["adapt"] == adapt.VERSION and mixed.decompress(blob) == wav


@pytest.mark.parametrize("name, kind", [("audio-lms", "sslms/1"), ("audio-lms2", "sslms/2")])
def test_golden_lms_residuals_keep_decoding_and_encoding(name, kind):
    """tests/golden/audio-lms*.*: a WAV, its lpc+lms payload and the front end's extras as first
    written by each cascade kind (audio-lms2 shares audio-lms's WAV). Decoding must give the WAV
    back; and the integer part of encoding (LPC with the stored coefficients, then the LMS cascade)
    must give the same payload, so any change to a cascade's arithmetic shows up here (the LPC fit
    itself is floating point and encoder-only). A deliberate change needs a new `sslms/N` kind and
    a new golden beside these."""
    import json
    from pathlib import Path

    from compress.media import lms, lpc
    from compress.media.audio import int_to_pcm, pcm_to_int, to_payload

    golden = Path(__file__).resolve().parent / "golden"
    wav = (golden / "audio-lms.wav").read_bytes()
    payload = (golden / f"{name}.payload").read_bytes()
    extras = json.loads((golden / f"{name}.extras.json").read_text())
    assert extras["adaptive"]["kind"] == kind
    assert AudioFrontend().join(payload, extras) == wav
    samples = pcm_to_int(wav[44:], 1, 2)
    params = lpc.Params.from_extras(extras["predictor"], 1, samples.shape[0])
    e = lpc.residual(samples[:, 0], params.shifts[0], params.coefs[0], params.block, 16)
    got_kind, stages = lms.check_entry(extras["adaptive"])
    r = lms.forward(e, 16, stages, got_kind)
    assert to_payload(int_to_pcm(r[:, None], 2), 1, 2, extras["layout"]) == payload


def test_lms_damaged_stages_are_refused_by_the_header_check():
    """The header check (run before any decoding, and by the encoder on its own output) refuses
    stages the inverse would refuse, not only join()."""
    wav = simple_wav(frames=200)
    payload, extras = AudioFrontend(predictor="lpc+lms", lpc_block=50).split(wav)
    header = {"payload_length": extras["data_present"], "original_length": len(wav)}
    AudioFrontend.check_extras(extras, header)
    extras["adaptive"]["stages"] = [[16, 99, 32]]
    with pytest.raises(ContainerError, match="adaptive stage"):
        AudioFrontend.check_extras(extras, header)
