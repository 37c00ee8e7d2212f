"""Run by tests/test_scaleout.py under torchrun with 2 gloo processes: FSDP2 (torch's fully_shard)
on the CPU, without accelerate, which enables FSDP only for GPU launches.

It checks the save path train/trainer.py takes under FSDP: a LoRA model sharded over 2 ranks takes one
optimizer step, the full state dict is gathered on rank 0 the way accelerate's `get_state_dict`
does for FSDP2 (torch's get_model_state_dict, full_state_dict + cpu_offload), and
train/checkpoint.save_adapter writes the adapter from it. Rank 0 also keeps an unsharded copy that
takes the same step; the saved adapter must equal that copy's.
"""

import copy
import json
import os
import sys
from pathlib import Path

from train.process_exit import exit_process

ROOT = Path(__file__).resolve().parent.parent


def main(model_dir: str, out_dir: str) -> None:
    import torch
    import torch.distributed as dist
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors.torch import load_file
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from compress.core import models
    from train import checkpoint

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base, _ = models.load_base(model_dir)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                            target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    with torch.no_grad():  # lora_B starts at zero; make the step move every adapter tensor
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    reference = copy.deepcopy(model)
    before = {k: v.detach().clone() for k, v in get_peft_model_state_dict(reference).items()}
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    for layer in model.base_model.model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    ids = torch.randint(0, 200, (2, 16), generator=torch.Generator().manual_seed(1))  # same batch on both ranks
    for net in (model, reference):
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=0.5)
        net(input_ids=ids, labels=ids).loss.backward()
        opt.step()
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    report = {"rank": rank, "full_keys": len(full)}
    if rank == 0:
        path = checkpoint.save_adapter(model, Path(out_dir), "base", state_dict=full)
        saved = load_file(str(path))
        want = get_peft_model_state_dict(reference)
        report["saved_keys"] = sorted(saved)
        report["want_keys"] = sorted(want)
        report["max_diff"] = max(float((saved[k] - want[k]).abs().max()) for k in want)
        report["all_moved"] = all(float((saved[k] - before[k]).abs().max()) > 1e-6 for k in want)
    Path(out_dir, f"fsdp{rank}.json").write_text(json.dumps(report))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main(sys.argv[1], sys.argv[2])
    exit_process(0)  # as the real commands leave a torchrun rank: see train/process_exit.py
