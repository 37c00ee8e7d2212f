"""Determinism matrix: what may differ between encoder and decoder without changing the output.

(a) thread count: tests/test_smollm2.py (fresh process, real model); here with the tiny model too.
(b) --batch/--context given at decode time: the header wins.
(c) the same weights loaded from another path: identity is by content.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compress.core import adapt as adaptlib
from compress.core import container, stepper
from compress.core.engine import Compressor

ROOT = Path(__file__).resolve().parent.parent
DATA = ("Les patients atteints de diabète ont été traités à l'insuline. " * 8).encode() + b"\x00\xff"


def test_decode_ignores_callers_batch_and_context(tiny_model_dir):
    blob = Compressor(str(tiny_model_dir), context=16, batch=2, threads=1,
                      stepper_kind=stepper.GROWING).compress(DATA)
    other = Compressor(str(tiny_model_dir), context=64, batch=7, threads=2)
    assert other.decompress(blob) == DATA


@pytest.mark.parametrize("adapt", [adaptlib.VERSION, None])
def test_carried_decode_ignores_callers_rows_keep_context_and_adaptation(tiny_model_dir, adapt):
    blob = Compressor(str(tiny_model_dir), context=16, threads=1, rows=3, keep=5,
                      adapt=adapt).compress(DATA)
    other = Compressor(str(tiny_model_dir), context=64, batch=7, threads=2, rows=1, keep=20,
                       adapt=None if adapt else adaptlib.VERSION, stepper_kind=stepper.GROWING)
    assert other.decompress(blob) == DATA


@pytest.mark.parametrize("threads", [1, 2])
def test_carried_thread_count_restored_from_header(tiny_model_dir, threads):
    import torch

    blob = Compressor(str(tiny_model_dir), context=16, threads=threads, rows=2, keep=7).compress(DATA)
    torch.set_num_threads(3 - threads)
    c = Compressor(str(tiny_model_dir), threads=3 - threads)
    assert c.decompress(blob) == DATA
    assert torch.get_num_threads() == container.read_header(blob)["threads"] == threads


def test_carried_same_weights_from_another_path(tiny_model_dir, tmp_path):
    blob = Compressor(str(tiny_model_dir), context=16, threads=1, rows=2, keep=4).compress(DATA)
    copy = tmp_path / "elsewhere"
    shutil.copytree(tiny_model_dir, copy)
    assert Compressor(str(copy)).decompress(blob, model=str(copy)) == DATA


def test_same_weights_from_another_path(tiny_model_dir, tmp_path):
    blob = Compressor(str(tiny_model_dir), context=16, batch=3, threads=1).compress(DATA)
    copy = tmp_path / "elsewhere"
    shutil.copytree(tiny_model_dir, copy)
    assert Compressor(str(copy)).decompress(blob, model=str(copy)) == DATA


def test_thread_count_restored_from_header(tiny_model_dir):
    import torch

    blob = Compressor(str(tiny_model_dir), context=16, batch=3, threads=1).compress(DATA)
    torch.set_num_threads(2)
    c = Compressor(str(tiny_model_dir), threads=2)
    assert c.decompress(blob) == DATA
    assert torch.get_num_threads() == container.read_header(blob)["threads"] == 1


def test_killed_compression_leaves_input_and_no_output(tiny_model_dir, tmp_path):
    src = tmp_path / "big.txt"
    payload = DATA * 600  # long enough that no machine finishes before the signal (batch 1, context 8)
    src.write_bytes(payload)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "compress", "-m", str(tiny_model_dir), "-q",
                             "--context", "8", "--batch", "1", "--threads", "1", str(src)], env=env,
                            stderr=subprocess.PIPE)
    time.sleep(6)  # past model loading, inside coding (batch 1, context 8: thousands of steps)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "compression finished before it could be killed"
    assert src.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_interrupted_compression_exits_1_and_writes_nothing(tiny_model_dir, tmp_path):
    src = tmp_path / "big.txt"
    src.write_bytes(DATA * 600)  # long enough that no machine finishes before the signal
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    # a shell without job control starts background jobs with SIGINT ignored, and Python keeps an
    # inherited SIG_IGN; the test is about lmcompress's handling, so give the child the default
    proc = subprocess.Popen([sys.executable, "-m", "compress", "-m", str(tiny_model_dir), "-q",
                             "--context", "8", "--batch", "1", "--threads", "1", str(src)], env=env,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert err.decode().strip() == "lmcompress: interrupted; no output written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_corrupt_adapter_is_detected_by_its_sha256(tiny_model_dir, tmp_path):
    import json

    import pytest
    from peft import LoraConfig, get_peft_model

    from compress.core import models
    from compress.core.errors import ModelLoadError

    base, _ = models.load_base(str(tiny_model_dir))
    base_sha = models.sha256_parameters(base)
    peft_model = get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    ckpt = tmp_path / "ckpt"
    peft_model.save_pretrained(ckpt)
    weights = ckpt / models.ADAPTER_WEIGHTS
    (ckpt / models.MANIFEST_NAME).write_text(json.dumps({
        "format": "lmcompress-checkpoint/1",
        "base_model": {"id": str(tiny_model_dir), "sha256": base_sha},
        "adapter_sha256": models.sha256_file(weights),
    }))
    assert models.load(str(ckpt)).adapter_sha256 == models.sha256_file(weights)
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x01  # one flipped bit inside a LoRA weight
    weights.write_bytes(bytes(raw))
    with pytest.raises(ModelLoadError, match="corrupt"):
        models.load(str(ckpt))


@pytest.mark.parametrize("preset", [None, "AVX2"])
def test_engine_import_pins_the_mkl_branch_by_instruction_set(preset):
    """MKL's vendor-dependent default moved the bits on an AMD machine (compress/core/determinism.py):
    importing the engine pins MKL_CBWR from the instruction set, and keeps a value the user set."""
    import torch

    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    if preset is not None:
        env["MKL_CBWR"] = preset
    code = "import os, compress.core.engine; print(os.environ.get('MKL_CBWR'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    expected = preset or {"AVX512": "AVX512", "AVX2": "AVX2"}.get(torch.backends.cpu.get_cpu_capability(), "None")
    assert out.stdout.strip() == expected
