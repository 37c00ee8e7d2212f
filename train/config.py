"""Compose a training config from recipes/ with Hydra, turning every Hydra failure into one line.

The compose API is used rather than @hydra.main: it composes exactly the same config groups and
command-line overrides (`recipe=medal hardware=cpu train.max_steps=200`), never changes the working
directory or writes outputs/, and lets a bad recipe name or key be reported as one readable line
instead of Hydra's multi-line report.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
PRIMARY = "config"


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
            wanted = next((o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0].lstrip("+") == group), "")
            raise ConfigError(
                f"unknown {group} '{wanted}' (choose from {', '.join(options(group))})"
            ) from None
        raise ConfigError(_one_line(exc)) from None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        message = _one_line(exc)
        if "Missing mandatory value: recipe" in message or "You must specify 'recipe'" in message:
            message = f"choose a recipe: recipe=NAME (one of {', '.join(options('recipe'))})"
        raise ConfigError(message) from None
    check(cfg)
    return cfg


def check(cfg) -> None:
    """Reject values that would fail late (after minutes of loading) with an early, clear line."""
    try:
        _check(cfg)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"a config value has the wrong type: {exc}") from None


def _check(cfg) -> None:
    def need(ok: bool, message: str):
        if not ok:
            raise ConfigError(message)

    need(cfg.context >= 4, f"context must be at least 4 tokens, got {cfg.context}")
    need(cfg.data.modality in ("text", "audio") or isinstance(cfg.data.modality, str),
         "data.modality must be a front-end name (text | audio)")
    need(cfg.data.sample_by in ("document", "paragraph", "line"),
         f"data.sample_by must be document, paragraph or line, got '{cfg.data.sample_by}'")
    s = cfg.split
    need(s.train_bytes > 0 and s.val_bytes > 0, "split.train_bytes and split.val_bytes must be positive")
    need(s.total_bytes > s.train_bytes + s.val_bytes,
         "split.total_bytes must exceed train_bytes + val_bytes (the rest is the test part)")
    t = cfg.train
    need(t.batch_size >= 1 and t.grad_accum >= 1, "train.batch_size and train.grad_accum must be >= 1")
    need(t.max_steps is None or t.max_steps >= 1, "train.max_steps must be >= 1 (or null for epochs)")
    need(t.save_every >= 1 and t.eval_every >= 1 and t.log_every >= 1,
         "train.save_every, train.eval_every and train.log_every must be >= 1")
    need(str(t.resume).lower() in ("auto", "true", "false"), "train.resume must be auto, true or false")
    need(t.mixed_precision in ("no", "fp16", "bf16"), "train.mixed_precision must be no, fp16 or bf16")
    need(cfg.model.dtype in ("float32", "bfloat16", "float16"),
         "model.dtype must be float32, bfloat16 or float16")
    need(cfg.eval.max_bytes is None or cfg.eval.max_bytes > 0, "eval.max_bytes must be positive or null")
    need(cfg.lora.r >= 1, "lora.r must be >= 1")
    run = cfg.run
    need(run is None or (str(run) and "/" not in str(run) and not str(run).startswith(".")),
         f"run must be a plain directory name, got '{run}'")


def to_dict(cfg) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)
