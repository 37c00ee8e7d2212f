import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def other_tiny_model_dir(tmp_path_factory):
    """Same architecture and tokenizer, different weights: must be refused by the decoder."""
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-other"), seed=1)


@pytest.fixture(scope="session")
def tiny_compressor(tiny_model_dir):
    from compress.core.engine import Compressor

    # allow_stored=False: the tests inspect coded containers of small inputs (tests/test_compact.py
    # pins the stored form, which the default writes whenever it is smaller)
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)


@pytest.fixture(scope="session")
def independent_compressor(tiny_model_dir):
    """Independent segments (kv-growing/2): the layout that keeps frame-level random access."""
    from compress.core.engine import Compressor
    from compress.core.stepper import GROWING

    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, stepper_kind=GROWING,
                      allow_stored=False)
