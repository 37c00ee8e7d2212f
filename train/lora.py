#!/usr/bin/env python
"""LoRA fine-tuning of the coder's language model on a domain, with accelerate and hydra recipes.

    accelerate launch train/lora.py recipe=medal                      # paper scale (GPUs)
    accelerate launch --cpu train/lora.py recipe=medal hardware=cpu data.path=../shared/data/text/medical.txt
    python train/lora.py recipe=pile_of_law hardware=cpu train.max_steps=200 run=legal-200

Any key of recipes/config.yaml can be overridden as key=value (Hydra's override grammar). The run
writes `checkpoints/<recipe>/<run>/` (see train/checkpoint.py): the adapter, a manifest that pins
base model, adapter, tokenizer, split and curve, and step-<N>/ checkpoints every train.save_every
steps, from which an interrupted run resumes. Validation bits per byte are computed by
`compress.core.scoring` on the coder's own segmentation, so they are what the compressor would achieve.
Every user error ends as one line `lmcompress-train: <message>` on stderr and exit status 1.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path


from compress.core.errors import LMCompressError
from train import config as config_mod
from train.errors import CheckpointError, ConfigError

PROG = "lmcompress-train"
USAGE = f"""usage: accelerate launch train/lora.py recipe=NAME [hardware=cpu|gpu] [key=value ...]
       python train/lora.py recipe=NAME [key=value ...]

recipes:  {', '.join(config_mod.options('recipe'))}
hardware: {', '.join(config_mod.options('hardware'))}  (default gpu; cpu = smollm2-135m, fp32, small split)
keys:     see recipes/config.yaml, e.g. data.path=FILE|DIR|GLOB train.max_steps=200 run=NAME
          eval.max_bytes=65536 model.load_in_4bit=true train.resume=true train.save_total_limit=3
          log.with=[tensorboard,wandb] log.level=info|warning|error
          print_config=true   print the resolved config and exit (unknown keys are refused)
