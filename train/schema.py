"""What a training or evaluation config is: typed dataclasses, registered with Hydra's ConfigStore.

recipes/config.yaml names this schema first in its defaults list, so Hydra merges every YAML file
(config, recipe, hardware profile, tuning, model and evaluate groups) and every command-line
override onto typed nodes. A value of the wrong type (`train.max_steps=abc`) or a key no class
declares (`lora.rank=16`, a typo in a recipe) then fails while composing, and code reads an int as
an int. The values, and what each key means, live in the YAML files; the classes say what type
each key has and refuse, in `__post_init__`, the values no type rules out (a step count of 0, a
split whose parts overlap). `train.config.compose` runs those checks once, through
`OmegaConf.to_object`, and hands the code the typed DictConfig.

Fields default to MISSING: recipes/config.yaml gives every value, so a key it forgets is an error
rather than a second default here. The one exception is `test.hub`, whose keys a recipe sets only
in part (the rest have defaults of their own, or follow data.hub).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from omegaconf import MISSING

from .errors import ConfigError

SCHEMA = "schema"  # the name recipes/config.yaml's defaults list uses
LOG_LEVELS = ("debug", "info", "warning", "error")


def need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def at_least(key: str, value, minimum, *, optional: bool = False) -> None:
    """`key` is >= minimum (or null, if optional); the type itself Hydra has already checked."""
    if value is None and optional:
        return
    kind = "an integer" if isinstance(minimum, int) else "a number"
    need(value is not None and value >= minimum,
         f"{key} must be {kind} >= {minimum}{' or null' if optional else ''}, got {value!r}")


def one_of(key: str, value, allowed: tuple) -> None:
    need(value in allowed, f"{key} must be one of {', '.join(map(str, allowed))}, got {value!r}")


class Checked:
    """A section whose `check()` refuses bad values when `OmegaConf.to_object` builds it.

    OmegaConf also builds every section once from its MISSING defaults, as the template it merges
    values into; that instance has nothing to check. (to_object itself refuses a MISSING value
    before it calls the constructor, so a real config never looks like the template.)"""

    def __post_init__(self) -> None:
        if not any(isinstance(getattr(self, f.name), str) and getattr(self, f.name) == MISSING
                   for f in dataclasses.fields(self) if f.init):
            self.check()

    def check(self) -> None:
        raise NotImplementedError


@dataclass
class ArchConfig:
    """model.arch: the shape of a byte model trained from scratch (compress/core/bytemodel.py);
    recipes take it from the recipes/model/ group. Unused, and left null, for a pretrained base."""

    hidden_size: Optional[int] = MISSING
    intermediate_size: Optional[int] = MISSING
    num_hidden_layers: Optional[int] = MISSING
    num_attention_heads: Optional[int] = MISSING
    num_key_value_heads: Optional[int] = MISSING
    rope_theta: float = MISSING


@dataclass
class ModelConfig(Checked):
    """model.*: the coder's language model: LoRA on a pretrained base, or a byte model from scratch."""

    id: Optional[str] = MISSING
    init: str = MISSING
    arch: ArchConfig = field(default_factory=ArchConfig)
    dtype: str = MISSING
    load_in_4bit: bool = MISSING
    gradient_checkpointing: bool = MISSING

    def check(self) -> None:
        one_of("model.init", self.init, ("pretrained", "scratch"))
        one_of("model.dtype", self.dtype, ("float32", "bfloat16", "float16"))
        if self.init == "scratch":
            from compress.core.bytemodel import check_arch
            from compress.core.errors import ModelLoadError

            try:  # the engine's own check: the same rule refuses a bad checkpoint at load time
                check_arch(dataclasses.asdict(self.arch))
            except ModelLoadError as exc:
                raise ConfigError(str(exc)) from None
            need(not self.load_in_4bit, "model.load_in_4bit applies to a pretrained base, not to model.init=scratch")


@dataclass
class LoraConfig(Checked):
    """lora.*: the adapter PEFT puts on a pretrained base (unused with model.init=scratch)."""

    r: int = MISSING
    alpha: int = MISSING
    dropout: float = MISSING
    target_modules: List[str] = MISSING

    def check(self) -> None:
        at_least("lora.r", self.r, 1)
        at_least("lora.alpha", self.alpha, 1)
        at_least("lora.dropout", self.dropout, 0.0)


@dataclass
class HubConfig:
    """data.hub.*: a dataset on the Hugging Face hub (or a mirror with its layout, `root`)."""

    id: Optional[str] = MISSING
    config: Optional[str] = MISSING
    split: str = MISSING
    field: str = MISSING
    separator: str = MISSING
    revision: Optional[str] = MISSING
    builder: Optional[str] = MISSING
    data_files: Any = MISSING  # a path inside the repo, a list of them, or null
    root: Optional[str] = MISSING
    streaming: bool = MISSING


