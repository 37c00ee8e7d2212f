#!/usr/bin/env python
"""Evaluate a checkpoint (or the base model) on its recipe's held-out test bytes.

    accelerate launch -m evaluation.evaluate recipe=medal checkpoint=checkpoints/medal/RUN [hardware=cpu]
    python -m evaluation.evaluate recipe=medal hardware=cpu checkpoint=null data.path=FILE
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 -m evaluation.evaluate ...

Why this exists: training reports validation bits per byte from the fast scoring pass; what a user
gets is a container. This measures both on bytes the model never saw, the test part of the split
(train/split.py), rebuilt with the trainer's own config (recipes/config.yaml), corpus loader and
split function. With a checkpoint, its manifest's split record names the test bytes and their
sha256; a corpus that does not reproduce them is refused (one line), so a number can never come
from the wrong data.

Reported: (a) bits per byte of the fast scoring pass (compress.core.scoring), (b) the real round trip:
compress with compress.core.engine.Compressor, decompress, byte-exact check, container bytes, ratio,
bits per byte and throughput. The test bytes are cut into fixed-size shards at document boundaries
(`shard_plan`), a list that does not depend on the number of processes; process r takes shards
r, r+W, r+2W, ... (`assign`), results are gathered on the main process and summed in shard order.
So 1 or N processes give the same totals by construction (with the same eval.threads: the logits,
hence the bits, depend on torch's thread count). Any key of recipes/config.yaml can be overridden;
evaluation's own keys, with their defaults, are in recipes/evaluate/default.yaml: eval.test_bytes,
eval.roundtrip_bytes, eval.shard_bytes, eval.context, eval.coder_batch, eval.threads, eval.output,
test.*, checkpoint and curve (curve=true: see evaluation/curves.py).

Cross-corpus testing (the paper fine-tunes on LibriSpeech and tests on LJSpeech): `test.path=` or
`test.hub.*` (recipes/evaluate/default.yaml; recipe=ljspeech sets it) names a corpus other than the training
one, read whole up to eval.test_bytes (else split.total_bytes) with the training modality and front
end. The split still gives the validation bytes; the JSON then reports `validation` (the split's
validation part) and the test corpus (`test.source` names it; `scoring`/`roundtrip` at the top level
are the test's, as without a test source) separately.
"""

from __future__ import annotations

import os
from typing import NoReturn

from compress.core.errors import LMCompressError
from compress.fileio import write_json
from evaluation import curves, measure
from train.process_exit import exit_process

PROG = "lmcompress-eval"
USAGE = """usage: accelerate launch -m evaluation.evaluate recipe=NAME [checkpoint=DIR|null] [key=value ...]
       python -m evaluation.evaluate recipe=NAME hardware=cpu checkpoint=DIR [curve=true]

keys: checkpoint=DIR (null = the base model.id) data.path=FILE|DIR|GLOB eval.test_bytes=N
      eval.roundtrip_bytes=N (0 = scoring only) eval.shard_bytes=N eval.coder_batch=N
      eval.threads=N eval.output=FILE.json curve=true  (recipes/evaluate/default.yaml; and every
      key of recipes/config.yaml)
      test.path=FILE|DIR|GLOB or test.hub.id=... : test on another corpus (validation kept apart)
"""


def run(cfg) -> dict | None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cfg.curve:
        return curves.run(cfg)
    result = measure.evaluate(cfg, state=measure.process_state())
    if result is None:
        return None
    path = measure.output_path(cfg, result)
    write_json(path, result)
    print(measure.describe(result))
    print(f"wrote {path}")
    if "roundtrip" in result and not result["roundtrip"]["verified"]:
        raise LMCompressError(f"round trip FAILED for shards {result['roundtrip']['failed_shards']}")
    v = result.get("validation") or {}
    if "roundtrip" in v and not v["roundtrip"]["verified"]:
        raise LMCompressError(f"validation round trip FAILED for shards {v['roundtrip']['failed_shards']}")
    return result


def main(argv: list[str] | None = None) -> int:
    from train import config as config_mod

    return config_mod.run_command(PROG, USAGE, _run_in_group, argv)


def _run_in_group(cfg) -> None:
    try:
        run(cfg)
    finally:
        _close_process_group()


def _close_process_group() -> None:
    """Leave the torch.distributed group together. A rank that just exits while another is still
    writing results tears gloo's threads down at interpreter exit, which was seen to abort
    ("terminate called without an active exception") under load."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def command() -> NoReturn:
    """The installed `lmcompress-eval`: main(), then the exit a torchrun rank needs (train/process_exit.py)."""
    exit_process(main())


if __name__ == "__main__":
    command()
