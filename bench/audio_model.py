"""WAV files through an audio model: the full coded round trip, beside FLAC and WavPack.

    python bench/audio_model.py CHECKPOINT [--dir ../shared/data/audio/librivox] [--batch 256]
    python bench/audio_model.py CHECKPOINT --audio-bits 8     # the paper's LOSSY 8-bit mode
    python bench/audio_model.py CHECKPOINT --score --roundtrip 1   # a LoRA-tuned LLM (slow coder)
    python bench/audio_model.py smollm2-135m --base --predictor lpc --score --roundtrip 1

MODEL is a trained checkpoint (its manifest gives the context and the front-end options), or with
--base a base model spec (compress.core.models: smollm2-135m, a hub id, a local dir or .gguf), coded at
--context with the front end's --predictor: the "base" row beside a tuned checkpoint.

For each WAV: `Compressor.compress`, `decompress` in the same process, the output compared byte for
byte with the input (with --audio-bits 8: with the 8-bit 16 kHz mono file the front end derives,
which is what that mode promises), container size and seconds recorded. --roundtrip N codes only
the N smallest files: a 135M-parameter LLM codes ~240 audio bytes/s on 2 cores (one token per
byte), so all of librivox would take about an hour each way. --score adds the fast parallel scoring
pass on every file (ideal bits of the model's distributions; a measurement, never a code), which
is what compares models on the whole set when only some files are coded.
Ratio = PCM payload bytes / compressed bytes, bits per sample = 8 * compressed bytes / samples, as
in bench/audio_baselines.py, whose measured FLAC and WavPack sizes of the same files (matched by
sha256) fill the other rows.

Prints a table and writes bench/results/audio_model[_8bit].json (or --out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from common import checkpoint_compressor, machine, print_size_table, totals_over, training_facts
from compress.core import container
from compress.core.bytemodel import parameter_count
from compress.core.engine import DEFAULT_CONTEXT, Compressor, library_versions

ROOT = Path(__file__).resolve().parent.parent

LIBRIVOX = ROOT.parent / "shared" / "data" / "audio" / "librivox"
BASELINES = ROOT / "bench" / "results" / "audio_baselines.json"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="a trained checkpoint; with --base, a base model spec")
    p.add_argument("--base", action="store_true",
                   help="MODEL is a base model (no manifest): front end from --predictor, context from --context")
    p.add_argument("--predictor", choices=("none", "lpc", "lpc+lms", "nlms+lms"), default="none",
                   help="with --base: the audio predictor")
    p.add_argument("--context", type=int, default=DEFAULT_CONTEXT, help="with --base: tokens a segment sees")
    p.add_argument("--score", action="store_true", help="also the fast scoring pass (ideal bits) on every file")
    p.add_argument("--score-batch", type=int, default=8, help="segments per scoring-pass batch")
    p.add_argument("--roundtrip", default="all", help="'all', or N: code and decode only the N smallest files")
    p.add_argument("--dir", default=str(LIBRIVOX))
    p.add_argument("--batch", type=int, default=256, help="segments coded side by side")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--audio-bits", type=int, choices=(8,), default=None, help="paper mode (lossy)")
    p.add_argument("--out", default=None)
    args = p.parse_args()

    if args.roundtrip != "all" and not args.roundtrip.isdigit():
        sys.exit(f"audio_model: --roundtrip takes 'all' or a count, not {args.roundtrip!r}")
    if args.base:
        comp = Compressor(args.model, context=args.context, batch=args.batch, threads=args.threads)
        manifest = None
        base_options = {"predictor": args.predictor} if args.predictor != "none" else {}
    else:
        manifest, comp = checkpoint_compressor("audio_model", args.model, batch=args.batch, threads=args.threads)
        base_options = {}
    variant = "paper-8bit-16k-mono" if args.audio_bits else "original"
    measured = json.loads(BASELINES.read_text())["variants"][variant]
    by_sha = {f["sha256"]: f for f in measured["files"]}

    # the checkpoint's front-end options, by the engine's rule: the lossy 8-bit mode only when asked
    options = comp.frontend_options("audio", **base_options,
                                    **({"audio_bits": args.audio_bits} if args.audio_bits else {}))
    frontend = comp.frontend("audio", **options)
    lm = comp.loaded(dtype=comp.dtype_for(frontend))  # the model that codes
    files = sorted(Path(args.dir).glob("*.wav"))
    if not files:
        sys.exit(f"audio_model: no .wav files in {args.dir}")
    coded = {f.name for f in (files if args.roundtrip == "all"
                              else sorted(files, key=lambda f: f.stat().st_size)[:int(args.roundtrip)])}
    rows = []
    for f in files:
        data = f.read_bytes()
        payload, extras = frontend.split(data)
        expected = frontend.join(payload, extras)  # the input itself, or the 8-bit file in paper mode
        samples = len(payload) // max(1, int(extras.get("width", 2)))
        base = by_sha.get(hashlib.sha256(expected).hexdigest(), {})  # the file that comes back
        row = {"file": f.name, "payload_bytes": len(payload), "samples": samples,
               "baselines": {k: v["bytes"] for k, v in base.get("codecs", {}).items()}}
        if args.score:
            started = time.perf_counter()
            sc = comp.score(data, modality="audio", batch=args.score_batch, **options)
            row.update(score_bits=sc.bits, score_bits_per_sample=sc.bits / max(1, samples),
                       score_ratio=8 * len(payload) / sc.bits, score_s=time.perf_counter() - started)
            print(f"{f.name}: scoring {row['score_bits_per_sample']:.3f} bits/sample "
                  f"(ratio {row['score_ratio']:.3f})", flush=True)
        rows.append(row)
        if f.name not in coded:
            continue
        blob = comp.compress(data, modality="audio", **options)
        c_s = comp.last.seconds
        out = comp.decompress(blob)
        d_s = comp.last.seconds
        header = container.read_header(blob)
        row.update({"container_bytes": len(blob), "header_bytes": container.stored_header_length(blob),
                    "coder": {"stepper": header.get("stepper"), "rows": header.get("batch"),
                              "keep": header.get("keep"), "adapt": header.get("adapt")},
                    "adaptive_stage": (header.get("frontend") or {}).get("adaptive"),
                    "ratio": len(payload) / len(blob), "bits_per_sample": 8 * len(blob) / max(1, samples),
                    "compress_s": c_s, "decompress_s": d_s, "compress_B_s": len(payload) / c_s,
                    "decompress_B_s": len(payload) / d_s, "exact": out == expected})
        print(f"{f.name}: {len(blob):>8} B ratio {row['ratio']:.3f} ({row['bits_per_sample']:.3f} bits/sample) "
              f"compress {c_s:6.1f} s decompress {d_s:6.1f} s exact={row['exact']}", flush=True)

    mode = "8-bit 16 kHz mono (LOSSY preprocessing)" if args.audio_bits else "lossless 16-bit"
    coded_rows = [r for r in rows if "container_bytes" in r]
    totals = {}
    if args.score:  # every file: the model's ideal bits beside the codecs' real sizes
        totals["all files"] = _table(rows, "lmcompress scoring pass (ideal)",
                                     lambda r: r["score_bits"] / 8, mode)
    if coded_rows:  # the files coded in containers: real sizes on both sides
        what = "all files" if len(coded_rows) == len(rows) else f"{len(coded_rows)} coded file(s)"
        totals[f"{what}, containers"] = _table(coded_rows, "lmcompress container",
                                                lambda r: r["container_bytes"], mode)
    total_c = sum(r["compress_s"] for r in coded_rows)
    total_d = sum(r["decompress_s"] for r in coded_rows)
    coded_payload = sum(r["payload_bytes"] for r in coded_rows)
    if coded_rows:
        print(f"compress {total_c:.1f} s ({coded_payload / total_c:.0f} B/s), decompress {total_d:.1f} s "
              f"({coded_payload / total_d:.0f} B/s) for {coded_payload} payload bytes")
    result = {
        "what": f"WAV files coded by an audio model, {mode}; ratio = payload bytes / compressed bytes",
        "machine": machine(),
        "command": " ".join(["python"] + sys.argv),
        "model": str(args.model), "base_model": bool(args.base), "model_sha256": lm.base_sha256,
        "adapter_sha256": lm.adapter_sha256,
        "parameters": parameter_count(lm.model),
        "training": training_facts(args.model, manifest) if manifest else None,
        "context": comp.context, "batch": args.batch, "threads": args.threads,
        "score_batch": args.score_batch if args.score else None,
        "frontend": options, "lossy": bool(args.audio_bits), "libraries": library_versions(),
        "baselines_from": f"{BASELINES.relative_to(ROOT)} ({variant})",
        "totals": totals,
        "coded_files": [r["file"] for r in coded_rows],
        "compress_s": total_c, "decompress_s": total_d,
        "compress_B_s": coded_payload / total_c if coded_rows else None,
        "decompress_B_s": coded_payload / total_d if coded_rows else None,
        "all_exact": all(r["exact"] for r in coded_rows), "rows": rows,
    }
    out = args.out or ROOT / "bench" / "results" / f"audio_model{'_8bit' if args.audio_bits else ''}.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0 if result["all_exact"] else 1


def _table(rows: list[dict], label: str, model_bytes, mode: str) -> dict:
    """Print and return {name: {bytes, ratio, bits_per_sample}} over `rows`: the model's bytes
    (`model_bytes(row)`) and each codec that measured every one of these files."""
    payload = sum(r["payload_bytes"] for r in rows)
    samples = sum(r["samples"] for r in rows)
    table = totals_over(rows, label, model_bytes)
    print(f"\n{len(rows)} file(s), {payload} payload bytes, {mode}; ratio = payload / compressed")
    print_size_table(table, payload, samples, "sample")
    return {name: {"bytes": size, "ratio": payload / size, "bits_per_sample": 8 * size / samples}
            for name, size in table.items()}


if __name__ == "__main__":
    sys.exit(main())
