#!/usr/bin/env python
"""The design card's training command: `accelerate launch train/lora.py recipe=medal`.

    accelerate launch train/lora.py recipe=medal                      # paper scale (GPUs)
    accelerate launch --cpu train/lora.py recipe=medal hardware=cpu data.path=../shared/data/text/medical.txt
    python train/lora.py recipe=pile_of_law hardware=cpu train.max_steps=200 run=legal-200

The work is train/trainer.py's (LoRA on a pretrained base, or with model.init=scratch a byte model
trained from scratch); `lmcompress-train` is the same command, installed.
"""

from train.trainer import command

if __name__ == "__main__":
    command()
