"""QLoRA validation on the base the coder will use: the unquantized one.

Why: with model.load_in_4bit=true the adapter trains against an NF4 copy of the base (bitsandbytes),
but `compress.core.models.load` codes with the unquantized base in model.dtype (the manifest pins that
base's sha256) with the adapter merged in. Bits per byte measured on the NF4 base would describe a
model the compressor never runs. So validation runs an unquantized twin: the same base in
model.dtype carrying a LoRA adapter of the same configuration, into which the trained adapter's
weights are copied before every evaluation.

The other choice, coding with the NF4 base recorded in the container header, was not taken: NF4
kernels are CUDA-only and their outputs are not specified bit for bit across GPUs and bitsandbytes
versions, and decoding needs the encoder's probabilities exactly. The price is memory: the twin
keeps a second, unquantized copy of the base on each GPU (LLaMA3-8B in bf16: 16 GB beside the ~5 GB
NF4 copy).
"""

from __future__ import annotations

import torch


def validation_twin(base: torch.nn.Module, lora_config) -> torch.nn.Module:
    """`base` (unquantized, frozen) wrapped in a fresh LoRA adapter of `lora_config`, in eval mode."""
    import copy

    from peft import get_peft_model

    for p in base.parameters():
        p.requires_grad_(False)
    twin = get_peft_model(base, copy.deepcopy(lora_config))
    for p in twin.parameters():
        p.requires_grad_(False)
    twin.eval()
    return twin


@torch.no_grad()
def sync_adapter(trained: torch.nn.Module, twin: torch.nn.Module) -> int:
    """Copy the trained adapter's weights into the twin (cast to the twin's dtypes); returns how
    many tensors were copied. Refuses a twin whose adapter does not have the same tensors."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    state = get_peft_model_state_dict(trained)
    want = get_peft_model_state_dict(twin)
    if set(state) != set(want):
        missing = sorted(set(state) ^ set(want))[:3]
        raise RuntimeError(f"validation twin's adapter differs from the trained one: {missing}")
    device = next(twin.parameters()).device
    result = set_peft_model_state_dict(twin, {k: v.detach().to(device) for k, v in state.items()})
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise RuntimeError(f"validation twin did not take adapter tensors: {unexpected[:3]}")
    return len(state)
