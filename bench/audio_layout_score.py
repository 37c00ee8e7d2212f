"""Which payload layout suits a byte model? Ideal code length of a slice of PCM under each layout.

Fast scoring pass (compress.core.scoring.score_bytes: one parallel forward per batch, measurement only,
never used for coding) with the ByteSymbolizer over a base model (SmolLM2-135M by default), for the
same sample bytes serialised as each layout of compress.media.audio. Writes
bench/results/audio_layout_score.json. Usage:
    python bench/audio_layout_score.py [WAV] [--bytes 8192] [--offsets 0 65536] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from compress.core import determinism, models
from compress.core.engine import library_versions, model_vocab, prefix_token
from compress.core.scoring import score_bytes
from compress.core.symbols import ByteSymbolizer
from compress.media import audio, wav

DEFAULT_WAV = "../shared/data/audio/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wav", nargs="?", default=DEFAULT_WAV)
    p.add_argument("--bytes", type=int, default=8192, help="PCM bytes per slice")
    p.add_argument("--offsets", type=int, nargs="+", default=[0], help="slice starts (PCM bytes)")
    p.add_argument("--layouts", nargs="+", default=list(audio.BYTE_ORDERS))
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--context", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="bench/results/audio_layout_score.json")
    a = p.parse_args()

    data = Path(a.wav).read_bytes()
    info = wav.parse(data)
    pcm = data[info.start : info.start + info.present]
    determinism.apply(a.threads)
    t0 = time.perf_counter()
    model, tokenizer = models.load_base(a.model)
    load_s = time.perf_counter() - t0
    sym = ByteSymbolizer(tokenizer, model_vocab(model))
    rows = []
    for offset in a.offsets:
        block = info.block_align
        start = offset - offset % block
        piece = pcm[start : start + a.bytes - a.bytes % block]
        samples = len(piece) // info.width
        for layout in a.layouts:
            payload = audio.to_payload(piece, info.channels, info.width, layout)
            t = time.perf_counter()
            s = score_bytes(model, sym, payload, context=a.context, batch=8,
                            prefix_id=prefix_token(tokenizer))
            row = {"offset": start, "bytes": len(piece), "samples": samples, "layout": layout,
                   "bits": s.bits, "bits_per_sample": s.bits / samples,
                   "ratio": 8 * len(piece) / s.bits, "seconds": time.perf_counter() - t}
            rows.append(row)
            print(f"offset {start:7d}  {layout:14s} {row['bits_per_sample']:.3f} bits/sample  "
                  f"ratio {row['ratio']:.3f}  ({row['seconds']:.1f} s)", flush=True)
    result = {
        "what": "fast scoring pass (measurement only) of PCM slices in each audio payload layout",
        "file": a.wav, "channels": info.channels, "rate": info.rate, "bits": info.bits,
        "model": a.model, "context": a.context, "threads": a.threads, "model_load_seconds": load_s,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": __import__("os").cpu_count()},
        "libraries": library_versions(),
        "command": " ".join(["python"] + sys.argv),
        "rows": rows,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
