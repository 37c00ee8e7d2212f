"""Compose a training config from recipes/ with Hydra, turning every Hydra failure into one line.

The compose API is used rather than @hydra.main: it composes exactly the same config groups and
command-line overrides (`recipe=medal hardware=cpu train.max_steps=200`), never changes the working
directory or writes outputs/, and lets a bad recipe name, key or value be reported as one readable
line instead of Hydra's multi-line report. What is a bad key or value is train/schema.py's to say.
"""

from __future__ import annotations

import os
import re
import sys
import typing
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
    """The names available in a config group (recipe, hardware, model, ...)."""
    return sorted(p.stem for p in (RECIPES_DIR / group).glob("*.yaml"))


GROUPS = tuple(sorted(p.name for p in RECIPES_DIR.glob("*") if p.is_dir() and any(p.glob("*.yaml"))))


def _one_line(exc: BaseException) -> str:
    parts = []
    while exc is not None and len(parts) < 3:
        text = " ".join(str(exc).split())
        if text and text not in parts:
            parts.append(text)
        exc = exc.__cause__
    return "; ".join(parts) or type(exc).__name__


def compose(overrides: list[str]):
    """The resolved, typed DictConfig for command-line overrides; ConfigError (one line) on any problem.

    Hydra checks types and keys against train/schema.py while it merges; `OmegaConf.to_object` then
    runs the schema's `__post_init__` checks once; the DictConfig (typed, struct) is what callers get."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from . import schema

    for item in overrides:
        if "=" not in item or item.startswith("-"):
            raise ConfigError(
                f"unexpected argument '{item}': give overrides as key=value, e.g. recipe=medal "
                f"(recipes: {', '.join(options('recipe'))})"
            )
    overrides = _plain_overrides(overrides)
    schema.register()
    try:
        with initialize_config_dir(config_dir=str(RECIPES_DIR), version_base="1.3", job_name="lora"):
            cfg = hydra_compose(config_name=PRIMARY, overrides=list(overrides))
        OmegaConf.resolve(cfg)
        OmegaConf.to_object(cfg)  # the schema's __post_init__ checks (ConfigError passes through)
    except MissingConfigException as exc:
        raise ConfigError(_missing_option_message(exc, overrides)) from None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise ConfigError(_message(exc)) from None
    return cfg


def _plain_overrides(overrides: list[str]) -> list[str]:
    """The overrides with `+` dropped from keys the schema declares, refusing keys it does not.

    Hydra's `+key=value` appends a key, even to a typed node: every key is declared in
    train/schema.py, so one it does not declare is a typo that would otherwise train with the
    default while the user believes otherwise (torchtune and axolotl refuse them for that reason),
    and one it declares already exists, where Hydra would refuse to append it. Free-form nodes
    (data.frontend) take new keys with `+`, and `+group=option` picks a config group option."""
    from . import schema

    plain = []
    for item in overrides:
        key, _, value = item.partition("=")
        name = key.lstrip("+")
        if key.startswith("+") and name not in GROUPS:
            found, undeclared = schema.lookup(name)
            if undeclared:
                raise ConfigError(_unknown_key_message(undeclared))
            if found is not typing.Any:
                item = f"{name}={value}"
        plain.append(item)
    return plain


def _missing_option_message(exc, overrides: list[str]) -> str:
    """"unknown recipe 'x' (choose from ...)" for a group option with no file."""
    group = next((g for g in GROUPS if f"'{g}/" in str(exc) or f"'{g}'" in str(exc)), None)
    if group is None:
        return _one_line(exc)
    # hydra applies overrides in order, so the last one for the group is the one it missed
    wanted = next((o.split("=", 1)[1] for o in reversed(overrides) if o.split("=", 1)[0].lstrip("+") == group), "")
    return f"unknown {group} '{wanted}' (choose from {', '.join(options(group))})"


def _message(exc: BaseException) -> str:
    """One line naming the key and what is wrong with it, from Hydra's or OmegaConf's report (and
    the recipe file it is in, when a file rather than the command line holds the value)."""
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        MissingMandatoryValue,
        OmegaConfBaseException,
        ValidationError,
    )

    from . import schema

    text = _one_line(exc)
    if "Missing mandatory value: recipe" in text or "You must specify 'recipe'" in text:
        return f"choose a recipe: recipe=NAME (one of {', '.join(options('recipe'))})"
    cause = exc
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    key = getattr(cause, "full_key", None)
    if not key:
        return text
    where = re.match(r"In '([^']+)'", text)
    where = f"recipes/{where.group(1)}.yaml: " if where else ""
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        return where + _unknown_key_message(key)
    if isinstance(cause, MissingMandatoryValue):
        return f"{key} has no value: set it in the recipe or as {key}=VALUE"
    if isinstance(cause, ValidationError):
        return f"{where}{key} must be {schema.describe(schema.lookup(key)[0])}, got {cause.value!r}"
    return text


def _unknown_key_message(key: str) -> str:
    import difflib

    from . import schema

    parent, _, leaf = key.lstrip("+~").rpartition(".")
    known = schema.keys_of(parent)
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    where = f"{parent} has" if parent else "top-level keys are"
    return f"unknown key '{key}' ({hint}{where}: {', '.join(known)})"


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
