"""Ideal bytes of photographs under online tuning, teacher-forced: the quick judge of pixel-model
checkpoints and tuning versions on validation photographs.

Coding a Kodak-sized image takes about three minutes each way on 2 cores; this scores it in about
two and a half, with no container: the fast scoring pass (compress/core/scoring.py) over the image
front end's payload, each coder batch scored with the weights the online tuning has reached on the
batches before it (`Compressor.score(tune=...)`: the same Tuner.learn calls on the same segments
as both coding ends). Only the forward pass differs from the coder's (parallel, not stepped), so a
container's payload comes within float noise of these bytes plus the coder's few bytes of overhead.
It measures; it never codes, and no figure here is a compression ratio of record (bench/image_model.py
makes those, every output compared).

Each checkpoint scores every image; the table gives each image's bytes under each checkpoint and the
change against the first. Choose on validation photographs only (never on Kodak, the test):

    python bench/tuned_score.py checkpoints/kodak_igpt/cpu17280bf16 checkpoints/kodak_igpt/cpu17280bf16p18 \\
        --images ../shared/data/images/train/wiki_019.png,../shared/data/images/train/wiki_020.png \\
        --crop 768x512 --out bench/results/tuned_score_p18.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import centre_crop, checkpoint_compressor, crop_size, machine, save_result, training_facts, tune_option
from compress.core import online, pixmix
from compress.core.engine import AUTO, library_versions

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--images", required=True, help="comma-separated PNG paths")
    p.add_argument("--crop", type=crop_size, default=None, metavar="WxH", help="score the centre WxH of each")
    p.add_argument("--tune", default="auto", choices=["auto", "none", *online.VERSIONS],
                   help="online tuning (default: the image front end's)")
    p.add_argument("--mix", default="auto", choices=["auto", "none", *pixmix.VERSIONS],
                   help="pixel mixing (default: the image front end's for the checkpoint's payload)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "tuned_score.json"))
    args = p.parse_args(argv)

    paths = [Path(x) for x in args.images.split(",") if x]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"tuned_score: {path}: no such file")
    images = {path.stem: path.read_bytes() for path in paths}
    if args.crop:
        images = {name: centre_crop(data, args.crop) for name, data in images.items()}

    rows, models = [], []
    for checkpoint in args.checkpoints:
        manifest, comp = checkpoint_compressor("tuned_score", checkpoint, batch=None, threads=args.threads,
                                               tune=tune_option(args.tune), mix=tune_option(args.mix))
        options = comp.frontend_options("image")  # those the checkpoint was trained with
        frontend = comp.frontend("image", **options)
        tune = comp.tune_for(frontend, False)
        mixes = set()
        for name, data in images.items():
            started = time.perf_counter()
            score = comp.score(data, modality="image", batch=64, tune=AUTO, **options)
            ideal = score.bits / 8
            mixes.add(score.mix)
            rows.append({"checkpoint": checkpoint, "image": name, "ideal_bytes": ideal, "mix": score.mix,
                         "seconds": time.perf_counter() - started})
            print(f"{checkpoint} {name}: {ideal:,.0f} B ({rows[-1]['seconds']:.0f} s)", flush=True)
        # the mixing each image was scored under, decided per image by Compressor.score (as compress does)
        models.append({"checkpoint": checkpoint, "model_sha256": manifest.get("model_sha256"), "tune": tune,
                       "mix": mixes.pop() if len(mixes) == 1 else sorted(mixes, key=str),
                       "training": training_facts(checkpoint, manifest)})

    first = args.checkpoints[0]
    by = {(r["checkpoint"], r["image"]): r["ideal_bytes"] for r in rows}
    totals = {c: sum(by[c, n] for n in images) for c in args.checkpoints}
    print(f"\n{'image':<12}" + "".join(f"{Path(c).name:>24}" for c in args.checkpoints))
    for name in [*images, "total"]:
        cells = []
        for column, c in enumerate(args.checkpoints):
            value, base = (totals[c], totals[first]) if name == "total" else (by[c, name], by[first, name])
            cells.append(f"{value:>14,.0f}" + (f" ({100 * (value / base - 1):+.2f}%)" if column else " " * 10))
        print(f"{name:<12}" + "".join(cells))

    doc = {"what": "teacher-forced ideal bytes of each image's payload under online tuning (scoring pass, "
                   "not coded)" + (f", centre {args.crop[0]}x{args.crop[1]}" if args.crop else ""),
           "machine": machine(), "threads": args.threads, "libraries": library_versions(),
           "crop": list(args.crop) if args.crop else None, "tune_asked": args.tune, "models": models,
           "totals": totals, "rows": rows}
    save_result(Path(args.out), doc, "bench/tuned_score.py", argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
