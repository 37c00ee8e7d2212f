"""Checkpoint directories: written atomically, each one loadable by `compress.core.models.load`.

Layout of a run, `checkpoints/<recipe>/<run>/`:
    adapter_model.safetensors, adapter_config.json, manifest.json   the final adapter, also a plain
      PEFT adapter: tokenizer files and README.md (model card, train/modelcard.py) beside it
      (model.init=scratch: model.safetensors, config.json, tokenizer files - the whole model)
    step-<N>/  the same files + training_state/ (accelerate: optimizer, scheduler, RNG, sampler)

A checkpoint is first written into a hidden temporary directory in the same parent and then
renamed, so a killed run never leaves a directory that looks complete; `manifest.json` is what
makes a directory a checkpoint, and it goes in last. The manifest pins everything evaluation needs:
the base model (spec + sha256 of its parameters before PEFT wrapped it), the adapter's sha256, the
symbolizer table's sha256, the resolved recipe, the split record and the training curve.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from compress.core.models import ADAPTER_WEIGHTS, MANIFEST_NAME, sha256_file
from compress.fileio import write_json  # noqa: F401  (train/trainer.py writes manifests as checkpoint.write_json)

FORMAT = "lmcompress-checkpoint/1"
STATE_DIR = "training_state"
_STEP = re.compile(r"^step-(\d+)$")


def step_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / f"step-{step}"


def tmp_dir(target: Path) -> Path:
    """The temporary sibling a checkpoint is built in (same name on every process)."""
    target = Path(target)
    return target.parent / f".{target.name}.tmp"


def step_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete step checkpoints (with a manifest), oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for child in run_dir.iterdir():
        m = _STEP.match(child.name)
        if m and child.is_dir() and (child / MANIFEST_NAME).is_file():
            found.append((int(m.group(1)), child))
    return sorted(found)


def prune(run_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete step checkpoints (train.save_total_limit, as in
    HF Trainer); the run dir's final adapter is never touched and the newest step, which a
    resume starts from, always stays. Returns the removed directories."""
    if keep < 1:
        raise ValueError("keep must be >= 1")
    removed = []
    for _, path in step_checkpoints(run_dir)[:-keep]:
        clear(path)
        removed.append(path)
    return removed


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from compress.core.engine import library_versions as engine_versions

    out = engine_versions()
    for name in ("peft", "accelerate", "datasets", "hydra-core", "safetensors", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def manifest(*, kind: str, step: int, adapter_path: Path | None, base: dict, symbolizer, vocab: int,
             prefix_id: int, context: int, modality: str, recipe: dict, split: dict, curve: list,
             evaluation: dict, run: str, recipe_name: str, tokens_seen: int,
             model_sha256: str | None = None) -> dict:
    """The manifest of a LoRA checkpoint (adapter_path, base model pinned by sha256) or of a model
    trained from scratch (no adapter; `model_sha256` pins the checkpoint's own weights)."""
    return {
        "format": FORMAT,
        "kind": kind,
        "recipe_name": recipe_name,
        "run": run,
        "step": int(step),
        "tokens_seen": int(tokens_seen),
        "base_model": base,
        "adapter_sha256": None if adapter_path is None else sha256_file(adapter_path),
        "model_sha256": model_sha256,
        "tokenizer_sha256": symbolizer.table_sha256(),
        "symbolizer": getattr(symbolizer, "name", "text-table/v1"),
        "vocab_size": int(vocab),
        "prefix_id": int(prefix_id),
        "context": int(context),
        "modality": modality,
        "recipe": recipe,
        "split": split,
        "eval": evaluation,
        "curve": curve,
        "libraries": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_adapter(peft_model, directory: Path, base_id: str, state_dict: dict | None = None) -> Path:
    """`save_pretrained` the adapter (safetensors) naming the base `base_id` in adapter_config.json
    (train/modelcard.peft_base_reference: a hub id or an absolute path PEFT can load; lmcompress
    reads the base from the manifest instead). Under FSDP the module holds only this rank's shards:
    `state_dict` is then the full state dict gathered on the main process, from which PEFT takes the
    adapter's tensors (PEFT's FSDP guidance)."""
    import warnings

    for config in peft_model.peft_config.values():
        config.base_model_name_or_path = base_id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if state_dict is None:
            peft_model.save_pretrained(str(directory), safe_serialization=True)
        else:
            peft_model.save_pretrained(str(directory), safe_serialization=True, state_dict=state_dict)
    path = Path(directory) / ADAPTER_WEIGHTS
    if not path.is_file():
        raise RuntimeError(f"save_pretrained wrote no {ADAPTER_WEIGHTS} in {directory}")
    return path


def save_full_model(model, tokenizer, directory: Path) -> str:
    """`save_pretrained` a whole model (safetensors) and its tokenizer; returns the sha256 of its
    parameters as `compress.core.models.load` will compute it when the checkpoint is loaded."""
    import warnings

    from compress.core.models import sha256_parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_pretrained(str(directory), safe_serialization=True)
        tokenizer.save_pretrained(str(directory))
    if not (Path(directory) / "model.safetensors").is_file():
        raise RuntimeError(f"save_pretrained wrote no model.safetensors in {directory}")
    return sha256_parameters(model)


def clear(path: Path) -> None:
    if Path(path).is_dir():
        shutil.rmtree(path)
    elif Path(path).exists():
        Path(path).unlink()


def commit_dir(tmp: Path, target: Path) -> None:
    """Rename a finished temporary checkpoint into place (replacing an older one of that name)."""
    target = Path(target)
    if target.exists():
        old = target.parent / f".{target.name}.old"
        clear(old)
        os.replace(target, old)
        os.replace(tmp, target)
        clear(old)
    else:
        os.replace(tmp, target)


def commit_files(tmp: Path, run_dir: Path) -> None:
    """Move a finished final checkpoint's files into the run dir: the old manifest goes first and
    the new one last, so the run dir is a checkpoint only when its adapter and manifest agree."""
    run_dir = Path(run_dir)
    (run_dir / MANIFEST_NAME).unlink(missing_ok=True)
    for item in sorted(Path(tmp).iterdir()):
        if item.name != MANIFEST_NAME:
            clear(run_dir / item.name)
            os.replace(item, run_dir / item.name)
    os.replace(Path(tmp) / MANIFEST_NAME, run_dir / MANIFEST_NAME)
    shutil.rmtree(tmp)


# -- resuming a run -----------------------------------------------------------------------------
# the keys a resumed run must share with the checkpoint it continues
RESUME_KEYS = ("context", "model.id", "model.init", "model.arch", "model.dtype", "model.load_in_4bit",
               "lora", "data", "split",
               "train.seed", "train.batch_size", "train.grad_accum")


def steps_to_resume(run_dir: Path, mode) -> list[tuple[int, Path]]:
    """The run's step checkpoints, checked against train.resume (auto | true | false) and against a
    finished run, which cannot be continued without a step checkpoint."""
    from .errors import CheckpointError

    steps = step_checkpoints(run_dir)
    mode = str(mode).lower()
    if mode == "true" and not steps:
        raise CheckpointError(f"train.resume=true but {run_dir} has no step checkpoint to resume from")
    if not steps and (Path(run_dir) / MANIFEST_NAME).exists():
        raise CheckpointError(f"{run_dir} holds a finished checkpoint but no step checkpoint to resume "
                              "from; choose another run=NAME")
    if mode == "false" and steps:
        raise CheckpointError(f"{run_dir} already holds checkpoints; pass train.resume=true to continue "
                              "it or choose another run=NAME")
    return steps


def _get(tree: dict, dotted: str):
    node = tree
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_resumable(recipe: dict, manifest: dict, world: int, split_record: dict) -> None:
    """Refuse to continue a checkpoint whose model, data, split or data order the config changes."""
    from .errors import CheckpointError

    saved = manifest.get("recipe", {})
    for key in RESUME_KEYS:
        if _get(saved, key) != _get(recipe, key):
            raise CheckpointError(f"cannot resume: {key} was {_get(saved, key)!r} in the checkpoint, "
                                  f"now {_get(recipe, key)!r} (start a new run=NAME instead)")
    if manifest.get("num_processes", world) != world:
        raise CheckpointError(f"cannot resume: the checkpoint was trained on {manifest.get('num_processes')} "
                              f"processes, this launch has {world} (the data order depends on it)")
    for part in ("train", "validation"):
        if manifest["split"][part]["sha256"] != split_record[part]["sha256"]:
            raise CheckpointError(f"cannot resume: the {part} data differs from the checkpoint's")
