"""Run by tests/test_scaleout.py under torchrun with 2 gloo processes: place the tiny model with
train/placement.py and report what each rank did.

On every rank but 0, anything that would read the base model's weights (compress.core.models.load_base,
transformers' from_pretrained) is replaced by a function that raises, so the run fails if a
non-zero rank ever materialises the weights itself; PLACEMENT_CHECK=1 then makes every rank hash
what it ended up with and compare it with rank 0's.
"""

import json
import os
import sys
from pathlib import Path

from train.process_exit import exit_process

ROOT = Path(__file__).resolve().parent.parent


def forbid(what):
    def refuse(*args, **kwargs):
        raise AssertionError(f"rank {os.environ['RANK']} tried to read the weights: {what}")
    return refuse


def main(model_dir: str, out_dir: str) -> None:
    import torch
    from accelerate import Accelerator

    from compress.core import models
    from train import placement

    if os.environ["RANK"] != "0":
        from transformers import AutoModelForCausalLM

        models.load_base = forbid("compress.core.models.load_base")
        AutoModelForCausalLM.from_pretrained = forbid("AutoModelForCausalLM.from_pretrained")
    accelerator = Accelerator(cpu=True)
    torch.set_num_threads(1)
    placed = placement.load_base(model_dir, "float32", accelerator)
    tied = placed.model.get_output_embeddings().weight is placed.model.get_input_embeddings().weight
    report = {"rank": accelerator.process_index, "world": accelerator.num_processes, "how": placed.how,
              "base_sha256": placed.base_sha256, "placed_sha256": models.sha256_parameters(placed.model),
              "devices": sorted({str(t.device) for t in placed.model.state_dict().values()}),
              "tied": tied}
    Path(out_dir, f"rank{accelerator.process_index}.json").write_text(json.dumps(report))
    accelerator.wait_for_everyone()
    accelerator.end_training()  # as the trainer does (Trainer.finish): the gloo group goes down here


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    exit_process(0)  # as the real commands leave a torchrun rank: see train/process_exit.py
