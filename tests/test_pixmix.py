"""Pixel mixing (compress/core/pixmix.py): the mixer's arithmetic, the image front end's geometry,
the header field at both ends, and the golden container that pins pixel-mix/1's bits.

tests/golden/image-mix1.lmc is tests/golden/image-mix.ppm (16x12 RGB, a fixed pattern) coded with
tests/golden/tiny-bytes (a committed 2-layer byte model, width 16) as med-green residuals in strips
of 4 pixels, kv-primed/1 at context 200 in 3 batches of 2 segments, adam/7 and pixel-mix/1, float32,
1 thread, compact form. Old containers must keep decoding and the encoder must keep writing them:
a change that moves these bits is a new version beside this one.
"""

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from compress.core import compact, container, frontends, pixmix
from compress.core.errors import ContainerError, InputError, MismatchError
from compress.media import image

GOLDEN = Path(__file__).resolve().parent / "golden"
BYTES = str(GOLDEN / "tiny-bytes")
CODED = dict(context=200, batch=2, threads=1, dtype="float32", allow_stored=False)
LAYOUT = dict(predictor="med-green", order="strips", strip=4)


def _geometry(height=3, width=4, channels=3, order="strips", strip=2):
    index = image.payload_index((height, width, channels, 1), order, strip)
    return pixmix.Geometry(index.reshape(height, width, channels))


def _flat(n: int) -> np.ndarray:
    return np.full((n, 256), -np.log(256.0))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.sampled_from([1, 2, 3, 4]), st.sampled_from(image.ORDERS),
       st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_payload_index_is_where_to_payload_puts_each_sample(height, width, channels, order, strip, seed):
    samples = np.random.default_rng(seed).integers(0, 256, (height, width, channels, 1), dtype=np.uint8)
    payload = np.frombuffer(image.to_payload(samples, order, strip), dtype=np.uint8)
    index = image.payload_index(samples.shape, order, strip)
    assert sorted(index.reshape(-1).tolist()) == list(range(samples.size))
    assert np.array_equal(payload[index], samples)


def test_the_mixer_starts_as_the_model_and_sums_to_one():
    mixer = pixmix.PixelMixer(_geometry())
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 256))
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    q = mixer.mix(np.array([0, 5, 7]), log_probs)
    assert q.shape == (3, 256) and np.allclose(q.sum(axis=1), 1.0)
    assert np.allclose(q, np.exp(log_probs), rtol=1e-12, atol=0)


def test_the_mixer_learns_a_file_the_model_does_not_know():
    """A flat model (8 bits a sample) over an image whose residuals are all 128 (perfect
    predictions): the mixture learns to put its mass there."""
    geometry = _geometry(height=16, width=16, channels=3, order="interleaved")
    mixer = pixmix.PixelMixer(geometry)
    bits = []
    for p in range(16 * 16 * 3):
        q = mixer.mix(np.array([p]), _flat(1))
        bits.append(-np.log2(q[0, 128]))
        mixer.update(np.array([p]), np.array([128]))
    assert bits[0] == pytest.approx(8.0) and np.mean(bits[-100:]) < 2.0


def test_equal_inputs_give_equal_bits_and_unknown_samples_are_never_read():
    """Two mixers fed the same steps agree bit for bit; a sample not yet told (update) does not
    change a mixture, whatever the payload holds there (the decoder does not have it yet)."""
    a, b = pixmix.PixelMixer(_geometry()), pixmix.PixelMixer(_geometry())
    b.values[:] = 200  # what b would read if it looked at unknown samples
    rng = np.random.default_rng(1)
    for step in range(12):
        positions = np.array([step, 12 + step, 24 + step]) % 36
        log_probs = np.log(rng.dirichlet(np.ones(256), size=3))
        qa, qb = a.mix(positions, log_probs), b.mix(positions, log_probs)
        assert np.array_equal(qa, qb)
        symbols = rng.integers(0, 256, 3)
        a.update(positions, symbols)
        b.update(positions, symbols)


