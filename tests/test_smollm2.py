"""The real embedded default model (SmolLM2-135M from the PyPI GGUF): round trip and determinism.

Slow (model load ~15 s per process on 2 cores) but bounded: short texts, small context.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having\r\n"
    "nothing to do: once or twice she had peeped into the book her sister was reading, but it had\r\n"
    "no pictures or conversations in it, 'and what is the use of a book,' thought Alice 'without\r\n"
    "pictures or conversations?' \xe2\x80\x94 \xff\xfe binary tail\r\n"
).encode("latin-1") * 6

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol():
    from compress.core.engine import Compressor

    return Compressor("smollm2-135m", context=128, batch=8, threads=2)


def test_real_model_round_trip_and_ratio(smol):
    blob = smol.compress(TEXT)
    ideal_bits = smol.last.ideal_bits
    assert smol.decompress(blob) == TEXT
    # a real language model must beat 8 bits per byte by a wide margin on English text
    assert 8 * len(blob) / len(TEXT) < 3.0
    from compress.core import container

    # the payload is the ideal code length of the stepper's distributions plus a small overhead:
    # quantization (<1%) and at most two 32-bit words of termination per batch stream
    h = container.read_header(blob)
    payload = len(blob) - container.stored_header_length(blob)
    assert ideal_bits > 0
    assert payload <= 1.01 * ideal_bits / 8 + 8 * len(h["batches"])
    assert h["model"]["id"] == "smollm2-135m" and h["vocab_size"] == 49152
    # the compact form with the registry's full digests for the embedded model and its tokenizer:
    # if this fails, the registry (compress/core/compact.py) no longer matches what this machine loads
    assert container.form(blob) == "compact" and container.stored_header_length(blob) <= 64
    assert len(h["model"]["sha256"]) == 64 and len(h["tokenizer_sha256"]) == 64


def test_scoring_pass_agrees_with_coding(smol):
    score = smol.score(TEXT)
    smol.compress(TEXT)
    ideal = smol.last.ideal_bits
    # same model, same segmentation: parallel and incremental passes agree to well under 1%
    assert abs(score.bits - ideal) / ideal < 0.01


def test_decodes_in_fresh_process_with_other_default_threads(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(TEXT[:600])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    enc = subprocess.run([sys.executable, "-m", "compress", "-q", "--threads", "1", "--context", "64",
                          "--batch", "4", str(src)], env=env, capture_output=True, timeout=600)
    assert enc.returncode == 0, enc.stderr
    src.rename(tmp_path / "original.txt")
    # the decoding process defaults to 2 threads; the header (threads=1) must win
    env2 = {**env, "OMP_NUM_THREADS": "2"}
    dec = subprocess.run([sys.executable, "-m", "compress", "-d", "-q", str(tmp_path / "a.txt.lmc")],
                         env=env2, capture_output=True, timeout=600)
    assert dec.returncode == 0, dec.stderr
    assert (tmp_path / "a.txt").read_bytes() == TEXT[:600]
