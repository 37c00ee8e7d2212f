"""Classical lossless audio baselines (FLAC -8, WavPack -hh -x6) on WAV files, 16-bit and paper 8-bit.

The numbers an LLM audio compressor has to beat, measured the way LMCompress reports them: ratio =
PCM payload bytes (the data chunk's samples, no WAV header) / compressed file bytes, and bits per
sample = 8 * compressed bytes / samples (all channels). Each file is measured as it is (16-bit) and
as the paper's 8-bit / 16 kHz / mono version made by compress.media.audio.paper_8bit (the same
conversion as `lmcompress --audio-bits 8`). The compressed sizes are whole files as the tools
write them, headers (and FLAC's default padding block) included; the `flac -8 --no-padding
--no-seektable` row shows how much of that is padding.

Needs the Debian packages `flac` and `wavpack`. Writes bench/results/audio_baselines.json. Usage:
    python bench/audio_baselines.py [WAV ...]      (default ../shared/data/audio/librivox/*.wav)
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compress.media import wav
from compress.media.audio import paper_8bit

DEFAULT_GLOB = "../shared/data/audio/librivox/*.wav"
# name -> (argv before the input, how the output is named); {out} is the output path
CODECS = {
    "flac -8": ["flac", "-8", "--silent", "-f", "-o", "{out}"],
    "flac -8 --no-padding --no-seektable": ["flac", "-8", "--no-padding", "--no-seektable", "--silent",
                                            "-f", "-o", "{out}"],
    "wavpack -hh -x6": ["wavpack", "-hh", "-x6", "-q", "-y", "-o", "{out}"],
}
HEADLINE = ("flac -8", "wavpack -hh -x6")


def tool_version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count()}


def compressed_size(codec: str, wav_path: Path, workdir: Path) -> tuple[int, float]:
    out = workdir / ("out.wv" if codec.startswith("wavpack") else "out.flac")
    argv = [a.format(out=out) for a in CODECS[codec]] + [str(wav_path)]
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    seconds = time.perf_counter() - t
    size = out.stat().st_size
    out.unlink()
    return size, seconds


def measure(name: str, data: bytes, workdir: Path) -> dict:
    info = wav.parse(data)
    samples = info.frames * info.channels
    path = workdir / "in.wav"
    path.write_bytes(data)
    row = {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "file_bytes": len(data),
           "payload_bytes": info.present, "samples": samples, "channels": info.channels,
           "rate": info.rate, "bits": info.bits, "codecs": {}}
    for codec in CODECS:
        size, seconds = compressed_size(codec, path, workdir)
        row["codecs"][codec] = {"bytes": size, "ratio": info.present / size,
                                "bits_per_sample": 8 * size / samples, "seconds": seconds}
    return row


def totals(rows: list[dict]) -> dict:
    payload = sum(r["payload_bytes"] for r in rows)
    samples = sum(r["samples"] for r in rows)
    out = {"files": len(rows), "payload_bytes": payload, "samples": samples}
    for codec in CODECS:
        size = sum(r["codecs"][codec]["bytes"] for r in rows)
        out[codec] = {"bytes": size, "ratio": payload / size, "bits_per_sample": 8 * size / samples}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*")
    p.add_argument("--out", default="bench/results/audio_baselines.json")
    a = p.parse_args()
    files = a.files or sorted(glob.glob(DEFAULT_GLOB))
    if not files:
        print(f"no WAV files (default {DEFAULT_GLOB})", file=sys.stderr)
        return 1
    missing = [t for t in ("flac", "wavpack") if shutil.which(t) is None]
    if missing:
        print(f"missing tools: {', '.join(missing)} (apt-get install flac wavpack)", file=sys.stderr)
        return 1
    variants: dict[str, list[dict]] = {"original": [], "paper-8bit-16k-mono": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in files:
            data = Path(name).read_bytes()
            variants["original"].append(measure(name, data, work))
            eight, transform = paper_8bit(data)
            row = measure(name, eight, work)
            row["transform"] = transform["steps"]
            variants["paper-8bit-16k-mono"].append(row)
    result = {
        "what": "lossless audio baselines; ratio = PCM payload bytes / compressed file bytes",
        "machine": machine(),
        "tools": {"flac": tool_version("flac"), "wavpack": tool_version("wavpack")},
        "commands": {c: " ".join(argv + ["IN.wav"]) for c, argv in CODECS.items()},
        "command": " ".join(["python"] + sys.argv),
        "variants": {v: {"total": totals(rows), "files": rows} for v, rows in variants.items()},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'variant':22s} {'file':46s} {'payload':>8s}  " + "  ".join(f"{c:>24s}" for c in CODECS))
    for v, rows in variants.items():
        for r in rows + [None]:
            if r is None:
                t = totals(rows)
                label, payload, cells = "TOTAL", t["payload_bytes"], [t[c] for c in CODECS]
            else:
                label, payload, cells = Path(r["file"]).name, r["payload_bytes"], r["codecs"].values()
            print(f"{v:22s} {label[:46]:46s} {payload:8d}  " + "  ".join(
                f"{c['ratio']:7.3f} ({c['bits_per_sample']:6.3f} b/s)".rjust(24) for c in cells))
    print(f"wrote {a.out}; headline: " + ", ".join(
        f"{v} {c} {totals(rows)[c]['ratio']:.3f}" for v, rows in variants.items() for c in HEADLINE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
