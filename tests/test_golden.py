"""Golden containers checked into the repo must keep decoding, and encoding must keep its bits.

tests/golden/tiny-llama is a committed tiny random LLaMA, so these pins do not depend on RNG
behaviour of the installed torch. If an intentional format change breaks them, bump
FORMAT_VERSION or QUANTIZER_VERSION and regenerate — never silently.
"""

from pathlib import Path

import numpy as np
import pytest

from compress import container
from compress.engine import Compressor

GOLDEN = Path(__file__).resolve().parent / "golden"
MODEL = str(GOLDEN / "tiny-llama")


@pytest.fixture(scope="module")
def golden_compressor():
    return Compressor(MODEL, context=16, batch=3, threads=1)


@pytest.mark.parametrize("name", ["text", "empty"])
def test_golden_decodes(golden_compressor, name):
    blob = (GOLDEN / f"{name}.lmc").read_bytes()
    assert golden_compressor.decompress(blob, model=MODEL) == (GOLDEN / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", ["text", "empty"])
def test_encoder_reproduces_golden_bits(golden_compressor, name):
    golden = container.unpack((GOLDEN / f"{name}.lmc").read_bytes())
    fresh = container.unpack(golden_compressor.compress((GOLDEN / f"{name}.bin").read_bytes()))
    assert len(fresh.streams) == len(golden.streams)
    for a, b in zip(fresh.streams, golden.streams):
        assert np.array_equal(a, b)
    for key in ("segments", "batch_crc32", "original_sha256", "tokenizer_sha256", "quantizer"):
        assert fresh.header[key] == golden.header[key]
    assert fresh.header["model"]["sha256"] == golden.header["model"]["sha256"]
