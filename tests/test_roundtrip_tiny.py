"""Round trips through the real engine with a tiny random LLaMA: every byte string comes back."""

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from compress.core import container
from compress.core.engine import default_dtype


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_round_trip(tiny_compressor, data):
    blob = tiny_compressor.compress(data)
    assert tiny_compressor.decompress(blob) == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_random_text_round_trip(tiny_compressor, text):
    data = text.encode("utf-8", errors="surrogatepass")
    assert tiny_compressor.decompress(tiny_compressor.compress(data)) == data


def test_edge_cases(tiny_compressor):
    for data in [b"", b"a", b"\xff", b"\x00" * 100, bytes(range(256)) * 3,
                 "déjà vu — 日本語 <|endoftext|> <s>".encode(), b"\xc3(\xa0\xa1\xe2\x28\xa1",
                 b"The quick brown fox " * 50]:
        blob = tiny_compressor.compress(data)
        assert tiny_compressor.decompress(blob) == data


def test_header_records_settings(tiny_compressor, independent_compressor):
    data = b"The quick brown fox jumps over the lazy dog." * 5
    h = container.read_header(tiny_compressor.compress(data))  # carried context, the default
    assert h["stepper"] == "kv-carried/3" and h["context"] == 16 and h["threads"] == 1
    assert h["batch"] == 1 and len(h["segments"]) == 1  # auto rows: one per 2560 tokens
    assert h["keep"] == 4 and h["adapt"] == "ngram-mix/2"
    blob = independent_compressor.compress(data)
    h = container.read_header(blob)
    assert h["context"] == 16 and h["batch"] == 4 and h["threads"] == 1
    assert h["dtype"] == default_dtype("cpu")  # bf16-linear where AMX multiplies it, else float32
    # the compact form: digests not in its registry are the sha256's first 8 bytes
    assert len(h["model"]["sha256"]) == 16 and len(h["tokenizer_sha256"]) == 16
    assert h["adapter"] is None
    assert all(n <= 15 for n in h["segments"])
    assert len(h["batches"]) == len(h["batch_crc32"]) == -(-len(h["segments"]) // 4)


def test_checkpoint_frontend_options_are_the_default(tiny_model_dir, tmp_path):
    """A checkpoint trained on a front end's options (here pixel residuals in strips) gets those
    options whenever it codes that modality, unless the caller overrides them; another modality
    gets none of them. Decoding needs only the header."""
    import json
    import shutil

    import numpy as np

    from compress.core import models
    from compress.core.engine import Compressor

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_model_dir, ckpt)
    options = {"order": "strips", "strip": 4, "predictor": "med-green"}
    (ckpt / "manifest.json").write_text(json.dumps({
        "model_sha256": models.load(str(tiny_model_dir)).base_sha256, "base_model": {"sha256": None},
        "modality": "image", "recipe": {"data": {"frontend": options}}}))
    comp = Compressor(str(ckpt), context=16, batch=4, threads=1, allow_stored=False)
    assert comp.frontend_options("image") == options
    assert comp.frontend_options("image", predictor="none") == {**options, "predictor": "none"}
    assert comp.frontend_options("audio") == {} and comp.frontend_options("text") == {}
    ppm = b"P6\n6 5\n255\n" + np.random.default_rng(0).integers(0, 256, 90, dtype=np.uint8).tobytes()
    blob = comp.compress(ppm, modality="image")
    extras = container.read_header(blob)["frontend"]
    assert (extras["order"], extras["strip"], extras["predictor"]) == ("strips", 4, "med-green")
    assert comp.decompress(blob) == ppm
    plain = Compressor(str(tiny_model_dir), context=16, batch=4, threads=1)
    assert plain.frontend_options("image") == {}


def test_a_lossy_mode_is_never_a_checkpoint_default(tiny_model_dir, tmp_path):
    """A model trained in the paper's lossy 8-bit audio mode codes audio losslessly unless the
    caller asks for audio_bits=8 again: lossy is never implied."""
    import json
    import shutil

    from compress.core import models
    from compress.core.engine import Compressor

    ckpt = tmp_path / "ckpt8"
    shutil.copytree(tiny_model_dir, ckpt)
    (ckpt / "manifest.json").write_text(json.dumps({
        "model_sha256": models.load(str(tiny_model_dir)).base_sha256, "base_model": {"sha256": None},
        "modality": "audio", "recipe": {"data": {"frontend": {"audio_bits": 8, "predictor": "lpc"}}}}))
    comp = Compressor(str(ckpt), context=16, batch=4, threads=1, allow_stored=False)
    assert comp.frontend_options("audio") == {"predictor": "lpc"}
    assert comp.frontend_options("audio", audio_bits=8) == {"predictor": "lpc", "audio_bits": 8}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_bytes_modality_round_trip(tiny_compressor, independent_compressor, data):
    """`--modality bytes`: one token per byte through the byte symbolizer, both layouts."""
    for comp in (tiny_compressor, independent_compressor):
        blob = comp.compress(data, modality="bytes")
        h = container.read_header(blob)
        assert h["modality"] == "bytes" and h["symbolizer"] == "bytes-charmap/v1"
        assert h["payload_length"] == h["original_length"] == len(data)
        assert comp.decompress(blob) == data


def test_bytes_modality_scores_one_token_per_byte(tiny_compressor):
    data = bytes(range(256)) + b"abcabcabc" * 20
    score = tiny_compressor.score(data, modality="bytes", batch=4)
    assert score.tokens == len(data) and score.bits > 0
    text = tiny_compressor.score(data, batch=4)
    assert text.tokens != score.tokens  # the text symbolizer merges bytes into tokens
