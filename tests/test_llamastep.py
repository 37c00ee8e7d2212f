"""The lean one-token step (compress/core/llamastep.py) gives transformers' logits bit for bit.

Each test drives two Steppers from the same priming, one through the lean replica and one through
transformers' forward (`lean=False`), and requires torch.equal logits at every step: equality, not
closeness, is what keeps the format unchanged. Tiny random LLaMAs cover the shapes that change the
attention call (grouped-query packing or none, biases, one or several rows, re-priming), a PEFT
LoRA wrapper covers the checkpoints' adapters, and the fallbacks are pinned: a non-LLaMA model,
another attention implementation, the environment switch, and a replica that stops agreeing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compress.core import llamastep, stepper


def _llama(heads: int = 4, kv_heads: int = 2, bias: bool = False, seed: int = 0, layers: int = 2):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, attention_bias=bias,
                         mlp_bias=bias, max_position_embeddings=256, attn_implementation="sdpa")
    return LlamaForCausalLM(config).eval()


def _pair(model, rows: int, length: int, kind: str = stepper.CARRIED):
    lean = stepper.Stepper(model, rows, length, kind=kind)
    plain = stepper.Stepper(model, rows, length, kind=kind, lean=False)
    return lean, plain


def _same_logits(model, rows: int, prime: int = 5, steps: int = 12, kind: str = stepper.CARRIED, seed: int = 1):
    vocab = model.config.vocab_size
    tokens = np.random.default_rng(seed).integers(0, vocab, size=(rows, prime + steps))
    lean, plain = _pair(model, rows, prime + steps + 1, kind)
    assert lean.lean and not plain.lean
    if kind == stepper.CARRIED:
        assert torch.equal(lean.prime(tokens[:, :prime]), plain.prime(tokens[:, :prime]))
        start = prime
    else:
        start = 0
    for t in range(start, prime + steps):
        a, b = lean.step(tokens[:, t]), plain.step(tokens[:, t])
        assert a.shape == b.shape == (rows, vocab)
        assert torch.equal(a, b), f"step {t}: max difference {(a - b).abs().max().item()}"
    # a window re-primes mid-stream: the lean steps continue from transformers' new cache
    if kind == stepper.CARRIED:
        assert torch.equal(lean.prime(tokens[:, 2:prime + 2]), plain.prime(tokens[:, 2:prime + 2]))
        for t in range(prime + 2, prime + steps):
            assert torch.equal(lean.step(tokens[:, t]), plain.step(tokens[:, t]))


@pytest.mark.parametrize("heads,kv_heads", [(4, 2), (4, 1), (4, 4)])  # packed GQA, MQA, plain MHA
@pytest.mark.parametrize("rows", [1, 3])
def test_bit_identical_to_transformers(heads, kv_heads, rows):
    _same_logits(_llama(heads, kv_heads), rows)


def test_bit_identical_with_biases_and_growing_kind():
    model = _llama(bias=True, seed=3)
    _same_logits(model, 2)
    _same_logits(model, 2, kind=stepper.GROWING)


def test_static_kind_keeps_transformers_forward():
    st = stepper.Stepper(_llama(), 2, 8, kind=stepper.STATIC)
    assert not st.lean


def test_lora_wrapped_model_is_bit_identical():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(_llama(seed=5), LoraConfig(r=4, lora_alpha=8, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], lora_dropout=0.1))
    with torch.no_grad():  # non-zero B so the adapters change the logits
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    model.eval()
    _same_logits(model, 3)


def test_real_tiny_checkpoint(tmp_path):
    from compress.core import models

    lm = models.load("tests/golden/tiny-llama")
    _same_logits(lm.model, 4, prime=3, steps=20)


def test_other_models_fall_back(monkeypatch):
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2)).eval()
    assert llamastep._llama(gpt2) is None
    eager = _llama()
    eager.config._attn_implementation = "eager"
    assert llamastep._llama(eager) is None
    assert not stepper.Stepper(eager, 2, 8).lean


def test_environment_switch(monkeypatch):
    monkeypatch.setenv("LMCOMPRESS_LEAN_STEP", "0")
    assert not stepper.Stepper(_llama(), 2, 8).lean


def test_a_replica_that_disagrees_is_not_used(monkeypatch):
    model = _llama(seed=7)
    real = llamastep.llama_step

    def off_by_a_bit(base, cache, ids):
        out = real(base, cache, ids)
        return out + torch.finfo(out.dtype).eps * out.abs().max()

    monkeypatch.setattr(llamastep, "llama_step", off_by_a_bit)
    lean, plain = _pair(model, 2, 8)
    assert not lean.lean  # verification caught it: transformers' forward codes
    tokens = np.array([3, 4])
    assert torch.equal(lean.step(tokens), plain.step(tokens))


def test_a_replica_that_raises_is_not_used(monkeypatch):
    def broken(base, cache, ids):
        raise RuntimeError("layout changed")

    monkeypatch.setattr(llamastep, "llama_step", broken)
    assert not stepper.Stepper(_llama(seed=8), 2, 8).lean


@pytest.mark.slow
def test_embedded_model_is_bit_identical_at_coding_shapes():
    """SmolLM2-135M (9 query heads on 3 KV heads) at 17 rows, the default alice29 batch."""
    from compress.core import determinism, models

    determinism.apply(2)
    lm = models.load("smollm2-135m")
    _same_logits(lm.model, 17, prime=40, steps=4)
