#!/usr/bin/env python
"""Base bits per byte of each pretrained model alias on the same files: the model-size ladder.

Why: the paper's claim is that a model that understands more compresses more. This puts the
embedded models (smollm2-135m, and gemma3-270m when its optional packages are installed) side by
side, per domain, with nothing fine-tuned: the "model size vs bits" row of that story.

Bits come from the fast parallel scoring pass (`Compressor(alias).score`, compress/core/scoring.py), a
measurement of what the coder would achieve on these bytes, not a coded file. Each run merges its
rows into the JSON (one row per model and file), so each model and file can be measured on its
own (each under ~10 minutes on a busy 2-core CPU):

    for f in medical legal alice29; do for m in smollm2-135m gemma3-270m; do
      nice -n 10 python bench/model_ladder.py --model $m --file $f; done; done
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from common import ROOT, Compressor, machine
from compress.core import models

DATA = ROOT.parent / "shared" / "data" / "text"
FILES = {"medical": DATA / "medical.txt", "legal": DATA / "legal.txt",
         "alice29": DATA / "canterbury" / "alice29.txt"}
OUT = ROOT / "bench" / "results" / "model_ladder.json"


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe_model(alias: str, lm) -> dict:
    gguf = models.resolve_alias(alias)
    return {"alias": alias, "pip": models.ALIASES[alias][0], "file": gguf.name,
            "file_sha256": models.sha256_file(gguf), "file_bytes": gguf.stat().st_size,
            "parameters": int(sum(p.numel() for p in lm.model.parameters())),
            "vocab_size": int(lm.model.get_output_embeddings().weight.shape[0]),
            "base_sha256": lm.base_sha256, "architecture": type(lm.model).__name__}


def measure(alias: str, files: dict[str, Path], nbytes: int, threads: int, batch: int) -> tuple[dict, list]:
    comp = Compressor(alias, threads=threads)
    started = time.perf_counter()
    lm = comp.loaded()
    info = describe_model(alias, lm)
    info["load_seconds"] = round(time.perf_counter() - started, 1)
    rows = []
    for name, path in files.items():
        data = path.read_bytes()[:nbytes]
        before, t0 = load_now(), time.perf_counter()
        score = comp.score(data, batch=batch)
        rows.append({"model": alias, "file": name, "path": str(path.relative_to(ROOT.parent)),
                     "bytes": len(data), "data_sha256": hashlib.sha256(data).hexdigest(),
                     "bits": round(score.bits, 3), "tokens": score.tokens, "segments": score.segments,
                     "bits_per_byte": round(score.bits / len(data), 4), "context": comp.context_for(lm),
                     "seconds": round(time.perf_counter() - t0, 1), "loadavg_before": before,
                     "loadavg_after": load_now()})
        print(f"{alias:<14} {name:<8} {len(data):>7} B  {rows[-1]['bits_per_byte']:.4f} bits/byte "
              f"({rows[-1]['seconds']} s, load {before[0]})", flush=True)
    return info, rows


def merge(path: Path, info: dict, rows: list, record: dict) -> dict:
    """Replace this model's rows in the JSON, keep the other models'."""
    doc = json.loads(path.read_text()) if path.is_file() else {"rows": [], "models": {}, "runs": []}
    measured = {x["file"] for x in rows}
    doc["rows"] = [r for r in doc["rows"] if not (r["model"] == info["alias"] and r["file"] in measured)]
    doc["rows"] += rows
    doc["models"][info["alias"]] = info
    doc["runs"] = [r for r in doc["runs"]
                   if (r["model"], r.get("files")) != (record["model"], record["files"])] + [record]
    doc["metric"] = "base bits per byte, fast scoring pass (compress.core.scoring.score_bytes), no fine-tuning"
    return doc


def table(doc: dict) -> str:
    files = list(dict.fromkeys(r["file"] for r in doc["rows"]))
    lines = [f"| model | parameters | {' | '.join(files)} |", "|---|---:|" + "---:|" * len(files)]
    for alias, info in sorted(doc["models"].items(), key=lambda kv: kv[1]["parameters"]):
        cells = {r["file"]: r for r in doc["rows"] if r["model"] == alias}
        vals = [f"{cells[f]['bits_per_byte']:.3f}" if f in cells else "-" for f in files]
        lines.append(f"| {alias} | {info['parameters'] / 1e6:.0f}M | {' | '.join(vals)} |")
    sizes = sorted({r["bytes"] for r in doc["rows"]})
    lines.append(f"(bits per byte of the first {', '.join(str(s) for s in sizes)} bytes of each file)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help="alias (repeatable; default: every alias installed)")
    ap.add_argument("--file", action="append", choices=sorted(FILES),
                    help="which file (repeatable; default: all of them)")
    ap.add_argument("--bytes", type=int, default=65536, help="first N bytes of each file (default 65536)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--output", type=Path, default=OUT)
    args = ap.parse_args(argv)
    aliases = args.model or list(models.ALIASES)
    for alias in aliases:
        try:
            models.resolve_alias(alias)
        except models.ModelLoadError as exc:
            if args.model:
                sys.exit(f"model_ladder: {exc}")
            print(f"model_ladder: skipping {alias}: {exc}", file=sys.stderr)
            continue
        start_load = load_now()
        files = {k: v for k, v in FILES.items() if not args.file or k in args.file}
        info, rows = measure(alias, files, args.bytes, args.threads, args.batch)
        command = " ".join(["python", "bench/model_ladder.py", *sys.argv[1:]])
        record = {"model": alias, "files": sorted(files), "bytes": args.bytes, "command": command,
                  "machine": machine(), "threads": args.threads, "batch": args.batch,
                  "loadavg_start": start_load, "loadavg_end": load_now(),
                  "busy": max(start_load[0], *(r["loadavg_before"][0] for r in rows)) > (os.cpu_count() or 1) / 2,
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        doc = merge(args.output, info, rows, record)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=1) + "\n")
    if args.output.is_file():
        print(table(json.loads(args.output.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
