"""Audio in the compact header (form `c`): compress/media/audio_compact.py and the non-text part of
compress/core/compact.py (payload length, run-length segment table, registered extras codec).

Round trips of the header codec with hypothesis over every shape it holds, the shapes that must
fall back to the JSON form, the registry ids, hostile compact audio headers (each refused with a
ContainerError before anything is allocated from it), the engine writing it, and a golden."""

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compress  # noqa: F401  (registers the media front ends and the audio codec)
from compress.core import compact, container, frontends
from compress.core.engine import Compressor
from compress.core.errors import ContainerError
from compress.media import audio_compact, lms, nlms
from test_audio import simple_wav
from test_compact import _field, body_of, compact_round_trip, digests, golden_header, reframe


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@st.composite
def audio_extras(draw):
    channels, width = draw(st.integers(1, 8)), draw(st.integers(1, 4))
    bits = draw(st.integers(max(1, 8 * width - 7), 8 * width))
    rate = draw(st.integers(1, 2**32 - 1))
    declared = draw(st.integers(0, 2**31))
    present = draw(st.integers(0, 2**20))
    tail = draw(st.binary(max_size=12))
    extensible = draw(st.booleans())
    head = (audio_compact.canonical_head(channels, rate, bits, width, declared, len(tail))
            if draw(st.booleans()) and not extensible else None)
    if head is None:
        head = draw(st.binary(max_size=80))
    extras = {"container": "wav", "channels": channels, "rate": rate, "bits": bits, "width": width,
              "extensible": extensible, "layout": draw(st.sampled_from(audio_compact.LAYOUTS)),
              "data_declared": declared, "data_present": present, "head": b64(head), "tail": b64(tail)}
    if draw(st.booleans()):
        extras["predictor"] = {"kind": nlms.KIND, "coef": draw(st.integers(0, 256)), "shift": draw(st.integers(0, 8)),
                               "nlms": draw(st.lists(st.integers(0, nlms.MAX_TAPS), min_size=4, max_size=4))}
        if draw(st.booleans()):
            extras["predictor"]["stereo"] = nlms.MID_SIDE
        if draw(st.booleans()):
            extras["zero_channels"] = sorted(draw(st.sets(st.integers(0, channels), min_size=1, max_size=3)))
        stages = draw(st.lists(st.lists(st.integers(0, lms.MAX_TAPS), min_size=3, max_size=3),
                               max_size=lms.MAX_STAGES))
        extras["adaptive"] = {"kind": draw(st.sampled_from(lms.KINDS)), "stages": stages}
    return extras


@st.composite
def audio_headers(draw):
    rows = draw(st.integers(1, 40))
    segments = draw(st.lists(st.sampled_from([1, 7, 300, 7100, 2**20]), min_size=rows, max_size=rows))
    return {
        "format": "lmcompress", "modality": "audio", "frontend": draw(audio_extras()),
        "symbolizer": "bytes-charmap/v1", "original_length": draw(st.integers(0, 2**30)),
        "payload_length": draw(st.integers(0, 2**30)), "original_sha256": draw(digests), "checked_sha256": None,
        "model": {"id": "/ckpt", "base_id": "/ckpt", "sha256": draw(digests)}, "adapter": None,
        "tokenizer_sha256": draw(st.sampled_from(compact.TOKENIZER_DIGESTS) | digests),
        "vocab_size": 259, "prefix_id": 1, "context": 512, "batch": rows, "dtype": "float32",
        "device": "cpu:x86_64", "threads": draw(st.integers(1, 4)), "quantizer": "constriction-leaky24/1",
        "stepper": "kv-carried/3", "keep": 128, "adapt": None, "libraries": {"torch": "2.13.0"},
        "segments": segments, "batches": [draw(st.integers(0, 2**32 - 1))],
        "batch_crc32": [draw(st.integers(0, 2**32 - 1))],
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audio_headers())
def test_audio_header_round_trips_through_the_compact_form(h):
    decoded = compact_round_trip(h)
    assert decoded["frontend"] == h["frontend"] and decoded["segments"] == h["segments"]


