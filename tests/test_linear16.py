"""The bf16-linear dtype (compress/core/linear16.py): a float32 model whose linear layers multiply in
bfloat16, the default for text where the hardware multiplies bfloat16 natively.

Pinned here: the conversion (every nn.Linear, nothing else), that it really changes the numbers
(so the dtype must be, and is, recorded), the lean one-token step staying bit-identical to
transformers' forward through the converted modules, exact round trips and the header's record,
the refusal of a container whose dtype is not the loaded model's, and the default's rule
(hardware, device, media front ends). tests/test_golden.py pins its bits (text-bf16-linear.lmc).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from compress.core import container, engine, linear16
from compress.core.engine import Compressor, default_dtype
from compress.core.errors import ChecksumError, InputError
from test_llamastep import _llama, _same_logits


def test_every_linear_layer_is_converted_and_nothing_else():
    model = _llama(bias=True, seed=2)
    linears = sum(type(m) is torch.nn.Linear for m in model.modules())
    embed = model.model.embed_tokens.weight.clone()
    linear16.convert(model)
    converted = [m for m in model.modules() if isinstance(m, linear16.Bf16Linear)]
    assert len(converted) == linears and linear16.converted(model)
    assert all(m.weight.dtype == torch.bfloat16 for m in converted)
    biases = [m.bias for m in converted if m.bias is not None]  # the projections' (not the head's)
    assert len(biases) == len(converted) - 1 and all(b.dtype == torch.bfloat16 for b in biases)
    assert model.model.embed_tokens.weight.dtype == torch.float32
    assert torch.equal(model.model.embed_tokens.weight, embed)


def test_norms_and_embeddings_stay_float32():
    model = linear16.convert(_llama(seed=4))
    for name, param in model.named_parameters():
        want = torch.bfloat16 if "proj" in name or "lm_head" in name else torch.float32
        assert param.dtype == want, name


def test_only_float32_models_are_converted():
    with pytest.raises(ValueError, match="converts a float32 model"):
        linear16.convert(_llama().to(torch.bfloat16))


def test_a_model_that_cannot_be_converted_is_one_readable_error(tiny_model_dir, monkeypatch):
    from compress.core import models
    from compress.core.errors import ModelLoadError

    real = models.load_base

    def half_precision_base(*args, **kwargs):  # a base that comes back in float16 whatever was asked
        model, tokenizer = real(*args, **kwargs)
        return model.half(), tokenizer

    monkeypatch.setattr(models, "load_base", half_precision_base)
    with pytest.raises(ModelLoadError, match="cannot use .* in bf16-linear: bf16-linear converts a float32 model"):
        models.load(str(tiny_model_dir), dtype="bf16-linear")


def test_it_changes_the_numbers_a_little():
    """Close to float32 but not equal: the dtype changes the bits, which is why it is recorded."""
    model = _llama(seed=5)
    ids = torch.randint(0, model.config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before = model(input_ids=ids).logits
        after = linear16.convert(model)(input_ids=ids).logits
    assert after.dtype == torch.float32
    assert not torch.equal(before, after)
    assert torch.allclose(before, after, atol=0.05, rtol=0)


@pytest.mark.parametrize("rows", [1, 3])
def test_lean_step_stays_bit_identical(rows):
    _same_logits(linear16.convert(_llama(seed=6)), rows)


@pytest.fixture(scope="module")
def bf16_compressor(tiny_model_dir):
    return Compressor(str(tiny_model_dir), context=16, threads=1, rows=2, keep=4, dtype="bf16-linear",
                      allow_stored=False)


@settings(max_examples=8, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_round_trip(bf16_compressor, data):
    blob = bf16_compressor.compress(data)
    assert bf16_compressor.decompress(blob) == data


def test_header_records_it_and_decoding_loads_it(bf16_compressor, tiny_model_dir):
    data = b"The Commission shall adopt implementing acts. " * 3
    blob = bf16_compressor.compress(data)
    assert container.read_header(blob)["dtype"] == "bf16-linear"
    fresh = Compressor(str(tiny_model_dir), dtype="float32")  # decoding follows the header
    assert fresh.decompress(blob) == data
    assert linear16.converted(fresh.loaded(dtype="bf16-linear").model)
    assert not linear16.converted(fresh.loaded(dtype="float32").model)


def test_a_forged_dtype_never_returns_wrong_bytes(bf16_compressor):
    data = b"Patients with diabetes were treated with insulin. " * 3
    opened = container.unpack(bf16_compressor.compress(data))
    forged = container.pack({**opened.header, "dtype": "float32"}, opened.streams)
    with pytest.raises(ChecksumError):
        bf16_compressor.decompress(forged)


def test_the_encoder_refuses_a_model_in_another_dtype(bf16_compressor, tiny_model_dir):
    blob = bf16_compressor.compress(b"The quick brown fox jumps over the lazy dog.")
    float32 = Compressor(str(tiny_model_dir), dtype="float32").loaded()
    with pytest.raises(InputError, match="dtype mismatch: the container was coded in bf16-linear"):
        bf16_compressor.check_decodable(blob, float32)


def test_default_and_device_kind_follow_the_hardware(monkeypatch):
    """bf16-linear by default only where the hardware multiplies bfloat16 (AMX, AVX512-BF16); the
    device kind names the kernels, which round differently (a container says where it decodes)."""
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    for flag in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, flag, lambda: False)
    assert default_dtype("cpu") == "float32" and default_dtype("cuda:0") == "float32"
    assert engine.device_kind("cpu", "bf16-linear").endswith("+emulated")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert default_dtype("cpu") == "bf16-linear" and default_dtype("cuda:0") == "float32"
    assert engine.device_kind("cpu", "bf16-linear").endswith("+avx512-bf16")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert default_dtype("cpu") == "bf16-linear"
    assert engine.device_kind("cpu", "bf16-linear").endswith("+amx")
    assert engine.device_kind("cpu", "float32") == engine.device_kind("cpu")
    assert "+" not in engine.device_kind("cpu")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")  # a user's cap below AMX counts
    assert linear16.cpu_kernel() == "avx512-bf16" and default_dtype("cpu") == "bf16-linear"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # no bfloat16 hardware left: float32
    assert linear16.cpu_kernel() == "emulated" and default_dtype("cpu") == "float32"


def test_a_container_from_other_kernels_warns(bf16_compressor, monkeypatch):
    blob = bf16_compressor.compress(b"The Commission shall adopt implementing acts.")
    header = container.read_header(blob)
    assert header["device"] == engine.device_kind("cpu", "bf16-linear")
    assert bf16_compressor.warnings_for(header) == []
    other = "avx512-bf16" if linear16.cpu_kernel() == "amx" else "amx"  # not this CPU's kernels
    monkeypatch.setattr(linear16, "cpu_kernel", lambda: other)
    assert any("decoding on cpu:" in w and w.endswith(f"+{other}") for w in bf16_compressor.warnings_for(header))


def test_text_gets_the_default_and_media_keep_float32(tiny_model_dir):
    from compress.core import frontends

    c = Compressor(str(tiny_model_dir))
    assert c.dtype == engine.AUTO
    assert c.dtype_for(frontends.get("text")) == default_dtype("cpu")
    for modality in ("image", "audio", "video"):
        assert c.dtype_for(frontends.get(modality)) == "float32"
    assert Compressor(str(tiny_model_dir), dtype="float32").dtype_for(frontends.get("text")) == "float32"
    with pytest.raises(InputError, match="unknown dtype 'float8'"):
        Compressor(str(tiny_model_dir), dtype="float8")


@pytest.mark.parametrize("kernel,cap", [("amx", "AVX512_CORE_AMX"), ("avx512-bf16", "AVX512_CORE_BF16"),
                                        ("emulated", None)])
def test_onednn_is_capped_at_the_cpus_bfloat16_kernels(monkeypatch, kernel, cap):
    """A later processor's newer kernels must not move a bf16-linear container's bits: importing the
    engine caps oneDNN at the kernel family the device kind names; a user's own cap is kept."""
    from compress.core import determinism

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(linear16, "cpu_kernel", lambda: kernel)
    assert determinism.pin_onednn_isa() == cap
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert determinism.pin_onednn_isa() == "AVX2"
