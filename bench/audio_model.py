"""WAV files through a trained audio model: the full coded round trip, beside FLAC and WavPack.

    python bench/audio_model.py CHECKPOINT [--dir ../shared/data/audio/librivox] [--batch 256]
    python bench/audio_model.py CHECKPOINT --audio-bits 8     # the paper's LOSSY 8-bit mode

For each WAV: `Compressor.compress` with the checkpoint (audio front end with the layout the
checkpoint was trained with, read from its manifest), `decompress` in the same process, the output
compared byte for byte with the input (with --audio-bits 8: with the 8-bit 16 kHz mono file the
front end derives, which is what that mode promises), container size and seconds recorded.
Ratio = PCM payload bytes / container bytes, bits per sample = 8 * container bytes / samples, as in
bench/audio_baselines.py, whose measured FLAC and WavPack sizes of the same files (matched by
sha256) fill the other rows.

Prints a table and writes bench/results/audio_model[_8bit].json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compress import container, frontends  # noqa: E402
from compress.bytemodel import parameter_count  # noqa: E402
from compress.engine import library_versions  # noqa: E402
from bench.common import checkpoint_compressor, machine  # noqa: E402

LIBRIVOX = ROOT.parent / "shared" / "data" / "audio" / "librivox"
BASELINES = ROOT / "bench" / "results" / "audio_baselines.json"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--dir", default=str(LIBRIVOX))
    p.add_argument("--batch", type=int, default=256, help="segments coded side by side")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--audio-bits", type=int, choices=(8,), default=None, help="paper mode (lossy)")
    p.add_argument("--out", default=None)
    args = p.parse_args()

    manifest, comp = checkpoint_compressor("audio_model", args.checkpoint, batch=args.batch, threads=args.threads)
    variant = "paper-8bit-16k-mono" if args.audio_bits else "original"
    measured = json.loads(BASELINES.read_text())["variants"][variant]
    by_sha = {f["sha256"]: f for f in measured["files"]}

    # the checkpoint's front-end options, by the engine's rule: the lossy 8-bit mode only when asked
    options = comp.frontend_options("audio", **({"audio_bits": args.audio_bits} if args.audio_bits else {}))
    lm = comp.loaded()
    frontend = frontends.get("audio", **options)
    rows = []
    for f in sorted(Path(args.dir).glob("*.wav")):
        data = f.read_bytes()
        payload, extras = frontend.split(data)
        expected = frontend.join(payload, extras)  # the input itself, or the 8-bit file in paper mode
        blob = comp.compress(data, modality="audio", **options)
        c_s = comp.last.seconds
        out = comp.decompress(blob)
        d_s = comp.last.seconds
        samples = len(payload) // max(1, int(extras.get("width", 2)))
        base = by_sha.get(hashlib.sha256(expected).hexdigest(), {})  # the file that comes back
        row = {"file": f.name, "payload_bytes": len(payload), "samples": samples,
               "container_bytes": len(blob), "header_bytes": container.stored_header_length(blob),
               "ratio": len(payload) / len(blob), "bits_per_sample": 8 * len(blob) / max(1, samples),
               "compress_s": c_s, "decompress_s": d_s, "compress_B_s": len(payload) / c_s,
               "decompress_B_s": len(payload) / d_s, "exact": out == expected,
               "baselines": {k: v["bytes"] for k, v in base.get("codecs", {}).items()}}
        rows.append(row)
        print(f"{f.name}: {len(blob):>8} B ratio {row['ratio']:.3f} ({row['bits_per_sample']:.3f} bits/sample) "
              f"compress {c_s:6.1f} s decompress {d_s:6.1f} s exact={row['exact']}", flush=True)

    payload_total = sum(r["payload_bytes"] for r in rows)
    samples_total = sum(r["samples"] for r in rows)
    table = {"lmcompress (this checkpoint)": sum(r["container_bytes"] for r in rows)}
    for name in sorted({k for r in rows for k in r["baselines"]}):
        if all(name in r["baselines"] for r in rows):
            table[name] = sum(r["baselines"][name] for r in rows)
    mode = "8-bit 16 kHz mono (LOSSY preprocessing)" if args.audio_bits else "lossless 16-bit"
    print(f"\n{len(rows)} file(s), {payload_total} payload bytes, {mode}; ratio = payload / compressed")
    print(f"{'codec':<38} {'bytes':>9} {'ratio':>7} {'bits/sample':>12}")
    for name, size in sorted(table.items(), key=lambda kv: kv[1]):
        print(f"{name:<38} {size:>9} {payload_total / size:>7.3f} {8 * size / samples_total:>12.3f}")
    total_c = sum(r["compress_s"] for r in rows)
    total_d = sum(r["decompress_s"] for r in rows)
    print(f"compress {total_c:.1f} s ({payload_total / total_c:.0f} B/s), decompress {total_d:.1f} s "
          f"({payload_total / total_d:.0f} B/s)")
    result = {
        "what": f"WAV files coded by an audio-model checkpoint, {mode}; ratio = payload bytes / container bytes",
        "machine": machine(),
        "command": " ".join(["python"] + sys.argv),
        "checkpoint": str(args.checkpoint), "model_sha256": lm.base_sha256,
        "parameters": parameter_count(lm.model),
        "context": int(manifest["context"]), "batch": args.batch, "threads": args.threads,
        "frontend": options, "lossy": bool(args.audio_bits), "libraries": library_versions(),
        "baselines_from": f"{BASELINES.relative_to(ROOT)} ({variant})",
        "totals": {name: {"bytes": size, "ratio": payload_total / size,
                          "bits_per_sample": 8 * size / samples_total} for name, size in table.items()},
        "compress_s": total_c, "decompress_s": total_d,
        "compress_B_s": payload_total / total_c, "decompress_B_s": payload_total / total_d,
        "all_exact": all(r["exact"] for r in rows), "rows": rows,
    }
    out = args.out or ROOT / "bench" / "results" / f"audio_model{'_8bit' if args.audio_bits else ''}.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0 if result["all_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
