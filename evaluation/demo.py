"""`make demo`: the whole method end to end on a 2-core CPU, offline, in under ~20 minutes.

1. Corpus: the Python standard library's own source (`sysconfig.get_paths()["stdlib"]`, *.py files
   sorted by path, one document each) - a domain that exists on every machine with Python, so
   the demo needs no network. Files are copied, numbered in that order, into <out>/corpus.
2. LoRA-fine-tune `smollm2-135m` on it with the trainer (train/trainer.py, recipe `pystdlib`,
   hardware=cpu, a small step budget).
3. Evaluate the base and the tuned model on the held-out test bytes with evaluation/evaluate.py
   (fast scoring pass and the full verified round trip, both on the first `--test-bytes`), and the
   classical compressors (evaluation/baselines.py) on the same test bytes: one set of bytes per table.
4. Print one table (rich), save the validation curve as PNG (matplotlib) and a JSON summary.

    python -m evaluation.demo [--out demo_out] [--steps 12]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

MAX_FILE_BYTES = 48 * 1024  # a document must fit well inside the 128 KiB validation/test parts
SKIP_DIRS = ("site-packages", "dist-packages", "__pycache__")


def stdlib_files(root: str | os.PathLike | None = None, limit: int | None = None) -> list[Path]:
    """The stdlib's *.py files sorted by relative path: non-empty, UTF-8, <= MAX_FILE_BYTES, no
    third-party dirs; stops once `limit` bytes are gathered. Deterministic for a Python version."""
    base = Path(root or sysconfig.get_paths()["stdlib"])
    paths = sorted((p for p in base.rglob("*.py")
                    if not any(part in SKIP_DIRS for part in p.relative_to(base).parts) and p.is_file()),
                   key=lambda p: p.relative_to(base).as_posix())
    out, total = [], 0
    for p in paths:
        raw = p.read_bytes()
        if not raw or len(raw) > MAX_FILE_BYTES:
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(p)
        total += len(raw)
        if limit is not None and total >= limit:
            break
    return out


def gather_corpus(dest: Path, limit: int, root=None) -> dict:
    """Copy the files into `dest` as 00000-<path>.py (flat, so any path sort keeps the order)."""
    base = Path(root or sysconfig.get_paths()["stdlib"])
    files = stdlib_files(base, limit)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    h = hashlib.sha256()
    for i, p in enumerate(files):
        raw = p.read_bytes()
        (dest / f"{i:05d}-{p.relative_to(base).as_posix().replace('/', '__')}").write_bytes(raw)
        h.update(raw)
    return {"root": str(base), "files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "sha256": h.hexdigest(), "first": files[0].relative_to(base).as_posix() if files else None,
            "last": files[-1].relative_to(base).as_posix() if files else None}


def plot_curve(curve: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([c["step"] for c in curve], [c["val_bits_per_byte"] for c in curve], "o-")
    ax.set_xlabel("training step (step 0 = base model)")
    ax.set_ylabel("validation bits per byte")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(rows: list[dict], title: str):
    from rich.table import Table

    t = Table(title=title)
    for col in ("method", "bits/byte (test, scoring)", "bits/byte (container)", "ratio",
                "round trip", "compress B/s", "decompress B/s"):
        t.add_column(col, justify="left" if col == "method" else "right")

    def f(x, spec):
        return "-" if x is None else format(x, spec)

    for r in rows:
        t.add_row(r["method"], f(r.get("score_bpb"), ".4f"), f(r.get("container_bpb"), ".4f"),
                  f(r.get("ratio"), ".3f"), {True: "OK", False: "FAILED", None: "-"}[r.get("roundtrip_ok")]
                  if r.get("status", "ok") == "ok" else r["status"],
                  f(r.get("compress_bps"), ",.0f"), f(r.get("decompress_bps"), ",.0f"))
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evaluation.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="demo_out", help="working and output directory (default demo_out)")
    ap.add_argument("--steps", type=int, default=12, help="LoRA optimizer steps (default 12)")
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--model", default="smollm2-135m", help="base model spec (default smollm2-135m)")
    ap.add_argument("--test-bytes", type=int, default=65536, help="scored test bytes (default 64 KiB)")
    ap.add_argument("--roundtrip-bytes", type=int, default=None,
                    help="round-trip only the first N test bytes (default: all --test-bytes)")
    ap.add_argument("--val-bytes", type=int, default=16384, help="validation bytes per eval (16 KiB)")
    args = ap.parse_args(argv)
    if args.roundtrip_bytes is None:
        args.roundtrip_bytes = args.test_bytes
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rich.console import Console

    from compress.core.errors import LMCompressError
    from compress.fileio import write_json
    from evaluation import baselines, measure
    from train import config as config_mod
    from train import trainer

    console = Console(width=150)
    out = Path(args.out).resolve()
    started = time.perf_counter()
    timings = {}
    split = {"split.train_bytes": 1048576, "split.val_bytes": 131072, "split.total_bytes": 1310720}
    corpus_info = gather_corpus(out / "corpus", split["split.total_bytes"] + MAX_FILE_BYTES)
    console.print(f"corpus: {corpus_info['files']} stdlib files, {corpus_info['bytes']} bytes "
                  f"({corpus_info['first']} .. {corpus_info['last']})")
    run = time.strftime("demo-%Y%m%d-%H%M%S", time.gmtime())
    every = max(1, args.steps // 3)
    overrides = {"recipe": "pystdlib", "hardware": "cpu", "model.id": args.model,
                 "data.path": str(out / "corpus"), **split,
                 "context": args.context, "train.max_steps": args.steps, "train.eval_every": every,
                 "train.save_every": every, "train.batch_size": 1, "train.grad_accum": 4,
                 "eval.max_bytes": args.val_bytes, "checkpoints_dir": str(out / "checkpoints"), "run": run,
                 "eval.test_bytes": args.test_bytes, "eval.roundtrip_bytes": args.roundtrip_bytes,
                 "eval.shard_bytes": args.roundtrip_bytes or args.test_bytes}
    argv_train = [f"{k}={v}" for k, v in overrides.items()]
    t0 = time.perf_counter()
    if trainer.main(argv_train) != 0:
        return 1
    timings["train_seconds"] = time.perf_counter() - t0
    run_dir = out / "checkpoints" / "pystdlib" / run
    try:
        cfg = config_mod.compose(argv_train + [f"checkpoint={run_dir}"])
        manifest = measure.read_manifest(run_dir)
        data, ends, record = measure.test_part(cfg, manifest)  # checked against the manifest
        t0 = time.perf_counter()
        results = {"base": measure.evaluate(cfg, spec=cfg.model.id, data=data, ends=ends, record=record),
                   "tuned": measure.evaluate(cfg, data=data, ends=ends, record=record)}
        timings["evaluate_seconds"] = time.perf_counter() - t0
    except LMCompressError as exc:
        print(f"lmcompress-demo: {exc}", file=sys.stderr)
        return 1
    test = data[: args.test_bytes]
    t0 = time.perf_counter()
    base_results = baselines.run_all(test)
    timings["baselines_seconds"] = time.perf_counter() - t0

    rows = []
    for name, r in results.items():
        rt = r.get("roundtrip") or {}
        step = f" (step {manifest['step']})" if name == "tuned" else ""
        rows.append({"method": f"{Path(args.model).name} {name}{step}",
                     "score_bpb": r["scoring"]["bits_per_byte"], "container_bpb": rt.get("bits_per_byte"),
                     "ratio": rt.get("ratio"), "roundtrip_ok": rt.get("verified"),
                     "compress_bps": rt.get("compress_bytes_per_s"),
                     "decompress_bps": rt.get("decompress_bytes_per_s")})
    for b in base_results:
        rows.append({"method": b.codec, "status": b.status, "score_bpb": None, "container_bpb": b.bits_per_byte,
                     "ratio": b.ratio, "roundtrip_ok": b.roundtrip_ok, "compress_bps": b.compress_bytes_per_s,
                     "decompress_bps": (len(test) / b.decompress_seconds) if b.decompress_seconds else None})
    title = (f"python stdlib test bytes: scoring on {len(test)} B, model containers on the first "
             f"{results['tuned']['roundtrip']['bytes']} B, baselines on {len(test)} B (2-core CPU)")
    console.print(table(rows, title))

    curve = manifest["curve"]
    if not curve or curve[0]["step"] != 0:  # the base as step 0
        curve = [{"step": 0, "val_bits_per_byte": None}] + curve
    png = out / "curve.png"
    plot_curve([c for c in curve if c["val_bits_per_byte"] is not None], png,
               f"LoRA on the Python stdlib ({args.val_bytes} validation bytes)")
    tuned_bpb = results["tuned"]["scoring"]["bits_per_byte"]
    ok_baselines = [b for b in base_results if b.status == "ok"]
    verdict = {
        "tuned_beats_base": tuned_bpb < results["base"]["scoring"]["bits_per_byte"],
        "tuned_container_beats_base": (results["tuned"]["roundtrip"]["container_bytes"]
                                       < results["base"]["roundtrip"]["container_bytes"]),
        "tuned_beats_every_baseline": all(tuned_bpb < b.bits_per_byte for b in ok_baselines),
        "tuned_container_beats_every_baseline": all(
            results["tuned"]["roundtrip"]["bits_per_byte"] < b.bits_per_byte for b in ok_baselines),
    }
    timings["total_seconds"] = time.perf_counter() - started
    summary = {"format": "lmcompress-demo/1", "corpus": corpus_info, "run_dir": str(run_dir),
               "train_overrides": overrides, "curve": manifest["curve"], "test": results["tuned"]["test"],
               "models": results, "baselines": baselines.as_dicts(base_results), "table": rows,
               "verdict": verdict, "timings": timings, "curve_png": str(png)}
    write_json(out / "summary.json", summary)
    console.print(f"tuned beats base: {verdict['tuned_beats_base']} (container: "
                  f"{verdict['tuned_container_beats_base']}); tuned beats every baseline: "
                  f"{verdict['tuned_beats_every_baseline']} (container: "
                  f"{verdict['tuned_container_beats_every_baseline']})")
    console.print(f"curve: {png}\nsummary: {out / 'summary.json'}\ntime: "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    return 0 if all(r["roundtrip_ok"] for r in rows[:2]) else 1


if __name__ == "__main__":
    sys.exit(main())
