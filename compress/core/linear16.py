"""The `bf16-linear` dtype: a float32 model whose linear layers multiply in bfloat16.

Why: a coding step feeds one token per row, so at the 16 rows of a default text container the
linear layers are bound by reading the weights, and AMX multiplies half-width weights about twice
as fast as float32 ones (the 2-core Xeon, SmolLM2-135M, 16 rows, a scratch timing of the lean step:
71 -> 47 ms per step at 64 cached positions, 157 -> 127 ms at 1,500; with AVX512-BF16 alone the
linear layers gain less, but still enough on an AMD EPYC without AMX for it to be the default
there too). Whole compressions: bench/results/engine_dtype_alice29.json (AMX),
engine_dtype_alice29_epyc_bf16.json (AVX512-BF16); the step's parts: profile_step_keep1500_*.json.
Everything whose precision the code length feels stays float32: the embeddings, the residual
stream, the RMSNorms (which already round-trip through float32), the rotary embedding, attention
and its KV cache, the logits' softmax. Only each nn.Linear's weight is stored as bfloat16 and its
input rounded to bfloat16 before the product (float32 accumulation); the output returns to float32. On the whole
of alice29 the scoring pass's ideal code length moves by +17 bits of 158,845 (+0.01%), where a
whole-bfloat16 model costs +69 bits (+0.04%) and runs its residual stream in 8-bit mantissas.

It is a dtype of the format, like float32: recorded in the header ("dtype"), applied
identically by the encoder, the decoder and the scoring pass (the same modules run in every
forward), and it changes the bits, so a container only decodes with the dtype it names. The base
model's identity hash is taken before the conversion, over the float32 weights it is loaded in.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

NAME = "bf16-linear"


class Bf16Linear(torch.nn.Module):
    """nn.Linear with a bfloat16 weight (and bias): input rounded to bfloat16, output float32."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
        bias = linear.bias
        self.bias = None if bias is None else torch.nn.Parameter(bias.detach().to(torch.bfloat16),
                                                                 requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bfloat16"


def convert(model: torch.nn.Module) -> torch.nn.Module:
    """Replace every nn.Linear of a float32 `model` in place by a Bf16Linear (the LM head too,
    even when it shares its weight with the embeddings, which stay float32); returns `model`."""
    if any(p.dtype != torch.float32 for p in model.parameters()):
        raise ValueError(f"{NAME} converts a float32 model; this one has other dtypes")
    targets = [(name, module) for name, module in model.named_modules()
               if type(module) is torch.nn.Linear]
    for name, module in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, Bf16Linear(module))
    return model


# The kernel families that multiply bfloat16 in hardware (what `cpu_kernel` names, `emulated`
# aside), each with the oneDNN instruction set it is: the engine's default dtype follows the keys
# (compress/core/engine.py default_dtype), the determinism pin caps oneDNN at the value
# (compress/core/determinism.py pin_onednn_isa).
HARDWARE_KERNELS = {"amx": "AVX512_CORE_AMX", "avx512-bf16": "AVX512_CORE_BF16"}


def cpu_kernel() -> str:
    """Which kernels multiply bfloat16 on this CPU (they round differently, so a container coded
    with one decodes only with the same): `amx`, `avx512-bf16`, else `emulated`; a user's cap on
    oneDNN's instruction set (ONEDNN_MAX_CPU_ISA below AMX) counts."""
    cpu = torch.cpu
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    uncapped = cap in ("ALL", "DEFAULT", "")
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)() and (uncapped or "AMX" in cap):
        return "amx"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)() and (
            uncapped or "AMX" in cap or "BF16" in cap or cap.startswith("AVX10")):
        return "avx512-bf16"
    return "emulated"


def converted(model: torch.nn.Module) -> bool:
    """Whether `model` runs its linear layers through Bf16Linear (at least one, no nn.Linear left)."""
    kinds = {type(m) for m in model.modules()}
    return Bf16Linear in kinds and torch.nn.Linear not in kinds
