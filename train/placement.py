"""The base model's weights read once per launch, not once per process.

Why: `accelerate launch` on 8 GPUs starts 8 processes. If each called `from_pretrained` on the CPU,
LLaMA3-8B would sit in host memory 8 times before any of it reached a GPU (8 x 16 GB in bf16; a
GGUF base is even dequantized in full in every process). Here only the main process reads the
weights (and hashes them for the manifest); every other process builds the architecture on the
meta device, which allocates no storage, and receives the tensors:

- DDP, and the gloo runs on a CPU: `to_empty` on the process's device, then one broadcast per
  tensor from rank 0 (parameters and every buffer, the non-persistent rotary tables included);
- FSDP with `fsdp_cpu_ram_efficient_loading: true` (accelerate_config_fsdp.yaml): the parameters
  stay on meta and accelerate's FSDP2 `prepare` shards rank 0's full state dict out to the ranks
  (`fsdp2_load_full_state_dict`); only the non-persistent buffers, which that path takes from each
  rank's own module, are broadcast here.

transformers 5.x has no rank-0-only path of its own for this (its FSDP branch still allocates
every parameter on every rank: huggingface/transformers#43749), so the decision is made here, from
accelerate's launch environment. `PLACEMENT_CHECK=1` in the environment makes every rank hash its
placed weights and compare them with rank 0's (slow on a big model; the tests use it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from compress.core import models
from train.errors import ConfigError

READ = "read from disk"
BROADCAST = "built on meta, tensors broadcast from rank 0"
FSDP_META = "built on meta, parameters left for FSDP to shard from rank 0"


@dataclass
class Placed:
    model: torch.nn.Module
    tokenizer: object
    base_sha256: str | None  # the main process's hash of the weights as read (None elsewhere)
    how: str  # READ, BROADCAST or FSDP_META


def fsdp_enabled() -> bool:
    """accelerate launch --config_file accelerate_config_fsdp.yaml (or --use_fsdp) exports this."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() in ("1", "true", "yes")


def fsdp_ram_efficient() -> bool:
    return os.environ.get("FSDP_CPU_RAM_EFFICIENT_LOADING", "false").lower() in ("1", "true", "yes")


def plan(*, is_main: bool, world: int, fsdp: bool, ram_efficient: bool) -> str:
    """How this process gets the base weights (see the module docstring)."""
    if world == 1 or is_main:
        return READ
    if fsdp and not ram_efficient:  # FSDP without it wraps real modules on every rank
        return READ
    return FSDP_META if fsdp else BROADCAST


def empty_base(spec: str, dtype: str) -> torch.nn.Module:
    """The base model's architecture on the meta device: config only, no weights read or allocated."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = models.from_pretrained(AutoConfig, spec)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=models.DTYPES[dtype])
    model.eval()
    return model


def _state(model: torch.nn.Module, *, buffers_only: bool = False) -> list[tuple[str, torch.Tensor]]:
    """Every tensor that defines the model, once each (tied weights once), in a fixed order."""
    persistent = set(model.state_dict())
    items = [] if buffers_only else list(model.named_parameters())
    items += [(n, b) for n, b in model.named_buffers() if not buffers_only or n not in persistent]
    return sorted(items, key=lambda kv: kv[0])


def _agree(model, items) -> None:
    """Refuse to broadcast into a module whose tensors differ from rank 0's (names, shapes, dtypes)."""
    from accelerate.utils import broadcast_object_list

    mine = [(n, tuple(t.shape), str(t.dtype)) for n, t in items]
    theirs = [mine]
    broadcast_object_list(theirs, from_process=0)
    if theirs[0] != mine:
        diff = next((a, b) for a, b in zip(theirs[0] + [None], mine + [None], strict=False) if a != b)
        raise ConfigError(f"base model built on this process differs from rank 0's: {diff[1]} vs {diff[0]}")


def broadcast_weights(model: torch.nn.Module, device: torch.device, *, is_main: bool) -> torch.nn.Module:
    """Put the model on `device` with rank 0's values: rank 0 moves its own, the others allocate
    empty storage there and receive every tensor."""
    import torch.distributed as dist

    if is_main:
        model.to(device)
    else:
        model.to_empty(device=device)
        if hasattr(model, "tie_weights"):
            model.tie_weights()  # to_empty gave tied weights separate storage
    items = _state(model)
    _agree(model, items)
    with torch.no_grad():
        for _, tensor in items:
            dist.broadcast(tensor, src=0)
    return model


def broadcast_nonpersistent_buffers(model: torch.nn.Module, device: torch.device, *, is_main: bool) -> None:
    """Give a meta module rank 0's non-persistent buffers (FSDP2 reads them from each rank)."""
    import torch.distributed as dist

    items = _state(model, buffers_only=True)
    _agree(model, items)
    for name, buf in items:
        owner, _, leaf = name.rpartition(".")
        module = model.get_submodule(owner) if owner else model
        value = buf.to(device) if is_main else torch.empty_like(buf, device=device)
        dist.broadcast(value, src=0)
        if not is_main:
            module.register_buffer(leaf, value, persistent=False)


def load_base(spec: str, dtype: str, accelerator) -> Placed:
    """The base model for this process, placed as its plan says; tokenizer from the spec."""
    how = plan(is_main=accelerator.is_main_process, world=accelerator.num_processes,
               fsdp=fsdp_enabled(), ram_efficient=fsdp_ram_efficient())
    if how == READ:
        model, tokenizer = models.load_base(spec, dtype=dtype, device="cpu")
        sha = models.sha256_parameters(model) if accelerator.is_main_process else None
    else:
        model, tokenizer, sha = empty_base(spec, dtype), models.load_tokenizer(spec), None
    if accelerator.num_processes > 1:
        share = plan(is_main=False, world=accelerator.num_processes, fsdp=fsdp_enabled(),
                     ram_efficient=fsdp_ram_efficient())
        if share == BROADCAST:
            broadcast_weights(model, accelerator.device, is_main=accelerator.is_main_process)
        elif share == FSDP_META:
            broadcast_nonpersistent_buffers(model, accelerator.device, is_main=accelerator.is_main_process)
        if share == BROADCAST and os.environ.get("PLACEMENT_CHECK") == "1":
            check_identical(model, accelerator)
    return Placed(model, tokenizer, sha, how)


def check_identical(model: torch.nn.Module, accelerator) -> None:
    """Every rank's placed weights hash to rank 0's (PLACEMENT_CHECK=1; costs a full hash per rank)."""
    from accelerate.utils import gather_object

    hashes = gather_object([models.sha256_parameters(model)])
    if len(set(hashes)) != 1:
        raise ConfigError(f"base weights differ between processes after placement: {hashes}")
