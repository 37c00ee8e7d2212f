"""Choose carried-context and adaptation settings on a prefix of a tuning file (fast scoring pass).

    python bench/carried_tune.py --bytes 16384 [--file alice29.txt]

Scores the same prefix under independent segments (today's layout), carried context at several
row counts, and carried context with the online mixture (compress/core/adapt.py) with some of its
constants varied, all through `compress.core.scoring` (the coder's schedule and mixture, parallel
logits). Writes bench/results/carried_tune.json. Tune only on alice29 and validation data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common import machine
from compress.core import adapt, stepper
from compress.core.engine import Compressor, library_versions

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "text" / "canterbury" / "alice29.txt"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", default=str(DEFAULT_FILE))
    p.add_argument("--bytes", type=int, default=16384)
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--configs", default="base,rows,mix")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "carried_tune.json"))
    args = p.parse_args()
    data = Path(args.file).read_bytes()[: args.bytes]
    rows_out = []

    def run(name, **kw):
        patch = kw.pop("patch", {})
        saved = {k: getattr(adapt, k) for k in patch}
        for k, v in patch.items():
            setattr(adapt, k, v)
        try:
            c = Compressor(args.model, threads=args.threads, **kw)
            t = time.perf_counter()
            s = c.score(data, batch=8)
            row = {"name": name, "settings": {k: v for k, v in kw.items()}, "patch": patch,
                   "bpb": s.bits_per_byte, "tokens": s.tokens, "seconds": time.perf_counter() - t}
        finally:
            for k, v in saved.items():
                setattr(adapt, k, v)
        rows_out.append(row)
        print(f"{name:40s} {row['bpb']:.4f} bpb  {row['seconds']:.0f} s", flush=True)

    configs = args.configs.split(",")
    if "base" in configs:
        run("independent kv-growing/2", stepper_kind=stepper.GROWING)
    if "rows" in configs:
        for r in (1, 2, 4):
            run(f"carried rows={r} keep=512", rows=r, adapt=None)
    if "mix" in configs:
        run("carried rows=1 + ngram-mix/1", rows=1)
    if "lr" in configs:
        for lr in (0.0005, 0.01):
            run(f"rows=1 mix lr={lr}", rows=1, patch={"LEARNING_RATE": lr})
    if "init" in configs:
        for wk in (0.1, 0.6):
            run(f"rows=1 mix INIT_WK={wk}", rows=1, patch={"INIT_WK": wk})
    if "orders" in configs:
        run("rows=1 mix orders 1,2,3", rows=1, patch={"ORDERS": (1, 2, 3), "_FEATURES": 4})
        run("rows=1 mix orders 2,3,4,6,8", rows=1, patch={"ORDERS": (2, 3, 4, 6, 8), "_FEATURES": 6})
    result = {"machine": machine(), "model": args.model, "file": args.file, "bytes": len(data),
              "threads": args.threads, "libraries": library_versions(),
              "command": " ".join([Path(sys.executable).name] + sys.argv), "rows": rows_out}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
