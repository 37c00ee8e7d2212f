"""Compose a training config from recipes/ with Hydra, turning every Hydra failure into one line.

The compose API is used rather than @hydra.main: it composes exactly the same config groups and
command-line overrides (`recipe=medal hardware=cpu train.max_steps=200`), never changes the working
directory or writes outputs/, and lets a bad recipe name or key be reported as one readable line
instead of Hydra's multi-line report.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import ConfigError

PRIMARY = "config"


def _recipes_dir() -> Path:
    """The copy the wheel ships as train/recipes (pyproject's package-dir), so an installed toolkit
    finds its recipes from any working directory; else recipes/ beside train/ in a checkout (a
    checkout has no train/recipes, so edits to recipes/ there always take effect)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "recipes", here.parent / "recipes"):
        if (candidate / f"{PRIMARY}.yaml").is_file():
            return candidate
    return here.parent / "recipes"  # neither: Hydra's own "config directory not found" names it


RECIPES_DIR = _recipes_dir()


def options(group: str) -> list[str]:
    """The names available in a config group (recipe, hardware)."""
    return sorted(p.stem for p in (RECIPES_DIR / group).glob("*.yaml"))


def _one_line(exc: BaseException) -> str:
    parts = []
    while exc is not None and len(parts) < 3:
        text = " ".join(str(exc).split())
        if text and text not in parts:
            parts.append(text)
        exc = exc.__cause__
    return "; ".join(parts) or type(exc).__name__