@dataclass
class TestHubConfig:
    """test.hub.*: a hub test corpus, used when id is set. Its keys carry their own defaults (a
    recipe names only what differs); root, field and separator left null follow data.hub's
    (evaluation/measure.py), so a mirror set by data.hub.root serves the test corpus too."""

    id: Optional[str] = None
    config: Optional[str] = None
    split: str = "train"
    field: Optional[str] = None
    separator: Optional[str] = None
    revision: Optional[str] = None
    builder: Optional[str] = None
    data_files: Any = None
    root: Optional[str] = None
    streaming: bool = True


def _is_paths(value) -> bool:
    """null, one path (file, directory or glob) or a list of them."""
    return value is None or isinstance(value, str) or (
        isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value))


@dataclass
class DataConfig(Checked):
    """data.*: the training corpus (train/corpus.py) and the modality that turns it into tokens."""

    modality: str = MISSING
    path: Any = MISSING  # see _is_paths
    sample_by: str = MISSING
    frontend: Dict[str, Any] = MISSING  # free-form: the front end's own options
    cache_dir: Optional[str] = MISSING
    hub: HubConfig = field(default_factory=HubConfig)

    def check(self) -> None:
        need(self.modality != "", "data.modality must name a front end (text | audio | image | video)")
        need(_is_paths(self.path), f"data.path must be a path or a list of paths, got {self.path!r}")
        one_of("data.sample_by", self.sample_by, ("document", "paragraph", "line"))


@dataclass
class TestConfig(Checked):
    """test.*: evaluation/evaluate.py's test corpus when it is not the split's test part."""

    path: Any = MISSING  # see _is_paths
    hub: TestHubConfig = field(default_factory=TestHubConfig)

    def check(self) -> None:
        need(_is_paths(self.path), f"test.path must be a path or a list of paths, got {self.path!r}")
        need(not (self.path and self.hub.id), "give one test source: test.path or test.hub, not both")
        need(self.hub.id is not None or self.hub == TestHubConfig(),
             "test.hub names no dataset: set test.hub.id (or leave test.hub alone)")


@dataclass
class SplitConfig(Checked):
    """split.*: contiguous train / validation / test byte ranges of the corpus (train/split.py)."""

    train_bytes: int = MISSING
    val_bytes: int = MISSING
    total_bytes: int = MISSING

    def check(self) -> None:
        for name in ("train_bytes", "val_bytes", "total_bytes"):
            at_least(f"split.{name}", getattr(self, name), 1)
        need(self.total_bytes > self.train_bytes + self.val_bytes,
             "split.total_bytes must exceed split.train_bytes + split.val_bytes (the rest is the test part)")


@dataclass
class TrainConfig(Checked):
    """train.*: the optimisation (train/trainer.py)."""

    seed: int = MISSING
    threads: Union[int, str, None] = MISSING  # N, "auto" or null
    batch_size: int = MISSING
    grad_accum: int = MISSING
    epochs: int = MISSING
    max_steps: Optional[int] = MISSING
    lr: float = MISSING
    weight_decay: float = MISSING
    scheduler: str = MISSING
    warmup_steps: int = MISSING
    max_grad_norm: float = MISSING
    mixed_precision: str = MISSING
    save_every: int = MISSING
    save_total_limit: Optional[int] = MISSING
    eval_every: int = MISSING
    log_every: int = MISSING
    resume: Union[bool, str] = MISSING  # true, false or "auto"

    def check(self) -> None:
        for name in ("batch_size", "grad_accum", "epochs", "save_every", "eval_every", "log_every"):
            at_least(f"train.{name}", getattr(self, name), 1)
        at_least("train.seed", self.seed, 0)
        at_least("train.warmup_steps", self.warmup_steps, 0)
        at_least("train.max_steps", self.max_steps, 1, optional=True)
        at_least("train.save_total_limit", self.save_total_limit, 1, optional=True)
        for name in ("lr", "weight_decay", "max_grad_norm"):
            at_least(f"train.{name}", getattr(self, name), 0.0)
        need(self.threads is None or self.threads == "auto" or (isinstance(self.threads, int) and self.threads >= 1),
             f"train.threads must be a positive integer, auto or null, got {self.threads!r}")
        one_of("train.mixed_precision", self.mixed_precision, ("no", "fp16", "bf16"))
        need(self.resume in (True, False, "auto"), f"train.resume must be auto, true or false, got {self.resume!r}")