def test_update_must_follow_mix_for_the_same_positions():
    mixer = pixmix.PixelMixer(_geometry())
    with pytest.raises(ValueError, match="must follow mix"):
        mixer.update(np.array([0]), np.array([1]))
    mixer.mix(np.array([0, 1]), _flat(2))
    with pytest.raises(ValueError, match="must follow mix"):
        mixer.update(np.array([1, 0]), np.array([1, 2]))
    with pytest.raises(ValueError, match="256-symbol"):
        mixer.mix(np.array([0]), np.zeros((1, 10)))


def test_a_geometry_that_is_not_a_permutation_is_refused():
    index = np.zeros((2, 2, 1), dtype=np.int32)
    with pytest.raises(ValueError, match="permutation"):
        pixmix.PixelMixer(pixmix.Geometry(index))
    with pytest.raises(ValueError, match="unknown pixel mixing"):
        pixmix.PixelMixer(_geometry(), "pixel-mix/0")


def test_the_front_end_gives_a_geometry_for_8_bit_samples_only():
    extras = {"height": 2, "width": 3, "channels": 3, "sample_bytes": 1, "order": "strips", "strip": 2}
    assert image.ImageFrontend.mix_geometry(extras, 18).shape == (2, 3, 3)
    assert image.ImageFrontend.mix_geometry(extras, 17) is None  # not the payload: nothing allocated
    assert image.ImageFrontend.mix_geometry({**extras, "sample_bytes": 2}, 36) is None
    assert image.ImageFrontend.mix_default({"predictor": "med-green", "sample_bytes": 1})
    assert not image.ImageFrontend.mix_default({"sample_bytes": 1})
    assert not image.ImageFrontend.mix_default({"predictor": "med", "sample_bytes": 2})


def test_the_registries_agree():
    assert compact.MIXES == pixmix.VERSIONS and compact.FLAG_MIX == 32


# -- the engine --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ppm():
    return (GOLDEN / "image-mix.ppm").read_bytes()


def test_golden_mixed_container_decodes_and_is_reproduced(ppm):
    from compress.core.engine import Compressor, device_kind

    blob = (GOLDEN / "image-mix1.lmc").read_bytes()
    golden = container.unpack(blob)
    header = golden.header
    assert (header["mix"], header["tune"], header["stepper"], len(golden.streams)) == \
        ("pixel-mix/1", "adam/7", "kv-primed/1", 3)
    assert container.form(blob) == "compact"
    assert Compressor(threads=1).decompress(blob, model=BYTES) == ppm
    fresh = Compressor(BYTES, **CODED).compress(ppm, modality="image", **LAYOUT)
    if device_kind("cpu") == header["device"]:
        assert fresh == blob
    plain = container.unpack(Compressor(BYTES, mix=None, **CODED).compress(ppm, modality="image", **LAYOUT))
    assert "mix" not in plain.header and len(plain.streams) == 3
    assert not any(np.array_equal(a, b) for a, b in zip(plain.streams, golden.streams, strict=True))


def test_mixing_is_the_default_for_residual_images_only_and_round_trips_when_asked(ppm):
    from compress.core.engine import Compressor

    raw = Compressor(BYTES, **CODED).compress(ppm, modality="image", order="strips", strip=4)
    assert "mix" not in frontends.read_header(raw)
    asked = Compressor(BYTES, mix=pixmix.VERSION, **CODED)
    blob = asked.compress(ppm, modality="image", order="interleaved")
    assert frontends.read_header(blob)["mix"] == pixmix.VERSION
    assert Compressor(threads=1).decompress(blob, model=BYTES) == ppm


