"""Train the coder's language model for a recipe: LoRA on a pretrained base, or a byte model from scratch.

    accelerate launch train/lora.py recipe=medal                      # paper scale (GPUs)
    accelerate launch --cpu train/lora.py recipe=medal hardware=cpu data.path=../shared/data/text/medical.txt
    python train/lora.py recipe=kodak_igpt hardware=cpu data.path=../shared/data/images/train   # model.init=scratch

`Trainer` reads as the run does: setup_run (processes, run dir, seed), setup_corpus (corpus and
split, before any model is loaded, so bad data fails fast), setup_model, setup_data (the coder's
segments), setup_optimizer, then `run`: train_step over the batches, validate and save on their
schedule. The run writes `checkpoints/<recipe>/<run>/` (see train/checkpoint.py): the weights, a
manifest that pins base model, adapter or model, tokenizer, split and curve, and step-<N>/
checkpoints every train.save_every steps, from which an interrupted run resumes bit for bit.
Validation bits per byte are computed by `compress.core.scoring` on the coder's own segmentation,
so they are what the compressor would achieve. Every user error ends as one line
`lmcompress-train: <message>` on stderr and exit status 1.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

from compress.core.errors import LMCompressError
from train import checkpoint
from train import config as config_mod
from train.errors import ConfigError
from train.process_exit import exit_process

PROG = "lmcompress-train"
USAGE = f"""usage: accelerate launch train/lora.py recipe=NAME [hardware=cpu|gpu] [key=value ...]
       python train/lora.py recipe=NAME [key=value ...]

recipes:  {', '.join(config_mod.options('recipe'))}
hardware: {', '.join(config_mod.options('hardware'))}  (default gpu; cpu = smollm2-135m, fp32, small split)
keys:     see recipes/config.yaml, e.g. data.path=FILE|DIR|GLOB train.max_steps=200 run=NAME
          eval.max_bytes=65536 model.load_in_4bit=true train.resume=true train.save_total_limit=3
          log.with=[tensorboard,wandb] log.level=info|warning|error
          +model={'|'.join(config_mod.options('model'))}   a byte model trained from scratch (recipes/model/)
          print_config=true   print the resolved config and exit (unknown keys are refused)