@settings(max_examples=150, deadline=None)
@given(audio_headers(), st.data())
def test_audio_shapes_it_cannot_hold_fall_back_to_json(h, data):
    extras = h["frontend"]
    change = data.draw(st.sampled_from(["lpc", "lossy", "note", "cascade-only", "kind", "layout", "b64",
                                        "checked", "symbolizer", "many-segments"]))
    if change == "lpc":
        extras["predictor"] = {"kind": "lpc/1", "order": 2, "block": 4096, "shifts": "AA==", "coefs": "AAA="}
    elif change == "lossy":
        extras["lossy"] = True
    elif change == "note":
        extras["note"] = "re-encoded from FLAC"
    elif change == "cascade-only":
        extras.pop("predictor", None)
        extras["adaptive"] = {"kind": "sslms/2", "stages": []}
    elif change == "kind":
        extras["predictor"] = {"kind": "fo-nlms/9", "coef": 1, "shift": 1, "nlms": [1, 1, 1, 1]}
        extras["adaptive"] = {"kind": "sslms/2", "stages": []}
    elif change == "layout":
        extras["layout"] = "lo-hi"
    elif change == "b64":
        extras["tail"] = "AB=="  # decodable but not canonical base64
    elif change == "checked":
        h["checked_sha256"] = "0" * 64
    elif change == "symbolizer":
        h["symbolizer"] = "text-table/v1"
    else:
        h["segments"] = list(range(1, compact.MAX_RUN_SEGMENTS + 2))
    assert compact.encode(h) is None


def test_registry_ids_are_append_only():
    assert compact.MODALITIES[:2] == ("text", "audio")
    assert compact.SYMBOLIZER_OF["audio"] == "bytes-charmap/v1"
    assert audio_compact.LAYOUTS == ("stored", "stored+planar", "hi-lo", "hi-lo+planar", "hi-lo-offset",
                                     "hi-lo-offset+planar")
    assert audio_compact.CASCADES == ("sslms/1", "sslms/2")
    assert compact.TOKENIZER_DIGESTS[1].startswith("df88c2e6")


def test_canonical_head_is_what_a_plain_writer_puts():
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x01\x02" * 200)
    assert buf.getvalue()[:44] == audio_compact.canonical_head(2, 16000, 16, 2, 400, 0)
    assert audio_compact.canonical_head(65535, 2**32 - 1, 16, 4, 0, 0) is None  # byte rate overflows


# -- containers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def coder(tiny_model_dir):
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)


@pytest.fixture(scope="module")
def blob(coder):
    return coder.compress(simple_wav(), modality="audio", predictor="nlms+lms")


def test_the_encoder_writes_audio_compactly(coder, blob):
    assert container.form(blob) == "compact"
    header = frontends.read_header(blob)
    assert header["frontend"]["predictor"]["kind"] == nlms.KIND and header["model"]["id"] == ""
    assert container.stored_header_length(blob) <= 120
    assert coder.decompress(blob) == simple_wav()
    stereo = simple_wav(frames=120, channels=2, bits=24, rate=44100)
    out = coder.compress(stereo, modality="audio", predictor="nlms+lms")
    assert container.form(out) == "compact" and coder.decompress(out) == stereo


def test_lpc_audio_keeps_the_json_form(coder):
    out = coder.compress(simple_wav(), modality="audio", predictor="lpc+lms")
    assert container.form(out) == "json" and coder.decompress(out) == simple_wav()


def test_truncation_anywhere_is_refused(blob):
    for n in range(0, len(blob) - 1, 3):
        with pytest.raises(ContainerError):
            frontends.parse(blob[:n])


