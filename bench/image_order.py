"""Which pixel order suits a byte-level LM best? Score each image order on small Kodak crops.

Fast parallel scoring (compress.core.scoring.score_bytes, measurement only) with SmolLM2-135M over
ByteSymbolizer, segments of 1024 pixels (context 1025) as in the LMCompress paper. Small crops keep
this a one-minute run on a 2-core CPU; the result picks `compress.media.image.DEFAULT_ORDER`.

    nice -n 10 python bench/image_order.py [--size 32] [--images kodim01 kodim05 ...]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from pathlib import Path

from PIL import Image

from compress.core import engine, models
from compress.core.scoring import score_bytes
from compress.core.symbols import ByteSymbolizer
from compress.media import image

ROOT = Path(__file__).resolve().parent.parent

KODAK = ROOT.parent / "shared" / "data" / "images" / "kodak"


def crop_png(path: Path, size: int) -> bytes:
    with Image.open(path) as im:
        w, h = im.size
        box = ((w - size) // 2, (h - size) // 2, (w - size) // 2 + size, (h - size) // 2 + size)
        buf = io.BytesIO()
        im.convert("RGB").crop(box).save(buf, "PNG")
        return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32, help="square crop side, centred (pixels)")
    ap.add_argument("--images", nargs="+", default=["kodim01", "kodim05", "kodim13", "kodim23"])
    ap.add_argument("--context", type=int, default=1025)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "image_order.json"))
    args = ap.parse_args()

    started = time.perf_counter()
    model, tokenizer = models.load_base(args.model, dtype="float32", device="cpu")
    symbolizer = ByteSymbolizer(tokenizer, engine.model_vocab(model))
    prefix = engine.prefix_token(tokenizer)
    rows = []
    for name in args.images:
        png = crop_png(KODAK / f"{name}.png", args.size)
        for order in image.ORDERS:
            payload, _ = image.ImageFrontend(order=order).split(png)
            s = score_bytes(model, symbolizer, payload, context=args.context, batch=4,
                            prefix_id=prefix)
            rows.append({"image": name, "order": order, "bytes": len(payload),
                         "bits_per_byte": s.bits_per_byte, "segments": s.segments})
            print(f"{name} {order:12s} {s.bits_per_byte:.4f} bits/byte", flush=True)
    summary = {}
    for order in image.ORDERS:
        mine = [r for r in rows if r["order"] == order]
        bpb = sum(r["bits_per_byte"] * r["bytes"] for r in mine) / sum(r["bytes"] for r in mine)
        summary[order] = {"bits_per_byte": bpb, "ratio": 8 / bpb}
    print("\norder         bits/byte  ratio")
    for order, v in sorted(summary.items(), key=lambda kv: kv[1]["bits_per_byte"]):
        print(f"{order:12s}  {v['bits_per_byte']:.4f}    {v['ratio']:.3f}")
    result = {
        "what": "image payload order, fast scoring pass (ideal code length), centre crops",
        "model": args.model, "context": args.context, "crop": args.size, "images": args.images,
        "machine": f"{platform.machine()} CPU, {platform.processor() or 'unknown'}",
        "command": " ".join(["python"] + sys.argv),
        "seconds": time.perf_counter() - started,
        "rows": rows, "summary": summary,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