@dataclass
class EvalConfig(Checked):
    """eval.*: max_bytes, batch and at_start drive validation while training; the rest are
    evaluation/evaluate.py's budgets (their values: recipes/evaluate/default.yaml)."""

    max_bytes: Optional[int] = MISSING
    batch: int = MISSING
    at_start: bool = MISSING
    test_bytes: Optional[int] = MISSING
    roundtrip_bytes: Optional[int] = MISSING
    shard_bytes: int = MISSING
    context: Optional[int] = MISSING
    coder_batch: int = MISSING
    threads: Optional[int] = MISSING
    output: Optional[str] = MISSING

    def check(self) -> None:
        at_least("eval.batch", self.batch, 1)
        at_least("eval.shard_bytes", self.shard_bytes, 1)
        at_least("eval.coder_batch", self.coder_batch, 1)
        for name in ("max_bytes", "test_bytes", "context", "threads"):
            at_least(f"eval.{name}", getattr(self, name), 1, optional=True)
        at_least("eval.roundtrip_bytes", self.roundtrip_bytes, 0, optional=True)


class LogConfig(Checked):
    """log.*: library logging and accelerate's experiment trackers. `with` (accelerate's log_with)
    is a Python keyword, so that field is declared by name below, before @dataclass runs."""

    level: str = MISSING
    progress: bool = MISSING

    def check(self) -> None:
        one_of("log.level", self.level, LOG_LEVELS)


def _add_keyword_field(cls, name: str, annotation, default) -> None:
    """Declare a field whose name is a Python keyword (log.with): dataclasses write __init__ and
    __repr__ from field names, so it stays out of both; OmegaConf types and sets it all the same."""
    cls.__annotations__[name] = annotation
    setattr(cls, name, field(default=default, init=False, repr=False, compare=False))


_add_keyword_field(LogConfig, "with", List[str], MISSING)
LogConfig = dataclass(LogConfig)


@dataclass
class Config(Checked):
    """The whole config: train/trainer.py reads it, evaluation/evaluate.py too (test, checkpoint
    and curve are evaluation's alone; their values sit in recipes/evaluate/default.yaml)."""

    print_config: bool = MISSING
    name: str = MISSING
    run: Optional[str] = MISSING
    checkpoints_dir: str = MISSING
    context: int = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    data: DataConfig = field(default_factory=DataConfig)
    test: TestConfig = field(default_factory=TestConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    checkpoint: Optional[str] = MISSING
    curve: bool = MISSING
    log: LogConfig = field(default_factory=LogConfig)

    def check(self) -> None:
        """Checks that span sections (the sections' own checks have run by now)."""
        at_least("context", self.context, 4)
        need(self.run is None or (self.run != "" and "/" not in self.run and not self.run.startswith(".")),
             f"run must be a plain directory name, got {self.run!r}")
        need(self.model.init != "scratch" or self.data.modality != "text",
             "model.init=scratch builds a byte-level model: use it with a byte modality "
             "(data.modality=audio, image or video), not text")
        from accelerate.utils import LoggerType

        known = [t.value for t in LoggerType]
        for tracker in getattr(self.log, "with"):
            need(tracker in known, f"log.with: unknown tracker '{tracker}' (accelerate knows {', '.join(known)})")


def register() -> None:
    """Put the schema where recipes/config.yaml's defaults list finds it (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA, node=Config)


# -- reading the schema: which keys exist, and what type each has (for one-line error messages) ---
def _unwrap(tp):
    """The dataclass or Dict inside Optional[...], else tp."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if typing.get_origin(tp) is Union and len(args) == 1 else tp


def _fields(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def lookup(key: str):
    """(type of a dotted key, or None; the first part of it the schema does not declare, or None).
    Anything below a free-form Dict field (data.frontend.*) is declared, with type Any."""
    node = Config
    for i, part in enumerate(key.split(".")):
        node = _unwrap(node)
        if typing.get_origin(node) in (dict, Dict):
            return Any, None
        if not dataclasses.is_dataclass(node) or part not in _fields(node):
            return None, ".".join(key.split(".")[: i + 1])
        node = _fields(node)[part]
    return node, None


def keys_of(parent: str) -> list[str]:
    """The keys declared directly under a dotted key ("" = the top level)."""
    node = _unwrap(lookup(parent)[0]) if parent else Config
    return list(_fields(node)) if dataclasses.is_dataclass(node) else []


def describe(tp) -> str:
    """A type as a message says it: "an integer or null", "a list of strings"."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is Union:
        words = [describe(a) for a in args if a is not type(None)]
        return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1] + (
            " or null" if type(None) in args else "")
    if typing.get_origin(tp) in (list, List):
        return "a list of " + describe(args[0]).split(" ", 1)[-1] + "s"
    if typing.get_origin(tp) in (dict, Dict) or dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, "a value")
