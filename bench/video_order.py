"""Frames coded alone vs the previous frame as context: score both video orders on a carphone crop.

Fast parallel scoring (measurement only) with SmolLM2-135M over ByteSymbolizer, context 1025 (segments
of 1024 bytes), on a small centre crop of the first frames of the carphone clip, cut out of the
y4m planes (chroma crop half size, 4:2:0). Small on purpose: a few minutes on a 2-core CPU.

    nice -n 10 python bench/video_order.py [--size 32] [--frames 8]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from compress.core import engine, frontends, models
from compress.core.scoring import score_bytes
from compress.core.symbols import ByteSymbolizer
from compress.media import video

ROOT = Path(__file__).resolve().parent.parent

CLIP = ROOT.parent / "shared" / "data" / "video" / "carphone_qcif.y4m"


def crop_y4m(data: bytes, size: int, frames: int) -> bytes:
    payload, extras = frontends.get("video").split(data)
    (w, h), (cw, ch), _ = extras["planes"]
    x, y = (w - size) // 2 // 2 * 2, (h - size) // 2 // 2 * 2
    out = [f"YUV4MPEG2 W{size} H{size} F30000:1001 Ip C420mpeg2\n".encode()]
    fb = extras["frame_bytes"]
    for k in range(frames):
        f = np.frombuffer(payload[k * fb : (k + 1) * fb], dtype=np.uint8)
        ys = f[: w * h].reshape(h, w)[y : y + size, x : x + size]
        us = f[w * h : w * h + cw * ch].reshape(ch, cw)[y // 2 : (y + size) // 2, x // 2 : (x + size) // 2]
        vs = f[w * h + cw * ch :].reshape(ch, cw)[y // 2 : (y + size) // 2, x // 2 : (x + size) // 2]
        out += [b"FRAME\n", ys.tobytes(), us.tobytes(), vs.tobytes()]
    return b"".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--context", type=int, default=1025)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "video_order.json"))
    args = ap.parse_args()
    started = time.perf_counter()
    data = crop_y4m(CLIP.read_bytes(), args.size, args.frames)
    model, tokenizer = models.load_base(args.model, dtype="float32", device="cpu")
    symbolizer = ByteSymbolizer(tokenizer, engine.model_vocab(model))
    rows = {}
    for order in video.ORDERS:
        fe = frontends.get("video", order=order, group=args.frames)
        payload, extras = fe.split(data)
        s = score_bytes(model, symbolizer, payload, context=args.context, batch=4,
                        prefix_id=engine.prefix_token(tokenizer), breaks=fe.segment_breaks(extras))
        rows[order] = {"bytes": len(payload), "segments": s.segments, "bits_per_byte": s.bits_per_byte,
                       "ratio": 8 / s.bits_per_byte}
        print(f"{order:9s} {s.bits_per_byte:.4f} bits/byte  ratio {8 / s.bits_per_byte:.3f} "
              f"({s.segments} segments)", flush=True)
    result = {"what": "video payload order, fast scoring pass (ideal code length), centre crop",
              "clip": CLIP.name, "crop": args.size, "frames": args.frames, "group": args.frames,
              "model": args.model, "context": args.context,
              "machine": f"{platform.machine()} CPU", "command": " ".join(["python"] + sys.argv),
              "seconds": time.perf_counter() - started, "orders": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