def compose(overrides: list[str]):
    """The resolved DictConfig for command-line overrides; ConfigError (one line) on any problem."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    for item in overrides:
        if "=" not in item or item.startswith("-"):
            raise ConfigError(
                f"unexpected argument '{item}': give overrides as key=value, e.g. recipe=medal "
                f"(recipes: {', '.join(options('recipe'))})"
            )
    try:
        with initialize_config_dir(config_dir=str(RECIPES_DIR), version_base="1.3", job_name="lora"):
            cfg = hydra_compose(config_name=PRIMARY, overrides=list(overrides))
        OmegaConf.resolve(cfg)
    except MissingConfigException as exc:
        group = next((g for g in ("recipe", "hardware") if f"'{g}/" in str(exc) or f"'{g}'" in str(exc)), None)
        if group is not None:
            # hydra applies overrides in order, so the last one for the group is the one it missed
            wanted = next((o.split("=", 1)[1] for o in reversed(overrides)
                           if o.split("=", 1)[0].lstrip("+") == group), "")
            raise ConfigError(
                f"unknown {group} '{wanted}' (choose from {', '.join(options(group))})"
            ) from None
        raise ConfigError(_one_line(exc)) from None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        message = _one_line(exc)
        if "Missing mandatory value: recipe" in message or "You must specify 'recipe'" in message:
            message = f"choose a recipe: recipe=NAME (one of {', '.join(options('recipe'))})"
        unknown = re.search(r"Could not override '([^']+)'.*not in struct", message)
        if unknown:  # Hydra's own advice here would be `+key=...`, which unknown_keys refuses too
            message = _unknown_key_message(unknown.group(1))
        raise ConfigError(message) from None
    extra = unknown_keys(cfg)
    if extra:
        raise ConfigError(_unknown_key_message(extra[0]))
    check(cfg)
    return cfg


# subtrees whose keys are free-form: options handed to a modality's front end
OPEN_KEYS = ("data.frontend",)


def _schema() -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(RECIPES_DIR / f"{PRIMARY}.yaml"), resolve=False)


def unknown_keys(cfg) -> list[str]:
    """Dotted keys of the composed config that recipes/config.yaml does not declare.

    Hydra refuses `lora.rank=16` but accepts `+lora.rank=16` (append a key), and a typo in a recipe
    file is merged silently; either would train with the default while the user believes
    otherwise (torchtune and axolotl refuse unknown keys for the same reason)."""
    from omegaconf import OmegaConf

    found: list[str] = []

    def walk(node: dict, ref: dict, prefix: str) -> None:
        for k, v in node.items():
            key = f"{prefix}{k}"
            if key in OPEN_KEYS:
                continue
            if k not in ref:
                found.append(key)
            elif isinstance(v, dict) and isinstance(ref[k], dict):
                walk(v, ref[k], key + ".")

    walk(OmegaConf.to_container(cfg, resolve=False), _schema(), "")
    return found


def _unknown_key_message(key: str) -> str:
    import difflib

    parent, _, leaf = key.lstrip("+~").rpartition(".")
    ref = _schema()
    for part in parent.split(".") if parent else []:
        ref = ref.get(part) if isinstance(ref, dict) else None
    known = [k for k in ref if k not in ("defaults", "hydra")] if isinstance(ref, dict) else []
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    where = f"{parent} has" if parent else "top-level keys are"
    return f"unknown key '{key}' ({hint}{where}: {', '.join(map(str, known))}; see recipes/config.yaml)"


def check(cfg) -> None:
    """Reject values that would fail late (after minutes of loading) with an early, clear line."""
    from omegaconf import OmegaConf

    def value(key: str):
        return OmegaConf.select(cfg, key)

    def need(ok: bool, message: str):
        if not ok:
            raise ConfigError(message)

    def integer(key: str, minimum: int, *, optional: bool = False):
        v = value(key)
        if v is None and optional:
            return
        need(isinstance(v, int) and not isinstance(v, bool) and v >= minimum,
             f"{key} must be an integer >= {minimum}{' or null' if optional else ''}, got {v!r}")

    def number(key: str, minimum: float):
        v = value(key)
        need(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= minimum,
             f"{key} must be a number >= {minimum}, got {v!r}")

    def choice(key: str, allowed: tuple):
        need(value(key) in allowed, f"{key} must be one of {', '.join(map(str, allowed))}, got {value(key)!r}")

    integer("context", 4)
    for key in ("split.train_bytes", "split.val_bytes", "split.total_bytes", "train.batch_size",
                "train.grad_accum", "train.epochs", "train.save_every", "train.eval_every",
                "train.log_every", "eval.batch", "lora.r", "lora.alpha"):
        integer(key, 1)
    for key in ("train.seed", "train.warmup_steps"):
        integer(key, 0)
    integer("train.max_steps", 1, optional=True)
    choice("model.init", ("pretrained", "scratch"))
    if value("model.init") == "scratch":
        need(value("data.modality") != "text",
             "model.init=scratch builds a byte-level model: use it with a byte modality "
             "(data.modality=audio, image or video), not text")
        from compress.core.bytemodel import check_arch
        from compress.core.errors import ModelLoadError

        try:
            check_arch(OmegaConf.to_container(cfg.model.arch, resolve=True) or {})
        except ModelLoadError as exc:
            raise ConfigError(str(exc)) from None
        need(not value("model.load_in_4bit"), "model.load_in_4bit applies to a pretrained base, not "
             "to model.init=scratch")
    if value("train.threads") != "auto":
        integer("train.threads", 1, optional=True)
    integer("eval.max_bytes", 1, optional=True)
    for key in ("train.lr", "train.weight_decay", "train.max_grad_norm", "lora.dropout"):
        number(key, 0)
    need(cfg.split.total_bytes > cfg.split.train_bytes + cfg.split.val_bytes,
         "split.total_bytes must exceed split.train_bytes + split.val_bytes (the rest is the test part)")
    need(isinstance(cfg.data.modality, str) and cfg.data.modality != "",
         "data.modality must name a front end (text | audio)")
    choice("data.sample_by", ("document", "paragraph", "line"))
    choice("train.mixed_precision", ("no", "fp16", "bf16"))
    choice("model.dtype", ("float32", "bfloat16", "float16"))
    need(str(value("train.resume")).lower() in ("auto", "true", "false"),
         f"train.resume must be auto, true or false, got {value('train.resume')!r}")
    for key in ("model.load_in_4bit", "model.gradient_checkpointing", "eval.at_start", "log.progress",
                "print_config"):
        need(isinstance(value(key), bool), f"{key} must be true or false, got {value(key)!r}")
    integer("train.save_total_limit", 1, optional=True)
    choice("log.level", LOG_LEVELS)
    trackers = value("log.with")
    need(OmegaConf.is_list(trackers) and all(isinstance(t, str) for t in trackers),
         f"log.with must be a list of tracker names, e.g. [tensorboard] or [tensorboard,wandb], got {trackers!r}")
    from accelerate.utils import LoggerType

    known = [t.value for t in LoggerType]
    for t in trackers:
        need(t in known, f"log.with: unknown tracker '{t}' (accelerate knows {', '.join(known)})")
    run = cfg.run
    need(run is None or (str(run) and "/" not in str(run) and not str(run).startswith(".")),
         f"run must be a plain directory name, got '{run}'")


LOG_LEVELS = ("debug", "info", "warning", "error")


def to_yaml(cfg) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(cfg, resolve=True)


def to_dict(cfg) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)


def is_main_process() -> bool:
    """Rank 0 of a torchrun/accelerate launch (or a plain single process)."""
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def run_command(prog: str, usage: str, job, argv: list[str] | None = None, *,
                interrupted: str | None = None) -> int:
    """The shared `main` of the recipe-driven scripts (train/lora.py, evaluation/evaluate.py): `--help`
    prints `usage`; otherwise compose the config from `argv` and call `job(cfg)` (or, with
    print_config=true, print the resolved config and return). Any lmcompress
    error becomes one line `<prog>: <message>` on the main process and exit status 1; Ctrl-C is
    130, with the `interrupted` hint if one is given."""
    from compress.core.errors import LMCompressError

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage, end="")
        return 0
    try:
        cfg = compose(argv)
        if cfg.print_config:  # print-and-exit, as `tune cp`/`--cfg job` users expect: check a launch
            print(to_yaml(cfg), end="")
            return 0
        job(cfg)
    except LMCompressError as exc:
        if is_main_process():
            print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if interrupted and is_main_process():
            print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    return 0
