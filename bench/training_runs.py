#!/usr/bin/env python
"""A table of trained runs from their own manifests: settings, validation curve, training time.

Why: a checkpoint's validation curve and training time are written by the trainer into
`checkpoints/<recipe>/<run>/manifest.json`, which is not committed (checkpoints never are). A sweep
of training settings (learning rate, rank) is chosen on those validation figures, so they are kept
here as JSON beside the other results, with the settings that made each run, read from the same
manifest the compressor loads. Nothing is re-measured: the figures are the trainer's own.

    python bench/training_runs.py checkpoints/medal/cpu60lr2 checkpoints/medal/cpu60lr4 \\
        checkpoints/medal/cpu60lr4b8 --load "idle (...)" --out bench/results/training_medal_sweep.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import ROOT, machine, save_result
from compress.core.models import read_manifest

OUT = ROOT / "bench" / "results" / "training_runs.json"


def run_row(run_dir: Path) -> dict:
    """One run's settings and curve, from its final manifest; exits 1 naming a directory that is
    not a finished run."""
    manifest = read_manifest(str(run_dir))
    if manifest is None or manifest.get("kind") != "final":
        sys.exit(f"training_runs: {run_dir} is not a finished run (no final manifest.json)")
    recipe, curve = manifest["recipe"], manifest["curve"]
    train, lora = recipe["train"], recipe.get("lora") or {}
    points = [{"step": p["step"], "val_bits_per_byte": p["val_bits_per_byte"], "seconds": p["seconds"],
               "train_loss": p["train_loss"], "tokens_seen": p["tokens_seen"]} for p in curve]
    return {
        "recipe": manifest["recipe_name"], "run": manifest["run"], "path": str(run_dir),
        "base_model": manifest["base_model"].get("id"), "adapter_sha256": manifest["adapter_sha256"],
        "steps": manifest["step"], "tokens_seen": manifest["tokens_seen"],
        "settings": {"lr": train["lr"], "scheduler": train["scheduler"], "warmup_steps": train["warmup_steps"],
                     "batch_size": train["batch_size"], "grad_accum": train["grad_accum"],
                     "threads": train.get("threads"), "num_processes": manifest.get("num_processes"),
                     "context": manifest["context"], "lora_r": lora.get("r"), "lora_alpha": lora.get("alpha"),
                     "lora_dropout": lora.get("dropout"), "lora_targets": lora.get("target_modules")},
        "validation": {"bytes": recipe.get("eval", {}).get("max_bytes"),
                       "first": points[0]["val_bits_per_byte"] if points else None,
                       "last": points[-1]["val_bits_per_byte"] if points else None},
        "training_seconds": points[-1]["seconds"] if points else None,
        "curve": points,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="finished run directories (checkpoints/<recipe>/<run>)")
    ap.add_argument("--load", required=True, help="how loaded the machine was while the runs trained")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = [run_row(r) for r in args.runs]
    print(f"{'run':<24} {'lr':>8} {'r':>3} {'alpha':>5} {'steps':>5} {'tokens':>8} {'seconds':>8} "
          f"{'val first':>9} {'val last':>9}")
    for r in rows:
        s = r["settings"]
        print(f"{r['recipe'] + '/' + r['run']:<24} {s['lr']:>8g} {s['lora_r']!s:>3} {s['lora_alpha']!s:>5} "
              f"{r['steps']:>5} {r['tokens_seen']:>8} {r['training_seconds']:>8.0f} "
              f"{r['validation']['first']:>9.4f} {r['validation']['last']:>9.4f}")
    doc = {"format": "lmcompress-training-runs/1", "machine": machine(), "load": args.load,
           "method": "each run's final manifest.json as the trainer wrote it (validation: the coder's "
                     "segmentation on the first eval.max_bytes of the validation part)",
           "runs": rows}
    save_result(args.out, doc, "bench/training_runs.py", argv)


if __name__ == "__main__":
    main()