"""

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


def intra_op_threads(setting: int | str | None, local_processes: int) -> int | None:
    """torch threads per process for train.threads (an int, "auto" or null: torch's default).

    `accelerate launch` exports OMP_NUM_THREADS=1 unless --num_cpu_threads_per_process is given,
    so on a CPU the documented command would train on one core of many; "auto" shares the
    machine's cores among the processes of this node instead.
    """
    if setting == "auto":
        return max(1, (os.cpu_count() or 1) // max(1, local_processes))
    return setting


def from_scratch(cfg) -> bool:
    """model.init=scratch: a new byte-level model (compress.core.bytemodel), every weight trained."""
    return cfg.model.init == "scratch"


# -- the model ----------------------------------------------------------------------------------
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

    from train import placement

    if from_scratch(cfg):
        return _new_byte_model(cfg)
    if cfg.model.load_in_4bit and placement.fsdp_enabled():
        raise ConfigError("model.load_in_4bit=true is not supported with FSDP here; use DDP "
                          "(accelerate_config.yaml) or one GPU")
    if cfg.model.load_in_4bit and not torch.cuda.is_available():
        raise ConfigError("model.load_in_4bit=true needs a CUDA GPU (bitsandbytes NF4); drop it on CPU")
    placed = placement.load_base(cfg.model.id, cfg.model.dtype, accelerator)
    print(f"placement: rank {accelerator.process_index}/{accelerator.num_processes}: base {placed.how}",
          file=sys.stderr, flush=True)  # where this process's weights came from (the 2-process test reads it)
    if not cfg.model.load_in_4bit:
        return placed.model, placed.tokenizer, placed.base_sha256, None
    return (_nf4_base(cfg, accelerator), placed.tokenizer, placed.base_sha256,
            placed.model.to(accelerator.device))


def _new_byte_model(cfg):
    """A freshly initialised byte model of shape model.arch, seeded by train.seed."""
    from omegaconf import OmegaConf

    from compress.core import bytemodel

    arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
    try:
        model = bytemodel.new_model(arch, context=cfg.context, seed=cfg.train.seed, dtype=cfg.model.dtype)
    except LMCompressError as exc:
        raise ConfigError(str(exc)) from None
    return model, bytemodel.byte_tokenizer(), None, None


def _nf4_base(cfg, accelerator):
    """The QLoRA training copy of the base: 4-bit NF4 (bitsandbytes) on this process's GPU."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from compress.core import models

    dtype = models.DTYPES[cfg.model.dtype]
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=dtype)
    return models.from_pretrained(AutoModelForCausalLM, cfg.model.id, dtype=dtype, quantization_config=quant,
                                  device_map={"": accelerator.local_process_index})


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
    """The base wrapped by PEFT with lora.* (after k-bit preparation for a QLoRA base)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.model.load_in_4bit:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.model.gradient_checkpointing)
    elif cfg.model.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model.config.use_cache = False
    lora = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=list(cfg.lora.target_modules), bias="none", task_type="CAUSAL_LM")
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"cannot apply LoRA to {cfg.model.id}: {str(exc).splitlines()[0]}") from None
    model.train()
    return model


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


# -- the run ------------------------------------------------------------------------------------
class Trainer:
    """One training run of a composed config. The setup steps run in this order because the
    trained bits depend on it: every draw from torch's global RNG after set_seed (LoRA's
    initialisation, dropout) must come in the same sequence in a fresh and in a resumed run."""

    def __init__(self, cfg):
        self.cfg = cfg
        if cfg.data.path:
            from train.corpus import absolute_paths

            cfg.data.path = absolute_paths(cfg.data.path)  # the manifest must name it from anywhere
        self.recipe = config_mod.to_dict(cfg)  # what the manifest records
        self.trackers = list(cfg.log["with"])
        self.step, self.tokens_seen, self.curve, self.elapsed = 0, 0, [], 0.0
        self.saved = None  # the manifest of the step checkpoint a resumed run continues

    def setup(self) -> None:
        self.setup_run()
        self.setup_corpus()
        self.setup_model()
        self.setup_data()
        self.setup_optimizer()
        self.restore()

    # -- setup ----------------------------------------------------------------------------------
    def setup_run(self) -> None:
        """torch.distributed first (PartialState): the run name, a timestamp by default, is
        broadcast from the main process, and the tracker's logging dir needs it. Without CUDA (or
        with ACCELERATE_USE_CPU) run on the CPU; cpu=True also makes processes started by torchrun
        or `accelerate launch --multi_gpu` on a CPU-only machine join one gloo group instead of
        each training alone (accelerate's own --cpu launcher starts a single process)."""
        import torch
        from accelerate import Accelerator, DataLoaderConfiguration, PartialState
        from accelerate.utils import DistributedType, ProjectConfiguration, parse_flag_from_env, set_seed

        cfg = self.cfg
        check_trackers(self.trackers)
        cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
        self.run_dir = self._run_dir(PartialState(cpu=cpu).num_processes)
        self.steps = checkpoint.steps_to_resume(self.run_dir, cfg.train.resume)
        self.accelerator = Accelerator(
            cpu=cpu,
            mixed_precision=cfg.train.mixed_precision,
            gradient_accumulation_steps=cfg.train.grad_accum,
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.train.seed),
            log_with=self.trackers or None,
            project_config=ProjectConfiguration(project_dir=str(self.run_dir),
                                                logging_dir=str(self.run_dir / "tensorboard")),
        )
        self.main = self.accelerator.is_main_process
        self.world = self.accelerator.num_processes
        self.fsdp = self.accelerator.distributed_type == DistributedType.FSDP
        if self.fsdp and from_scratch(cfg):
            raise ConfigError("model.init=scratch trains small byte models: use DDP (accelerate_config.yaml), not FSDP")
        set_seed(cfg.train.seed)
        threads = intra_op_threads(cfg.train.threads, int(os.environ.get("LOCAL_WORLD_SIZE", self.world)))
        if threads:
            torch.set_num_threads(threads)

    def _run_dir(self, num_processes: int) -> Path:
        """checkpoints_dir/name/run, the run name agreed between processes."""
        from accelerate.utils import broadcast_object_list

        name = [self.cfg.run or time.strftime("%Y%m%d-%H%M%S", time.gmtime())]
        if num_processes > 1:
            broadcast_object_list(name, from_process=0)
        return Path(self.cfg.checkpoints_dir) / self.cfg.name / name[0]

    def setup_corpus(self) -> None:
        """The corpus and its split; a resumed run must find the split it trained on."""
        from compress.core.models import read_manifest
        from train import corpus, split

        cfg = self.cfg
        if cfg.data.path:
            self.corpus = corpus.load(cfg.data, cfg.split.total_bytes)
        else:
            with self.accelerator.main_process_first():  # the main process streams and caches it once
                self.corpus = corpus.load(cfg.data, cfg.split.total_bytes)
        self.record = split.make_record(self.corpus.data, self.corpus.ends, train_bytes=cfg.split.train_bytes,
                                        val_bytes=cfg.split.val_bytes, total_bytes=cfg.split.total_bytes,
                                        source=self.corpus.source)
        if self.steps:
            self.saved = read_manifest(self.steps[-1][1])
            checkpoint.check_resumable(self.recipe, self.saved, self.world, self.record)

    def setup_model(self) -> None:
        """The model in train mode (LoRA-wrapped, or the whole byte model), its symbolizer, the
        QLoRA validation twin, and a resumed run's trained weights."""
        from compress.core import engine
        from train import data, modelcard

        cfg = self.cfg
        base, self.tokenizer, self.base_sha, validation_base = load_model(cfg, self.accelerator)
        apply_log_level(cfg.log.level)  # compress.core.models quiets transformers while loading
        self.vocab = engine.model_vocab(base)
        self.prefix = engine.prefix_token(self.tokenizer)
        self.symbolizer = data.symbolizer_for(cfg.data.modality, self.tokenizer, self.vocab, dict(cfg.data.frontend))
        self.base_ref = None if from_scratch(cfg) else modelcard.peft_base_reference(cfg.model.id)
        self.model = prepare_model(base, cfg)
        self.twin = None  # QLoRA: validation runs the adapter on the unquantized base (train/qlora.py)
        if validation_base is not None:
            from train import qlora

            self.twin = qlora.validation_twin(validation_base, self.model.peft_config["default"])
        if self.steps:
            self._load_weights(self.steps[-1][1])

    def _load_weights(self, step_dir: Path) -> None:
        """The weights of the step checkpoint a resumed run continues (optimizer state: restore)."""
        if from_scratch(self.cfg):
            from transformers import AutoModelForCausalLM

            saved = AutoModelForCausalLM.from_pretrained(str(step_dir), dtype=next(self.model.parameters()).dtype)
            self.model.load_state_dict(saved.state_dict())
            return
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        from compress.core.models import ADAPTER_WEIGHTS

        set_peft_model_state_dict(self.model, load_file(str(step_dir / ADAPTER_WEIGHTS)))

    def setup_data(self) -> None:
        """Training and validation segments exactly as the coder cuts them, and the loader."""
        import torch

        from train import data

        cfg, built, record = self.cfg, self.corpus, self.record
        tr, va = record["train"], record["validation"]
        train_bytes = built.data[tr["offset"]: tr["end"]]
        self.train_bytes = len(train_bytes)
        segs = data.training_segments(self.symbolizer, train_bytes, cfg.context,
                                      data.relative_ends(built.ends, tr["offset"], tr["end"]))
        del train_bytes
        self.val_bytes = built.data[va["offset"]: va["end"]][: cfg.eval.max_bytes]
        # no document pieces here: exactly score_bytes' cut(encode_units(val_bytes)), which for a byte
        # symbolizer training_segments does in numpy (16M one-token units would cost gigabytes)
        self.val_segs = data.training_segments(self.symbolizer, self.val_bytes, cfg.context)
        self.evaluation = {"max_bytes": cfg.eval.max_bytes, "bytes": len(self.val_bytes),
                           "segments": len(self.val_segs), "sha256": hashlib.sha256(self.val_bytes).hexdigest(),
                           "metric": "bits per byte, compress.core.scoring.score_segments on "
                                     "compress.core.segments.cut"}
        if cfg.model.load_in_4bit:  # what the coder runs, not the NF4 training copy (train/qlora.py)
            self.evaluation["base"] = f"unquantized {cfg.model.dtype} base with the adapter copied in"
        del self.corpus
        self.dataset = data.SegmentDataset(segs, self.prefix)
        # the loader gets its own generator: creating an iterator then draws nothing from the global
        # RNG, so a resumed run's dropout masks continue exactly where the saved RNG state left them
        self.loader = torch.utils.data.DataLoader(self.dataset, batch_size=cfg.train.batch_size, shuffle=True,
                                                  collate_fn=data.collate(self.prefix),
                                                  generator=torch.Generator().manual_seed(cfg.train.seed))

    def setup_optimizer(self) -> None:
        """AdamW and the schedule over train.max_steps (else the epochs), handed to accelerate."""
        import torch
        from transformers import get_scheduler

        cfg, world = self.cfg, self.world
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        batches_per_epoch = math.ceil(len(self.dataset) / (cfg.train.batch_size * world))
        self.total_steps = cfg.train.max_steps or cfg.train.epochs * math.ceil(batches_per_epoch / cfg.train.grad_accum)
        scheduler = get_scheduler(cfg.train.scheduler, optimizer, num_warmup_steps=cfg.train.warmup_steps * world,
                                  num_training_steps=self.total_steps * world)
        self.model, self.optimizer, self.loader, self.scheduler = self.accelerator.prepare(
            self.model, optimizer, self.loader, scheduler)
        self.params = [p for p in self.model.parameters() if p.requires_grad]  # FSDP2 made them DTensors
        self.steps_per_epoch = math.ceil(len(self.loader) / cfg.train.grad_accum)
        # accelerate saves optimizer/scheduler/RNG/sampler; the weights are saved by PEFT (or
        # save_pretrained) next to it, so keep the (multi-GB) base weights out of the training state
        self.accelerator.register_save_state_pre_hook(lambda models, weights, out: weights.clear())
        self.accelerator.register_load_state_pre_hook(lambda models, inp: models.clear())

    def restore(self) -> None:
        """A resumed run: optimizer, scheduler, RNG and sampler state, and where the curve was."""
        if not self.steps:
            return
        self.accelerator.load_state(str(self.steps[-1][1] / checkpoint.STATE_DIR))
        self.step = self.saved["step"]
        self.tokens_seen = self.saved.get("tokens_seen", 0)
        self.curve = list(self.saved.get("curve", []))
        self.elapsed = self.curve[-1]["seconds"] if self.curve else 0.0

    # -- training -------------------------------------------------------------------------------
    def batches(self):
        """The loader from the current step on, epoch after epoch; a resumed run skips the batches
        its steps already used (the seedable sampler gives each epoch its own order)."""
        while True:
            epoch = self.step // self.steps_per_epoch
            skip = (self.step % self.steps_per_epoch) * self.cfg.train.grad_accum
            source = self.accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
            self.loader.set_epoch(epoch)
            if source is not self.loader:
                source.set_epoch(epoch)
            yield from source

    def train_step(self, batch) -> bool:
        """One micro-batch: forward and backward, and on the last of train.grad_accum the clipped
        optimizer step. Adds the micro-batch's loss and tokens to the step's; True after a step."""
        with self.accelerator.accumulate(self.model):
            loss = self.model(**batch).loss
            self.accelerator.backward(loss)
            if self.accelerator.sync_gradients and self.cfg.train.max_grad_norm:
                self.accelerator.clip_grad_norm_(self.params, self.cfg.train.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
        mask = batch["attention_mask"]
        self.micro = [self.micro[0] + float(loss.detach()), self.micro[1] + 1,
                      self.micro[2] + int(mask.sum()) - int(mask.shape[0])]
        return self.accelerator.sync_gradients

    def _step_stats(self) -> tuple[float, int]:
        """(mean loss, tokens) of the optimizer step just taken, summed over processes."""
        import torch

        stats = self.accelerator.reduce(torch.tensor(self.micro, dtype=torch.float64,
                                                     device=self.accelerator.device), "sum")
        self.micro = [0.0, 0, 0]
        return float(stats[0] / max(1.0, float(stats[1]))), int(stats[2])

    def validate(self) -> float:
        """Validation bits per byte: each process scores its share of the segments."""
        import torch

        from compress.core.scoring import score_segments

        self.model.eval()
        if self.twin is not None:
            from train import qlora

            qlora.sync_adapter(self.accelerator.unwrap_model(self.model), self.twin)
            net = self.twin
        else:  # FSDP2 shards in place: the unwrapped module is the sharded one, forward gathers
            net = self.accelerator.unwrap_model(self.model)
        mine = self.val_segs[self.accelerator.process_index:: self.world]
        batch, device = self.cfg.eval.batch, self.accelerator.device
        with self.accelerator.autocast():
            bits = score_segments(net, mine, self.prefix, batch=batch,
                                  alphabet=getattr(self.symbolizer, "alphabet", None), device=device)
            if self.fsdp:
                equal_forwards(net, len(self.val_segs), len(mine), batch, self.world, self.prefix, device)
        total = self.accelerator.reduce(torch.tensor([bits], dtype=torch.float64, device=device), "sum")
        self.model.train()
        return float(total.item()) / max(1, len(self.val_bytes))

    def run(self) -> dict:
        """Train to the step budget: validate every train.eval_every steps, save every
        train.save_every (both also at the end); returns the run's summary."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        self._start_trackers()
        self.bar = tqdm(total=self.total_steps, initial=self.step, desc=f"{cfg.name}/{self.run_dir.name}",
                        unit="step", disable=not (self.main and cfg.log.progress), dynamic_ncols=True,
                        file=sys.stderr)
        self.note(f"run {self.run_dir}: {len(self.dataset)} training segments ({self.dataset.num_tokens} tokens, "
                  f"{self.train_bytes} bytes), {len(self.val_segs)} validation segments ({len(self.val_bytes)} "
                  f"bytes), {self.total_steps} steps on {self.world} process(es)"
                  + (f", resuming at step {self.step}" if self.saved is not None else ""))
        if self.step == 0 and cfg.eval.at_start:
            bpb = self.validate()
            self.curve.append({"step": 0, "train_loss": None, "val_bits_per_byte": bpb, "tokens_seen": 0,
                               "seconds": 0.0})
            self.accelerator.log({"val/bits_per_byte": bpb}, step=0)
            self.note(f"step 0: validation {bpb:.4f} bits/byte (base model)")
        self.started = time.perf_counter() - self.elapsed
        self.window = [0.0, 0, 0, time.perf_counter()]  # loss sum, steps, tokens, since
        self.micro = [0.0, 0, 0]
        self.model.train()
        if self.step < self.total_steps:
            for batch in self.batches():
                if self.train_step(batch) and self._after_step():
                    break
        return self.finish()

    def _after_step(self) -> bool:
        """Count, log, validate and save after an optimizer step; True at the last one."""
        cfg = self.cfg
        self.step += 1
        loss, tokens = self._step_stats()
        self.tokens_seen += tokens
        self.window[:3] = [self.window[0] + loss, self.window[1] + 1, self.window[2] + tokens]
        rate = self.window[2] / max(1e-9, time.perf_counter() - self.window[3])
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{rate:.0f}")
        if self.step % cfg.train.log_every == 0:
            self.accelerator.log({"train/loss": loss, "train/tokens_per_second": rate,
                                  "train/lr": self.scheduler.get_last_lr()[0]}, step=self.step)
        last = self.step >= self.total_steps
        if self.step % cfg.train.eval_every == 0 or last:
            self._validate_point(rate)
        if self.step % cfg.train.save_every == 0 or last:
            self.save(self.step, final=last)
        return last

    def _validate_point(self, rate: float) -> None:
        """A point of the curve: mean training loss since the last one, and validation."""
        bpb = self.validate()
        train_loss = self.window[0] / max(1, self.window[1])
        self.curve.append({"step": self.step, "train_loss": train_loss, "val_bits_per_byte": bpb,
                           "tokens_seen": self.tokens_seen, "seconds": round(time.perf_counter() - self.started, 3)})
        self.accelerator.log({"val/bits_per_byte": bpb}, step=self.step)
        self.note(f"step {self.step}: train loss {train_loss:.4f} nats/token, validation {bpb:.4f} bits/byte, "
                  f"{rate:.0f} tokens/s")
        self.window = [0.0, 0, 0, time.perf_counter()]

    def finish(self) -> dict:
        """Close the run (and finish a final save a kill interrupted); the summary."""
        self.bar.close()
        if self.saved is not None and self.step == self.saved["step"] and not (self.run_dir / "manifest.json").exists():
            self.save(self.step, final=True)  # resumed at the end of an interrupted final save
        self.accelerator.end_training()
        curve = self.curve
        if self.main:
            change = "" if not curve else (f"; validation {curve[0]['val_bits_per_byte']:.4f} -> "
                                           f"{curve[-1]['val_bits_per_byte']:.4f} bits/byte")
            self.note(f"done: {self.run_dir} ({self.step} steps, {self.tokens_seen} tokens, "
                      f"{time.perf_counter() - self.started:.1f} s){change}")
        return {"run_dir": str(self.run_dir), "steps": self.step, "tokens_seen": self.tokens_seen, "curve": curve}

    def note(self, text: str) -> None:
        """A progress line on stdout (main process), kept clear of the progress bar."""
        if self.main:
            self.bar.write(text, file=sys.stdout)

    def _start_trackers(self) -> None:
        """project = recipe; tensorboard writes <run>/tensorboard/<recipe>, wandb <run>/wandb."""
        if self.trackers:
            scalars = {k: v for k, v in _flatten(self.recipe).items() if isinstance(v, (int, float, str, bool))}
            self.accelerator.init_trackers(self.cfg.name, config=scalars, init_kwargs={
                "wandb": {"name": self.run_dir.name, "dir": str(self.run_dir)}})

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self, step: int, final: bool) -> None:
        """step-<step>/, built in a temporary directory and renamed into place; at the end also the
        run dir's own files. Every process takes part (training state, FSDP's gathered weights)."""
        accelerator = self.accelerator
        target = checkpoint.step_dir(self.run_dir, step)
        tmp = checkpoint.tmp_dir(target)
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.clear(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp / checkpoint.STATE_DIR))
        # FSDP: every rank takes part in gathering the full state dict, which lands on the main
        # process (accelerate's get_state_dict: full_state_dict, cpu_offload); PEFT picks the
        # adapter's tensors out of it. DDP: the main process's own module is complete.
        full_state = accelerator.get_state_dict(self.model) if self.fsdp else None
        accelerator.wait_for_everyone()
        if self.main:
            info = self._write_checkpoint(tmp, target, step, full_state)
            checkpoint.commit_dir(tmp, target)
            if self.cfg.train.save_total_limit:
                checkpoint.prune(self.run_dir, self.cfg.train.save_total_limit)
            if final:
                self._publish_final(target, info)
        accelerator.wait_for_everyone()

    def _write_checkpoint(self, tmp: Path, target: Path, step: int, full_state) -> dict:
        """Weights, tokenizer, model card and manifest of `target` into `tmp`; returns the manifest."""
        from train import modelcard

        cfg = self.cfg
        net = self.accelerator.unwrap_model(self.model)
        if from_scratch(cfg):
            from compress.core import bytemodel

            adapter, model_sha = None, checkpoint.save_full_model(net, self.tokenizer, tmp)
            base = {"id": None, "init": "scratch", "sha256": None, "dtype": cfg.model.dtype,
                    "load_in_4bit": False, "parameters": bytemodel.parameter_count(net)}
        else:  # a plain PEFT adapter too: base path PEFT can load, tokenizer beside it
            adapter, model_sha = checkpoint.save_adapter(net, tmp, self.base_ref, state_dict=full_state), None
            self.tokenizer.save_pretrained(str(tmp))
            base = {"id": cfg.model.id, "sha256": self.base_sha, "dtype": cfg.model.dtype,
                    "load_in_4bit": cfg.model.load_in_4bit}
        info = checkpoint.manifest(
            kind="step", step=step, adapter_path=adapter, model_sha256=model_sha,
            recipe_name=cfg.name, run=self.run_dir.name, base=base,
            symbolizer=self.symbolizer, vocab=self.vocab, prefix_id=self.prefix, context=cfg.context,
            modality=cfg.data.modality, recipe=self.recipe, split=self.record, curve=self.curve,
            evaluation=self.evaluation, tokens_seen=self.tokens_seen)
        info["num_processes"] = self.world
        modelcard.write(tmp, info, target, self.base_ref)
        checkpoint.write_json(tmp / "manifest.json", info)
        return info

    def _publish_final(self, target: Path, info: dict) -> None:
        """The last step checkpoint's files copied into the run dir itself, as kind "final"."""
        from train import modelcard

        ftmp = self.run_dir / ".final.tmp"
        checkpoint.clear(ftmp)
        ftmp.mkdir()
        for item in target.iterdir():
            if item.is_file() and item.name != "manifest.json":
                (ftmp / item.name).write_bytes(item.read_bytes())
        modelcard.write(ftmp, {**info, "kind": "final"}, self.run_dir, self.base_ref)
        checkpoint.write_json(ftmp / "manifest.json", {**info, "kind": "final"})
        checkpoint.commit_files(ftmp, self.run_dir)


def train(cfg) -> dict:
    """Run one training job described by a composed config; returns a summary dict."""
    apply_log_level(cfg.log.level)
    if config_mod.is_main_process():  # the resolved config, as torchtune and axolotl print it
        print(f"resolved config:\n{config_mod.to_yaml(cfg)}", end="", flush=True)
    trainer = Trainer(cfg)
    trainer.setup()
    return trainer.run()


def main(argv: list[str] | None = None) -> int:
    return config_mod.run_command(PROG, USAGE, train, argv,
                                  interrupted="interrupted; resume with the same run=NAME")


def command() -> NoReturn:
    """The installed `lmcompress-train`: main(), then the exit a torchrun rank needs (train/process_exit.py)."""
    exit_process(main())


if __name__ == "__main__":
    command()
