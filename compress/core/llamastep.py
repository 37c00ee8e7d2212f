"""One decode step of a LLaMA-architecture model, without transformers' per-call machinery.

Why: a coding step feeds one token per row, and at that size the Python around the kernels shows.
transformers' forward re-derives the attention mask, merges config defaults, checks deprecated
keywords and dispatches through several wrappers at every one of the 30 layers of SmolLM2-135M,
every step: about 4-6 ms of a 140-200 ms step at 17 rows (paired steps on the 2-core CPU), and
a larger share for the byte models, whose matrices are small (a Kodak crop codes about 10%
faster). bench/engine.py --step-ab measures it on whole compressions.

This module runs the *same tensor operations in the same order on the same shapes*: the
RMSNorm's float32 round trip, the rotary embedding, the KV cache update through the cache layer's
own `update`, SDPA with the packed grouped-query layout and the all-true mask that transformers
hands it for a growing cache (in the additive form SDPA converts it to, made once per step instead
of once per layer), the MLP and the head. So the logits are bit-identical and the format does not
change: the stepper kinds stay defined by transformers' forward at the versions in constraints.txt.

Bit-identity is checked, not assumed: `step_function` runs one scratch step both ways, at the
caller's row count, the first time a (model, rows) pair is used, and returns None (the stepper
keeps transformers' forward) if any logit differs or the model is not a plain LLaMA (a PEFT
LoRA wrapper around one is fine: its layers are called as modules). tests/test_llamastep.py pins
the equality on tiny models and on the real embedded model; the golden containers decode through
this path. `LMCOMPRESS_LEAN_STEP=0` in the environment keeps transformers' forward (for A/B
timing; the bits are the same either way).
"""

from __future__ import annotations

import os
import weakref

import torch
import torch.nn.functional as F

_VERIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {rows: bool}


def _llama(model: torch.nn.Module):
    """The LlamaForCausalLM inside `model` (itself, or a PEFT wrapper's base model), else None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if type(base).__name__ != "LlamaForCausalLM" or not hasattr(base, "model"):
        return None
    config = base.config
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return None  # eager/flex attention run other kernels: keep transformers' forward
    if getattr(config, "pretraining_tp", 1) != 1 or getattr(config, "sliding_window", None):
        return None
    return base


def _rms(norm: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """LlamaRMSNorm.forward, op for op."""
    dtype = x.dtype
    x = x.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + norm.variance_epsilon)
    return norm.weight * x.to(dtype)


def _linear(layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """nn.Linear.forward without the module call; any other layer (a LoRA wrapper) as a module."""
    if type(layer) is torch.nn.Linear:
        return F.linear(x, layer.weight, layer.bias)
    return layer(x)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@torch.inference_mode()
def llama_step(base: torch.nn.Module, cache, ids: torch.Tensor) -> torch.Tensor:
    """Logits [rows, vocab] after feeding `ids` [rows, 1] to `base` (a LlamaForCausalLM) whose KV
    cache `cache` hands attention exactly the positions filled so far (stepper._growing_cache)."""
    inner = base.model
    rows = ids.shape[0]
    hidden = inner.embed_tokens(ids)
    position_ids = (torch.arange(1, device=hidden.device) + cache.get_seq_length()).unsqueeze(0)
    cos, sin = inner.rotary_emb(hidden, position_ids=position_ids)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    mask = None
    for index, layer in enumerate(inner.layers[: inner.config.num_hidden_layers]):
        attn = layer.self_attn
        residual = hidden
        x = _rms(layer.input_layernorm, hidden)
        shape = (rows, 1, -1, attn.head_dim)
        query = _linear(attn.q_proj, x).view(shape).transpose(1, 2)
        key = _linear(attn.k_proj, x).view(shape).transpose(1, 2)
        value = _linear(attn.v_proj, x).view(shape).transpose(1, 2)
        query = (query * cos) + (_rotate_half(query) * sin)
        key = (key * cos) + (_rotate_half(key) * sin)
        keys, values = cache.layers[index].update(key, value)
        if mask is None:  # every layer's cache holds the same positions
            # SDPA turns transformers' all-true boolean mask into this additive one (0 where
            # attended) at every call; made once per step it is the same input to the same kernel
            mask = torch.zeros((rows, 1, 1, keys.shape[2]), dtype=query.dtype, device=keys.device)
        groups = attn.num_key_value_groups
        if groups > 1:  # transformers' pack_gqa for one query token
            query = query.reshape(rows, query.shape[1] // groups, groups, query.shape[-1])
        out = F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, dropout_p=0.0,
                                             scale=attn.scaling, is_causal=False)
        out = out.reshape(out.shape[0], -1, 1, values.shape[-1]).transpose(1, 2).contiguous()
        hidden = residual + _linear(attn.o_proj, out.reshape(rows, 1, -1).contiguous())
        residual = hidden
        x = _rms(layer.post_attention_layernorm, hidden)
        mlp = layer.mlp
        hidden = residual + _linear(mlp.down_proj, mlp.act_fn(_linear(mlp.gate_proj, x)) * _linear(mlp.up_proj, x))
    hidden = _rms(inner.norm, hidden)
    return _linear(base.lm_head, hidden)[:, -1, :]


def _verify(base: torch.nn.Module, rows: int, device: str, new_cache, forward) -> bool:
    """One scratch step both ways at `rows` rows, each after the same priming through transformers:
    True if the logits are bit-identical."""
    generator = torch.Generator().manual_seed(rows)
    tokens = torch.randint(0, int(base.config.vocab_size), (rows, 3), generator=generator).to(device)

    def primed_then(step):
        cache = new_cache()
        forward(cache, tokens[:, :2], torch.arange(2, device=device))
        return step(cache)

    plain = primed_then(lambda cache: forward(cache, tokens[:, 2:], torch.tensor([2], device=device)))
    lean = primed_then(lambda cache: llama_step(base, cache, tokens[:, 2:]))
    return torch.equal(plain, lean)


def in_use(model: torch.nn.Module, rows: int) -> bool:
    """Whether a Stepper made now for `model` at `rows` rows steps through the lean replica: the
    switch is on and the replica verified (benchmarks record it beside their timings)."""
    return _switched_on() and _VERIFIED.get(model, {}).get(rows, False)


def _switched_on() -> bool:
    return os.environ.get("LMCOMPRESS_LEAN_STEP", "1") != "0"  # benchmarks' A/B switch


def step_function(model: torch.nn.Module, rows: int, device: str, new_cache, forward):
    """`llama_step` bound to `model`'s LLaMA if it is bit-identical to `forward` (transformers'
    forward through a fresh `new_cache()`) at `rows` rows, else None. Checked once per model and
    row count in a process."""
    if not _switched_on():
        return None
    base = _llama(model)
    if base is None:
        return None
    seen = _VERIFIED.setdefault(model, {})
    if rows not in seen:
        try:
            seen[rows] = _verify(base, rows, device, new_cache, forward)
        except Exception:  # anything unexpected in the replica: transformers' forward stays
            seen[rows] = False
    if not seen[rows]:
        return None
    return lambda cache, ids: llama_step(base, cache, ids)