def test_every_audio_field_goes_through_the_one_validator(blob):
    """Each compact audio field replaced by hostile values: a ContainerError, never a crash or an
    allocation the header did not pay for (a 5-byte varint can say 34 billion)."""
    start, end = compact.header_span(blob)
    body = blob[start:end]
    payload = blob[end + 4:]
    spans: list = []
    compact.decode(blob, spans)
    fields = [(n, a - start, b - start) for n, a, b in spans if n.startswith(("audio", "nlms", "cascade"))]
    assert {n for n, _, _ in fields} >= {"audio flags", "audio layout", "audio rate", "audio tail length",
                                         "nlms coef", "cascade stages"}
    for name, a, b in fields:
        for value in (0, 1, 255, 2**16, 2**34):
            new = (bytes([value & 0xFF]) if b - a == 1 and name in ("audio flags", "audio layout", "audio cascade")
                   else compact.varint(value))
            forged = reframe(body[:a] + new + body[b:], payload)
            try:
                parsed = frontends.parse(forged)
            except ContainerError:
                continue
            # a value the validator accepts must still describe a header that checks out
            frontends.check_extras(parsed.header)


def test_segment_runs_cannot_expand_past_the_bound(blob):
    body = body_of(blob)
    a, b = _field(blob, "segment runs")[0], _field(blob, "segment repeat")[1]
    for runs in (compact.varint(1) + compact.varint(7) + compact.varint(2**34),          # a bomb
                 compact.varint(1) + compact.varint(7) + compact.varint(0),              # empty run
                 compact.varint(2) + (compact.varint(7) + compact.varint(1)) * 2):       # not canonical
        with pytest.raises(ContainerError, match="segment runs"):
            compact.decode(reframe(body[:a] + runs + body[b:]))


def test_mid_side_flag_needs_the_predictor(blob):
    body = bytearray(body_of(blob))
    a = _field(blob, "audio flags")[0]
    assert body[a] & audio_compact.FLAG_NLMS
    body[a] |= audio_compact.FLAG_MID_SIDE  # accepted by the parser; the front end then checks channels
    decoded = compact.decode(reframe(bytes(body)))[0]
    assert decoded["frontend"]["predictor"]["stereo"] == nlms.MID_SIDE
    with pytest.raises(ContainerError, match="two channels"):
        frontends.check_extras(decoded)
    plain = compact.encode({**decoded, "frontend": {k: v for k, v in decoded["frontend"].items()
                                                    if k not in ("predictor", "adaptive")}})
    body = bytearray(body_of(plain))
    a = _field(plain, "audio flags")[0]
    body[a] |= audio_compact.FLAG_MID_SIDE  # mid-side without the fo-nlms/1 predictor
    with pytest.raises(ContainerError, match="unsupported compact audio flags"):
        compact.decode(reframe(bytes(body)))


def test_canonical_head_flag_with_unfit_fields_is_refused(blob):
    body = bytearray(body_of(blob))
    a = _field(blob, "audio flags")[0]
    assert body[a] & audio_compact.FLAG_CANONICAL_HEAD  # a plain WAV's head is rebuilt, not stored
    body[a] |= audio_compact.FLAG_EXTENSIBLE
    with pytest.raises(ContainerError, match="EXTENSIBLE"):
        compact.decode(reframe(bytes(body)))


def test_golden_compact_audio_header():
    """tests/golden/audio-compact.head: the compact header of a real librivox container (clip 0870,
    checkpoints/librispeech_bgpt/cpu2400b16nlms, nlms+lms, 32 rows) as first written, and the header
    it stands for. A test model cannot code audio (its tokenizer has no byte map), so this pins the
    header bytes, which are all the compact form adds: they must keep decoding to that header and
    the encoder must keep writing exactly them; a deliberate change needs new ids and a new golden."""
    decoded, head = golden_header("audio-compact")
    assert len(head) == 93
    assert decoded["frontend"]["predictor"]["kind"] == nlms.KIND and decoded["segments"] == [7100] * 32
