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


def exit_without_teardown() -> None:
    """Leave without the interpreter's teardown. The report is written and the group destroyed, yet
    under CPU load a rank could still abort in the C++ teardown after main() returned, with no Python
    frame left ("terminate called without an active exception", SIGABRT; the symptom of
    pytorch/pytorch#190489). Under torchrun beside a busy CPU, with the group destroyed: 6 aborts in
    26 runs; with this exit, 0 in 24. The test checks placement, not torch's teardown; an error in main() still
    exits non-zero, since this runs only after main() returned."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    exit_without_teardown()