def test_score_measures_what_the_mixed_coder_codes(ppm):
    from compress.core.engine import Compressor

    comp = Compressor(BYTES, **CODED)
    comp.compress(ppm, modality="image", **LAYOUT)
    ideal = comp.last.ideal_bits
    scored = comp.score(ppm, modality="image", batch=4, tune="auto", **LAYOUT).bits
    assert scored == pytest.approx(ideal, rel=1e-4)
    unmixed = Compressor(BYTES, mix=None, **CODED).score(ppm, modality="image", batch=4, tune="auto", **LAYOUT)
    assert unmixed.bits != pytest.approx(scored, rel=1e-4)


def test_mixing_where_it_cannot_work_is_refused_before_coding(ppm):
    from compress.core.engine import Compressor

    with pytest.raises(InputError, match="needs an image"):
        Compressor(BYTES, mix=pixmix.VERSION, stepper_kind="kv-growing/2", **CODED).compress(b"some text " * 20)
    with pytest.raises(InputError, match="unknown pixel mixing"):
        Compressor(BYTES, mix="pixel-mix/0")
    sixteen = b"P6\n4 2\n65535\n" + bytes(range(48))
    with pytest.raises(InputError, match="cannot mix this input"):
        Compressor(BYTES, mix=pixmix.VERSION, **CODED).compress(sixteen, modality="image", predictor="med")
    carried = Compressor(BYTES, mix=pixmix.VERSION, stepper_kind="kv-carried/3", threads=1, allow_stored=False)
    with pytest.raises(InputError, match="carried context"):
        carried.compress(ppm, modality="image")


def _forged(blob: bytes, **changes) -> bytes:
    parsed = container.unpack(blob)
    return container.pack({**parsed.header, **changes}, parsed.streams)


def test_forged_mix_fields_are_refused_before_decoding(ppm):
    from compress.core.engine import Compressor

    blob = (GOLDEN / "image-mix1.lmc").read_bytes()
    decoder = Compressor(threads=1)
    with pytest.raises(MismatchError, match="pixel mixing mismatch"):
        decoder.decompress(_forged(blob, mix="pixel-mix/9"), model=BYTES)
    sixteen = Compressor(BYTES, **CODED).compress(b"P6\n4 2\n65535\n" + bytes(range(48)), modality="image",
                                                  predictor="med")
    with pytest.raises(ContainerError, match="pixel mixing needs an image of 8-bit samples"):
        decoder.decompress(_forged(sixteen, mix=pixmix.VERSION), model=BYTES)
    carried = Compressor(BYTES, stepper_kind="kv-carried/3", threads=1, allow_stored=False).compress(
        ppm, modality="image")
    with pytest.raises(ContainerError, match="'tune'/'mix' belong"):
        decoder.decompress(_forged(carried, mix=pixmix.VERSION), model=BYTES)


def test_the_command_line_mixes_images_and_refuses_text_with_one_line(tmp_path):
    from clirun import lmc

    ppm = b"P6\n16 12\n255\n" + bytes([90, 60, 30]) * 192  # flat: the mixture learns it, so it is coded
    src = tmp_path / "a.ppm"
    src.write_bytes(ppm)
    done = lmc("-m", BYTES, "--threads", "1", "--context", "200", "--batch", "2", "--mix", "pixel-mix/1",
               "-o", tmp_path / "a.lmc", src)
    assert done.returncode == 0, done.stderr
    listed = lmc("-l", tmp_path / "a.lmc")
    assert b"pixel mixing pixel-mix/1" in listed.stdout
    back = lmc("-d", "-m", BYTES, "-o", tmp_path / "b.ppm", tmp_path / "a.lmc")
    assert back.returncode == 0 and (tmp_path / "b.ppm").read_bytes() == ppm
    text = tmp_path / "t.txt"
    text.write_bytes(b"words " * 50)
    refused = lmc("-m", BYTES, "--mix", "pixel-mix/1", "--stepper", "kv-growing/2", text)
    lines = refused.stderr.decode().strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1 and "pixel mixing needs an image" in lines[0]
    assert "t.txt" in lines[0] and not (tmp_path / "t.txt.lmc").exists()
