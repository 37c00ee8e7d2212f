"""The README.md (Hugging Face model card) of a checkpoint, and the base reference PEFT can load.

Why: a run directory is also a plain PEFT adapter. A user who never installed lmcompress should be
able to `AutoPeftModelForCausalLM.from_pretrained(run_dir)`, and anyone reading the directory on the
hub or on disk should see what it was trained on and how well it codes, without parsing
manifest.json. Everything in the card is rendered from the manifest, so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

CARD_NAME = "README.md"


def peft_base_reference(spec: str) -> str:
    """What adapter_config.json's `base_model_name_or_path` should hold for the base `spec`: a hub
    id stays as it is, a local directory or .gguf becomes an absolute path, and an lmcompress alias
    (smollm2-135m) becomes the absolute path of the file it stands for (aliases mean nothing to
    PEFT). lmcompress itself reads the base from manifest.json, which keeps the spec as given."""
    from compress.core import models

    if spec in models.ALIASES:
        return str(models.resolve_alias(spec))
    path = Path(spec).expanduser()
    if path.exists():
        return str(path.resolve())
    return spec


def _is_gguf(reference: str) -> bool:
    return reference.endswith(".gguf")


def _is_hub_id(reference: str) -> bool:
    return not Path(reference).is_absolute() and not _is_gguf(reference)


def _source_text(source: dict) -> str:
    """One readable line for the split record's corpus source (train/corpus.py)."""
    if source.get("kind") == "hub":
        extra = ", ".join(f"{k} {source[k]}" for k in ("config", "split", "revision") if source.get(k))
        return f"hub dataset `{source.get('id')}`" + (f" ({extra})" if extra else "")
    files = source.get("files") or []
    if files:
        shown = ", ".join(f"`{f['path']}` ({f['bytes']:,} B)" for f in files[:3])
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        return f"{len(files)} local file(s): {shown}{more}, read by {source.get('sample_by')}"
    return "unrecorded"


def _split_rows(split: dict) -> list[str]:
    rows = []
    for part in ("train", "validation", "test"):
        p = split.get(part) or {}
        if p:
            docs = p.get("documents", [None, None])
            count = docs[1] - docs[0] if None not in docs else "?"
            rows.append(f"| {part} | {p['offset']:,} | {p['length']:,} | {count} | `{p['sha256'][:16]}…` |")
    return rows


def _curve_rows(curve: list) -> list[str]:
    rows = []
    for c in curve:
        loss = "–" if c.get("train_loss") is None else f"{c['train_loss']:.4f}"
        rows.append(f"| {c['step']} | {loss} | {c['val_bits_per_byte']:.4f} | {c.get('tokens_seen', 0):,} |")
    return rows


def render(manifest: dict, run_dir: str | Path, base_reference: str | None) -> str:
    """The card's text for a checkpoint `manifest` (train/checkpoint.py) saved in `run_dir`."""
    from compress.core import container

    base = manifest.get("base_model") or {}
    recipe = manifest.get("recipe") or {}
    scratch = base.get("init") == "scratch"
    name = f"{manifest.get('recipe_name')}/{manifest.get('run')}"
    where = str(run_dir)
    front = ["---", "library_name: " + ("transformers" if scratch else "peft"),
             "tags: [lmcompress, compression" + ("" if scratch else ", lora") + "]"]
    if base_reference and _is_hub_id(base_reference):
        front.append(f"base_model: {base_reference}")
    front.append("---")
    lines = front + [
        "",
        f"# lmcompress {'byte model' if scratch else 'LoRA adapter'}: {name}, step {manifest.get('step')}",
        "",
        "Made by lmcompress for lossless compression: the coder "
        "turns this model's next-token distributions into bits, so validation bits per byte below are "
        "what the compressor achieves on held-out bytes of the same domain.",
        "",
        "## Load it",
        "",
    ]
    if scratch:
        lines += ["```python", "from transformers import AutoModelForCausalLM, AutoTokenizer",
                  f'model = AutoModelForCausalLM.from_pretrained("{where}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{where}")', "```"]
    elif base_reference and _is_gguf(base_reference):
        gguf = Path(base_reference)
        lines += [
            f"The base is a GGUF file (`{base.get('id')}` = `{base_reference}`), which PEFT cannot load "
            "by name; load it with transformers' `gguf_file=` first (the adapter was trained on the "
            f"dequantized weights in {base.get('dtype')}):", "",
            "```python", "import torch", "from peft import PeftModel",
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            f'base = AutoModelForCausalLM.from_pretrained("{gguf.parent}", gguf_file="{gguf.name}", '
            f"dtype=torch.{base.get('dtype') or 'float32'})",
            f'model = PeftModel.from_pretrained(base, "{where}")',
            f'tokenizer = AutoTokenizer.from_pretrained("{where}")', "```",
        ]
    else:
        lines += ["```python", "from peft import AutoPeftModelForCausalLM",
                  "from transformers import AutoTokenizer",
                  f'model = AutoPeftModelForCausalLM.from_pretrained("{where}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{where}")', "```"]
    lines += ["", f"With lmcompress: `lmcompress -m {where} FILE` (compress), `lmcompress -d FILE.lmc` "
              "(the container names the model and pins its hashes).", ""]
    lines += ["## Base model", "",
              "| spec | loaded from | dtype | sha256 of parameters |", "| --- | --- | --- | --- |",
              f"| `{base.get('id')}` | `{base_reference or '(this directory)'}` | {base.get('dtype')} "
              f"| `{(base.get('sha256') or manifest.get('model_sha256') or '')[:16]}…` |", ""]
    split = manifest.get("split") or {}
    source = (split.get("corpus") or {}).get("source") or {}
    lines += ["## Data", "",
              f"Modality `{manifest.get('modality')}`; {_source_text(source)}. The "
              "parts are contiguous byte ranges of the concatenated corpus, cut at document boundaries "
              "(train/split.py).", "",
              "| part | offset | bytes | documents | sha256 |", "| --- | --- | --- | --- | --- |",
              *_split_rows(split), ""]
    curve = manifest.get("curve") or []
    evaluation = manifest.get("eval") or {}
    lines += ["## Validation curve", "",
              f"Bits per byte on {evaluation.get('bytes') or 0:,} validation bytes "
              "(compress.core.scoring on the coder's own segmentation; step 0 is the untouched base).", "",
              "| step | train loss (nats/token) | validation bits/byte | tokens seen |", "| --- | --- | --- | --- |",
              *_curve_rows(curve), ""]
    lora = recipe.get("lora") or {}
    train = recipe.get("train") or {}
    lines += ["## Training and coding", "",
              ("" if scratch else f"LoRA r={lora.get('r')}, alpha={lora.get('alpha')}, "
               f"dropout={lora.get('dropout')} on {', '.join(lora.get('target_modules') or [])}; ") +
              f"lr {train.get('lr')}, batch {train.get('batch_size')} x {train.get('grad_accum')} accumulation "
              f"x {manifest.get('num_processes', 1)} process(es), {manifest.get('tokens_seen', 0):,} tokens seen.", "",
              f"Coder: context {manifest.get('context')} tokens, symbolizer `{manifest.get('symbolizer')}`, "
              f"container format version {container.FORMAT_VERSION}.", "",
              "Libraries: " + ", ".join(f"{k} {v}" for k, v in (manifest.get("libraries") or {}).items()) + ".", ""]
    return "\n".join(lines)


def write(directory: Path, manifest: dict, run_dir: str | Path, base_reference: str | None) -> Path:
    path = Path(directory) / CARD_NAME
    path.write_text(render(manifest, run_dir, base_reference))
    return path