"""

# the keys a resumed run must share with the checkpoint it continues
RESUME_KEYS = ("context", "model.id", "model.init", "model.arch", "model.dtype", "model.load_in_4bit",
               "lora", "data", "split",
               "train.seed", "train.batch_size", "train.grad_accum")


LIBRARY_LOGGERS = ("bitsandbytes", "transformers", "peft", "datasets", "huggingface_hub", "accelerate",
                   "torch.distributed", "wandb")


def apply_log_level(level: str) -> None:
    """log.level for the libraries' loggers and Python warnings (instead of silencing both always).

    warning (the default) shows each library warning once per place; error keeps stderr for
    progress and errors only; info and debug also show the libraries' info/debug records.
    compress.core.models quiets transformers while it loads a model, so this is applied again after.
    """
    numeric = getattr(logging, level.upper())
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(numeric)
    except ImportError:  # pragma: no cover
        pass
    if numeric >= logging.ERROR:
        for category in (UserWarning, FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
    else:
        warnings.filterwarnings("default" if numeric >= logging.WARNING else "always")


def check_trackers(names: list[str]) -> None:
    """Fail before any loading when a tracker in log.with is not installed."""
    from accelerate.tracking import get_available_trackers

    available = {str(getattr(t, "value", t)) for t in get_available_trackers()}
    for name in names:
        if name != "all" and name not in available:
            raise ConfigError(f"log.with={name} needs the {name} package: pip install {name}")


def _get(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def intra_op_threads(setting, local_processes: int) -> int | None:
    """torch threads per process for train.threads: an int, "auto" or null (torch's default).

    `accelerate launch` exports OMP_NUM_THREADS=1 unless --num_cpu_threads_per_process is given,
    so on a CPU the documented command would train on one core of many; "auto" shares the
    machine's cores among the processes of this node instead.
    """
    if setting is None or setting == "":
        return None
    if str(setting).lower() == "auto":
        return max(1, (os.cpu_count() or 1) // max(1, local_processes))
    try:
        threads = int(setting)
    except (TypeError, ValueError):
        raise ConfigError(f"train.threads must be a positive integer, auto or null, not {setting!r}") from None
    if threads < 1:
        raise ConfigError(f"train.threads must be a positive integer, auto or null, not {setting!r}")
    return threads


# -- model --------------------------------------------------------------------------------------
def load_model(cfg, accelerator):
    """(base model, tokenizer, base sha256 or None off the main process, validation base or None).

    The sha256 is `compress.core.models.sha256_parameters` of the base as `compress.core.models.load` will
    load it at coding time (model.dtype, unquantized), taken on the main process before PEFT wraps
    it. Only the main process reads the weights; the others receive them (train/placement.py).
    With model.load_in_4bit the training copy is NF4 (bitsandbytes, QLoRA), loaded straight onto
    each process's GPU; the unquantized base, placed the same way, is hashed and becomes the
    validation twin's base (train/qlora.py), so validation measures the base the coder uses.
    """
    import torch

    from compress.core import models
    from train import placement

    spec, dtype = cfg.model.id, cfg.model.dtype
    if from_scratch(cfg):
        from compress.core import bytemodel

        from omegaconf import OmegaConf

        arch = OmegaConf.to_container(cfg.model.arch, resolve=True) if cfg.model.get("arch") else {}
        try:
            model = bytemodel.new_model(arch, context=int(cfg.context), seed=int(cfg.train.seed), dtype=dtype)
        except LMCompressError as exc:
            raise ConfigError(str(exc)) from None
        return model, bytemodel.byte_tokenizer(), None, None
    if cfg.model.load_in_4bit and placement.fsdp_enabled():
        raise ConfigError("model.load_in_4bit=true is not supported with FSDP here; use DDP "
                          "(accelerate_config.yaml) or one GPU")
    if cfg.model.load_in_4bit and not torch.cuda.is_available():
        raise ConfigError("model.load_in_4bit=true needs a CUDA GPU (bitsandbytes NF4); drop it on CPU")
    placed = placement.load_base(spec, dtype, accelerator)
    _log_placement(accelerator, placed.how)
    if not cfg.model.load_in_4bit:
        return placed.model, placed.tokenizer, placed.base_sha256, None
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    where, gguf = models._base_location(spec)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=models.DTYPES[dtype])
    model = models._from_pretrained(AutoModelForCausalLM, where, gguf, dtype=models.DTYPES[dtype],
                                    quantization_config=quant,
                                    device_map={"": accelerator.local_process_index})
    return model, placed.tokenizer, placed.base_sha256, placed.model.to(accelerator.device)


def _log_placement(accelerator, how: str) -> None:
    """One line per process saying where its base weights came from (the 2-process test reads it)."""
    print(f"placement: rank {accelerator.process_index}/{accelerator.num_processes}: base {how}",
          file=sys.stderr, flush=True)


def from_scratch(cfg) -> bool:
    """model.init=scratch: a new byte-level model (compress.core.bytemodel), every weight trained."""
    return str(cfg.model.get("init", "pretrained")) == "scratch"


def prepare_model(model, cfg):
    """LoRA on the pretrained base, or the whole freshly initialised byte model in train mode."""
    if not from_scratch(cfg):
        return wrap_lora(model, cfg)
    if cfg.model.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.config.use_cache = False
    model.train()
    return model


def wrap_lora(model, cfg):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.model.load_in_4bit:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=bool(cfg.model.gradient_checkpointing))
    elif cfg.model.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model.config.use_cache = False
    lora = LoraConfig(r=int(cfg.lora.r), lora_alpha=int(cfg.lora.alpha), lora_dropout=float(cfg.lora.dropout),
                      target_modules=list(cfg.lora.target_modules), bias="none", task_type="CAUSAL_LM")
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"cannot apply LoRA to {cfg.model.id}: {str(exc).splitlines()[0]}") from None
    model.train()
    return model


# -- run directory ------------------------------------------------------------------------------
def resolve_run(cfg, num_processes: int) -> tuple[Path, list]:
    """(run dir, existing step checkpoints), the run name agreed between processes."""
    from accelerate.utils import broadcast_object_list

    from train import checkpoint

    name = [cfg.run or time.strftime("%Y%m%d-%H%M%S", time.gmtime())]
    if num_processes > 1:
        broadcast_object_list(name, from_process=0)
    run_dir = Path(cfg.checkpoints_dir) / cfg.name / name[0]
    steps = checkpoint.step_checkpoints(run_dir)
    mode = str(cfg.train.resume).lower()
    if mode == "true" and not steps:
        raise CheckpointError(f"train.resume=true but {run_dir} has no step checkpoint to resume from")
    if not steps and (run_dir / "manifest.json").exists():
        raise CheckpointError(f"{run_dir} holds a finished checkpoint but no step checkpoint to resume "
                              "from; choose another run=NAME")
    if mode == "false" and steps:
        raise CheckpointError(f"{run_dir} already holds checkpoints; pass train.resume=true to continue "
                              "it or choose another run=NAME")
    return run_dir, steps


def check_resumable(cfg_dict: dict, manifest: dict, world: int, split_record: dict) -> None:
    saved = manifest.get("recipe", {})
    for key in RESUME_KEYS:
        if _get(saved, key) != _get(cfg_dict, key):
            raise CheckpointError(f"cannot resume: {key} was {_get(saved, key)!r} in the checkpoint, "
                                  f"now {_get(cfg_dict, key)!r} (start a new run=NAME instead)")
    if manifest.get("num_processes", world) != world:
        raise CheckpointError(f"cannot resume: the checkpoint was trained on {manifest.get('num_processes')} "
                              f"processes, this launch has {world} (the data order depends on it)")
    for part in ("train", "validation"):
        if manifest["split"][part]["sha256"] != split_record[part]["sha256"]:
            raise CheckpointError(f"cannot resume: the {part} data differs from the checkpoint's")


# -- training -----------------------------------------------------------------------------------
def train(cfg) -> dict:
    """Run one training job described by a composed config; returns a summary dict."""
    apply_log_level(str(cfg.log.level))
    if config_mod.is_main_process():  # the resolved config, as torchtune and axolotl print it
        print(f"resolved config:\n{config_mod.to_yaml(cfg)}", end="", flush=True)
    import hashlib

    import torch
    from accelerate import Accelerator, DataLoaderConfiguration, PartialState
    from accelerate.utils import ProjectConfiguration, set_seed

    from compress.core import engine
    from compress.core.scoring import score_segments
    from train import checkpoint, corpus, data, modelcard, split

    if cfg.data.get("path"):
        from train.corpus import absolute_paths

        cfg.data.path = absolute_paths(cfg.data.path)  # the manifest must name it from anywhere
    cfg_dict = config_mod.to_dict(cfg)
    trackers = [str(t) for t in cfg.log["with"]]
    check_trackers(trackers)

    # torch.distributed comes up first (PartialState): the run name, a timestamp by default, is
    # broadcast from the main process, and the tracker's logging dir needs it. Without CUDA (or with
    # ACCELERATE_USE_CPU) run on the CPU; cpu=True also makes processes started by torchrun or
    # `accelerate launch --multi_gpu` on a CPU-only machine join one gloo group instead of each
    # training alone (accelerate's own --cpu launcher starts a single process).
    from accelerate.utils import parse_flag_from_env

    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    run_dir, steps = resolve_run(cfg, PartialState(cpu=cpu).num_processes)
    accelerator = Accelerator(
        cpu=cpu,
        mixed_precision=cfg.train.mixed_precision,
        gradient_accumulation_steps=int(cfg.train.grad_accum),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=int(cfg.train.seed)),
        log_with=trackers or None,
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir / "tensorboard")),
    )
    main = accelerator.is_main_process
    world = accelerator.num_processes
    from accelerate.utils import DistributedType

    fsdp = accelerator.distributed_type == DistributedType.FSDP
    if fsdp and from_scratch(cfg):
        raise ConfigError("model.init=scratch trains small byte models: use DDP (accelerate_config.yaml), not FSDP")
    set_seed(int(cfg.train.seed))
    threads = intra_op_threads(cfg.train.get("threads"), int(os.environ.get("LOCAL_WORLD_SIZE", world)))
    if threads:
        torch.set_num_threads(threads)

    # data: corpus -> split (fails fast, before any model is loaded)
    limit = int(cfg.split.total_bytes)
    if cfg.data.get("path"):
        built = corpus.load(cfg.data, limit)
    else:
        with accelerator.main_process_first():  # the main process streams and caches it once
            built = corpus.load(cfg.data, limit)
    record = split.make_record(built.data, built.ends, train_bytes=int(cfg.split.train_bytes),
                               val_bytes=int(cfg.split.val_bytes), total_bytes=limit, source=built.source)
    resume_from = steps[-1] if steps else None
    if resume_from is not None:
        from compress.core.models import read_manifest

        saved = read_manifest(resume_from[1])
        check_resumable(cfg_dict, saved, world, record)

    # model, symbolizer, segments
    base, tokenizer, base_sha, validation_base = load_model(cfg, accelerator)
    apply_log_level(str(cfg.log.level))  # compress.core.models quiets transformers while loading
    vocab = engine.model_vocab(base)
    prefix = engine.prefix_token(tokenizer)
    symbolizer = data.symbolizer_for(cfg.data.modality, tokenizer, vocab, dict(cfg.data.get("frontend") or {}))
    context = int(cfg.context)
    tr = record["train"]
    train_bytes = built.data[tr["offset"] : tr["end"]]
    segs = data.training_segments(symbolizer, train_bytes, context,
                                  data.relative_ends(built.ends, tr["offset"], tr["end"]))
    va = record["validation"]
    val_bytes = built.data[va["offset"] : va["end"]]
    if cfg.eval.max_bytes is not None:
        val_bytes = val_bytes[: int(cfg.eval.max_bytes)]
    # no document pieces here: exactly score_bytes' cut(encode_units(val_bytes)), which for a byte
    # symbolizer training_segments does in numpy (16M one-token units would cost gigabytes)
    val_segs = data.training_segments(symbolizer, val_bytes, context)
    alphabet = getattr(symbolizer, "alphabet", None)
    evaluation = {"max_bytes": cfg.eval.max_bytes, "bytes": len(val_bytes), "segments": len(val_segs),
                  "sha256": hashlib.sha256(val_bytes).hexdigest(),
                  "metric": "bits per byte, compress.core.scoring.score_segments on compress.core.segments.cut"}
    if cfg.model.load_in_4bit:  # what the coder runs, not the NF4 training copy (train/qlora.py)
        evaluation["base"] = f"unquantized {cfg.model.dtype} base with the adapter copied in"
    del built

    model = prepare_model(base, cfg)
    twin = None  # QLoRA: validation runs the adapter on the unquantized base (train/qlora.py)
    if validation_base is not None:
        from train import qlora

        twin = qlora.validation_twin(validation_base, model.peft_config["default"])
    if resume_from is not None and from_scratch(cfg):
        from transformers import AutoModelForCausalLM

        saved_model = AutoModelForCausalLM.from_pretrained(str(resume_from[1]), dtype=next(model.parameters()).dtype)
        model.load_state_dict(saved_model.state_dict())
        del saved_model
    elif resume_from is not None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        from compress.core.models import ADAPTER_WEIGHTS

        set_peft_model_state_dict(model, load_file(str(resume_from[1] / ADAPTER_WEIGHTS)))

    dataset = data.SegmentDataset(segs, prefix)
    del segs
    # the loader gets its own generator: creating an iterator then draws nothing from the global
    # RNG, so a resumed run's dropout masks continue exactly where the saved RNG state left them
    loader = torch.utils.data.DataLoader(dataset, batch_size=int(cfg.train.batch_size), shuffle=True,
                                         collate_fn=data.collate(prefix),
                                         generator=torch.Generator().manual_seed(int(cfg.train.seed)))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(cfg.train.lr), weight_decay=float(cfg.train.weight_decay))
    batches_per_epoch = math.ceil(len(dataset) / (int(cfg.train.batch_size) * world))
    steps_per_epoch = math.ceil(batches_per_epoch / int(cfg.train.grad_accum))
    total_steps = int(cfg.train.max_steps or int(cfg.train.epochs) * steps_per_epoch)
    from transformers import get_scheduler

    scheduler = get_scheduler(cfg.train.scheduler, optimizer,
                              num_warmup_steps=int(cfg.train.warmup_steps) * world,
                              num_training_steps=total_steps * world)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    params = [p for p in model.parameters() if p.requires_grad]  # FSDP2 replaced them with DTensors
    steps_per_epoch = math.ceil(len(loader) / int(cfg.train.grad_accum))

    # accelerate saves optimizer/scheduler/RNG/sampler; the adapter is saved by PEFT next to it,
    # so keep the (multi-GB) base weights out of the training state.
    accelerator.register_save_state_pre_hook(lambda models, weights, out: weights.clear())
    accelerator.register_load_state_pre_hook(lambda models, inp: models.clear())

    step, tokens_seen, curve, elapsed = 0, 0, [], 0.0
    if resume_from is not None:
        accelerator.load_state(str(resume_from[1] / checkpoint.STATE_DIR))
        step = int(saved["step"])
        tokens_seen = int(saved.get("tokens_seen", 0))
        curve = list(saved.get("curve", []))
        elapsed = float(curve[-1]["seconds"]) if curve else 0.0
    if trackers:  # project = recipe; tensorboard writes <run>/tensorboard/<recipe>, wandb <run>/wandb
        accelerator.init_trackers(str(cfg.name), config={
            k: v for k, v in _flatten(cfg_dict).items() if isinstance(v, (int, float, str, bool))},
            init_kwargs={"wandb": {"name": run_dir.name, "dir": str(run_dir)}})

    def evaluate() -> float:
        model.eval()
        if twin is not None:
            qlora.sync_adapter(accelerator.unwrap_model(model), twin)
            net = twin
        else:  # FSDP2 shards in place: the unwrapped module is the sharded one, forward gathers
            net = accelerator.unwrap_model(model)
        mine = val_segs[accelerator.process_index :: world]
        with accelerator.autocast():
            bits = score_segments(net, mine, prefix,
                                  batch=int(cfg.eval.batch), alphabet=alphabet, device=accelerator.device)
            if fsdp:
                equal_forwards(net, len(val_segs), len(mine), int(cfg.eval.batch), world, prefix,
                               accelerator.device)
        total = accelerator.reduce(torch.tensor([bits], dtype=torch.float64, device=accelerator.device), "sum")
        model.train()
        return float(total.item()) / max(1, len(val_bytes))

    base_ref = None if from_scratch(cfg) else modelcard.peft_base_reference(str(cfg.model.id))

    def save(at_step: int, final: bool) -> None:
        target = checkpoint.step_dir(run_dir, at_step)
        tmp = checkpoint.tmp_dir(target)
        if main:
            run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.clear(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp / checkpoint.STATE_DIR))
        # FSDP: every rank takes part in gathering the full state dict, which lands on the main
        # process (accelerate's get_state_dict: full_state_dict, cpu_offload); PEFT picks the
        # adapter's tensors out of it. DDP: the main process's own module is complete.
        full_state = accelerator.get_state_dict(model) if fsdp else None
        accelerator.wait_for_everyone()
        if main:
            net = accelerator.unwrap_model(model)
            if from_scratch(cfg):
                from compress.core import bytemodel

                adapter, model_sha = None, checkpoint.save_full_model(net, tokenizer, tmp)
                base = {"id": None, "init": "scratch", "sha256": None, "dtype": cfg.model.dtype,
                        "load_in_4bit": False, "parameters": bytemodel.parameter_count(net)}
            else:  # a plain PEFT adapter too: base path PEFT can load, tokenizer beside it
                adapter, model_sha = checkpoint.save_adapter(net, tmp, base_ref, state_dict=full_state), None
                tokenizer.save_pretrained(str(tmp))
                base = {"id": cfg.model.id, "sha256": base_sha, "dtype": cfg.model.dtype,
                        "load_in_4bit": bool(cfg.model.load_in_4bit)}
            info = checkpoint.manifest(
                kind="step", step=at_step, adapter_path=adapter, model_sha256=model_sha,
                recipe_name=cfg.name, run=run_dir.name, base=base,
                symbolizer=symbolizer, vocab=vocab, prefix_id=prefix, context=context,
                modality=cfg.data.modality, recipe=cfg_dict, split=record, curve=curve,
                evaluation=evaluation, tokens_seen=tokens_seen)
            info["num_processes"] = world
            modelcard.write(tmp, info, target, base_ref)
            checkpoint.write_json(tmp / "manifest.json", info)
            checkpoint.commit_dir(tmp, target)
            if cfg.train.get("save_total_limit"):
                checkpoint.prune(run_dir, int(cfg.train.save_total_limit))
            if final:
                ftmp = run_dir / ".final.tmp"
                checkpoint.clear(ftmp)
                ftmp.mkdir()
                for item in target.iterdir():
                    if item.is_file() and item.name != "manifest.json":
                        (ftmp / item.name).write_bytes(item.read_bytes())
                modelcard.write(ftmp, {**info, "kind": "final"}, run_dir, base_ref)
                checkpoint.write_json(ftmp / "manifest.json", {**info, "kind": "final"})
                checkpoint.commit_files(ftmp, run_dir)
        accelerator.wait_for_everyone()

    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, initial=step, desc=f"{cfg.name}/{run_dir.name}", unit="step",
               disable=not (main and cfg.log.progress), dynamic_ncols=True, file=sys.stderr)

    def note(text: str) -> None:
        if main:
            bar.write(text, file=sys.stdout)

    note(f"run {run_dir}: {len(dataset)} training segments ({dataset.num_tokens} tokens, "
         f"{len(train_bytes)} bytes), {len(val_segs)} validation segments ({len(val_bytes)} bytes), "
         f"{total_steps} steps on {world} process(es)"
         + (f", resuming at step {step}" if resume_from is not None else ""))
    if step == 0 and cfg.eval.at_start:
        bpb = evaluate()
        curve.append({"step": 0, "train_loss": None, "val_bits_per_byte": bpb, "tokens_seen": 0,
                      "seconds": 0.0})
        accelerator.log({"val/bits_per_byte": bpb}, step=0)
        note(f"step 0: validation {bpb:.4f} bits/byte (base model)")

    started = time.perf_counter() - elapsed
    window_loss, window_n, window_tokens, window_t = 0.0, 0, 0, time.perf_counter()
    model.train()
    while step < total_steps:
        epoch = step // steps_per_epoch
        skip = (step % steps_per_epoch) * int(cfg.train.grad_accum)
        source = accelerator.skip_first_batches(loader, skip) if skip else loader
        loader.set_epoch(epoch)
        if source is not loader:
            source.set_epoch(epoch)
        micro_loss, micro_n, micro_tokens = 0.0, 0, 0
        for batch in source:
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.train.max_grad_norm:
                    accelerator.clip_grad_norm_(params, float(cfg.train.max_grad_norm))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            micro_loss += float(loss.detach())
            micro_n += 1
            micro_tokens += int(batch["attention_mask"].sum()) - int(batch["attention_mask"].shape[0])
            if not accelerator.sync_gradients:
                continue
            step += 1
            stats = accelerator.reduce(torch.tensor([micro_loss, micro_n, micro_tokens], dtype=torch.float64,
                                                    device=accelerator.device), "sum")
            micro_loss, micro_n, micro_tokens = 0.0, 0, 0
            step_loss = float(stats[0] / max(1.0, float(stats[1])))
            tokens_seen += int(stats[2])
            window_loss += step_loss
            window_n += 1
            window_tokens += int(stats[2])
            now = time.perf_counter()
            rate = window_tokens / max(1e-9, now - window_t)
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.3f}", tok_s=f"{rate:.0f}")
            if step % int(cfg.train.log_every) == 0:
                accelerator.log({"train/loss": step_loss, "train/tokens_per_second": rate,
                                 "train/lr": scheduler.get_last_lr()[0]}, step=step)
            last = step >= total_steps
            if step % int(cfg.train.eval_every) == 0 or last:
                bpb = evaluate()
                curve.append({"step": step, "train_loss": window_loss / max(1, window_n),
                              "val_bits_per_byte": bpb, "tokens_seen": tokens_seen,
                              "seconds": round(time.perf_counter() - started, 3)})
                accelerator.log({"val/bits_per_byte": bpb}, step=step)
                note(f"step {step}: train loss {window_loss / max(1, window_n):.4f} nats/token, "
                     f"validation {bpb:.4f} bits/byte, {rate:.0f} tokens/s")
                window_loss, window_n, window_tokens, window_t = 0.0, 0, 0, time.perf_counter()
            if step % int(cfg.train.save_every) == 0 or last:
                save(step, final=last)
            if last:
                break
    bar.close()
    if resume_from is not None and step == int(saved["step"]) and not (run_dir / "manifest.json").exists():
        save(step, final=True)  # resumed at the end of an interrupted final save
    accelerator.end_training()
    summary = {"run_dir": str(run_dir), "steps": step, "tokens_seen": tokens_seen, "curve": curve}
    if main:
        first, final = (curve[0]["val_bits_per_byte"], curve[-1]["val_bits_per_byte"]) if curve else (None, None)
        change = "" if first is None else f"; validation {first:.4f} -> {final:.4f} bits/byte"
        note(f"done: {run_dir} ({step} steps, {tokens_seen} tokens, "
             f"{time.perf_counter() - started:.1f} s){change}")
    return summary


def equal_forwards(net, total: int, mine: int, batch: int, world: int, prefix: int, device) -> int:
    """FSDP: every rank must run the same number of forwards (each one all-gathers parameters), but
    `val_segs[rank::world]` can leave a rank one batch short; run one-token forwards to even it up."""
    import torch

    most = math.ceil(math.ceil(total / world) / batch)
    extra = most - math.ceil(mine / batch)
    with torch.no_grad():
        for _ in range(extra):
            net(input_ids=torch.full((1, 1), prefix, dtype=torch.long, device=device))
    return extra


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def main(argv: list[str] | None = None) -> int:
    return config_mod.run_command(PROG, USAGE, train, argv,
                                  interrupted="interrupted; resume with the same run=NAME")


if __name__ == "__main__":
    sys.exit(main())
