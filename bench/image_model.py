"""Kodak through a trained pixel model: the full coded round trip, beside the classical codecs.

    python bench/image_model.py CHECKPOINT [--images kodim01,kodim05 | --count N] [--batch N]
        [--stepper kv-carried/3|kv-growing/2|kv-primed/1] [--tune auto|none|adam/1|...|adam/7]
        [--mix auto|none|pixel-mix/1]

For each Kodak PNG: `Compressor.compress` with the checkpoint (image front end with the pixel
order the checkpoint was trained with, read from its manifest; the coder layout new image
containers get unless --stepper/--batch/--tune/--mix say otherwise), `decompress` in the same process,
pixels compared with the source through PIL, and the container size, compress and decompress
seconds and pixels/s recorded. Ratio = raw RGB bytes (w*h*3) / container bytes, as in the
LMCompress paper's image table. The classical codecs' sizes for the same images are read from
bench/results/image_baselines.json (bench/image_baselines.py measured them on this machine, each
output decoded and checked), so both sides of the table cover exactly the same images.

Other photographs, the same way: `--dir DIR --crop 768x512` codes the centre 768x512 of each PNG in
DIR (Kodak's size, so per-image times compare). Files the baselines JSON does not hold (matched
by name and raw size) get the same classical codecs measured in this run
(bench/image_baselines.py's table and checks), so a held-out set is compared like Kodak.

Prints a table and writes bench/results/image_model.json (machine, model, command, per image). The
JSON is rewritten after every image (`"complete": false` until the last), and `--resume` carries on
where an interrupted run stopped: the images its --out already holds are kept, not coded again, when
that run's settings (RESUME_KEYS: the model's digest, the coder's options, the libraries) are this
run's; otherwise it refuses. The full set takes about two hours on 2 cores, more than one sitting
sometimes has; `runs` in the JSON says which command and machine coded which images.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from common import (
    centre_crop,
    checkpoint_compressor,
    coded_layout,
    crop_size,
    machine,
    print_size_table,
    totals_over,
    training_facts,
    tune_option,
)
from compress.core import container, online, pixmix, stepper
from compress.core.bytemodel import parameter_count
from compress.core.engine import AUTO, library_versions
from compress.fileio import write_json

ROOT = Path(__file__).resolve().parent.parent

KODAK = ROOT.parent / "shared" / "data" / "images" / "kodak"
BASELINES = ROOT / "bench" / "results" / "image_baselines.json"


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def measured_baselines(named: dict[str, bytes]) -> dict[tuple[str, int], dict]:
    """The classical codecs on these PNGs now (bench/image_baselines.py: each output decoded and
    compared), keyed like the baselines JSON: (name, raw bytes)."""
    from image_baselines import IMAGE_TOOLS, bench_images, require_tools

    require_tools(IMAGE_TOOLS)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, data in named.items():
            paths.append(Path(tmp) / f"{name}.png")
            paths[-1].write_bytes(data)
        work = Path(tmp) / "work"
        work.mkdir()
        return {(r["image"], r["raw_bytes"]): r["sizes"] for r in bench_images(paths, work)["rows"]}


# What must be the same for a resumed run's images to stand beside this run's: the model, how it
# codes (context, batch, threads, layout, tuning, front end: the bits) and what it codes.
RESUME_KEYS = ("what", "model_sha256", "context", "batch", "threads", "stepper_asked", "tune_asked", "mix_asked",
               "frontend", "libraries", "crop")


def resumed_rows(previous: dict, current: dict, raw_sizes: dict[str, int]) -> list[dict]:
    """The rows of an interrupted run's JSON (`previous`) that this run (`current`, its
    RESUME_KEYS) keeps: those of images it codes too (`raw_sizes`: name -> raw bytes), in
    `raw_sizes`' order, each with the index of the run that coded it (0 where a JSON from one
    sitting does not say). Exits with one line naming the settings that differ."""
    differ = [k for k in RESUME_KEYS if previous.get(k) != current.get(k)]
    if differ:
        raise SystemExit(f"--resume: the run in --out was made with other {', '.join(differ)}; "
                         "code into another --out, or drop --resume to start again")
    done = {r["image"]: {"run": 0, **r} for r in previous.get("rows", [])
            if raw_sizes.get(r["image"]) == r["raw_bytes"]}
    return [done[name] for name in raw_sizes if name in done]


def in_order(rows: list[dict], names: list[str]) -> list[dict]:
    """`rows` in the order of `names` (the images asked for): a resumed run's rows and its new
    ones stand in the order one sitting would have coded them."""
    position = {name: i for i, name in enumerate(names)}
    return sorted(rows, key=lambda r: position[r["image"]])


def earlier_runs(previous: dict) -> list[dict]:
    """The `runs` list of an interrupted run's JSON (a JSON from before --resume has none: its
    command and machine coded every row)."""
    if "runs" in previous:
        return list(previous["runs"])
    return [{"command": previous.get("command"), "machine": previous.get("machine"),
             "images": [r["image"] for r in previous.get("rows", [])]}]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--images", default=None, help="comma-separated names (default: all 24)")
    p.add_argument("--count", type=int, default=None, help="the first N Kodak images")
    p.add_argument("--dir", default=str(KODAK), help="folder of PNGs (default: the Kodak set)")
    p.add_argument("--crop", type=crop_size, default=None, metavar="WxH",
                   help="code the centre WxH of each image (e.g. 768x512, Kodak's size)")
    p.add_argument("--batch", type=int, default=None,
                   help="segments coded side by side (default: the image front end's)")
    p.add_argument("--stepper", choices=stepper.KINDS, default=None,
                   help="coder layout (default: the image front end's, independent segments)")
    p.add_argument("--tune", default="auto", choices=["auto", "none", *online.VERSIONS],
                   help="online tuning between batches (compress/core/online.py; default: the image "
                        "front end's, adam/7 since stop 58)")
    p.add_argument("--mix", default="auto", choices=["auto", "none", *pixmix.VERSIONS],
                   help="pixel mixing (compress/core/pixmix.py; default: the image front end's, pixel-mix/1 "
                        "for residual payloads since stop 62)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "image_model.json"))
    p.add_argument("--resume", action="store_true",
                   help="keep the images --out already holds from an interrupted run with the same settings")
    args = p.parse_args()

    manifest, comp = checkpoint_compressor("image_model", args.checkpoint, batch=args.batch, threads=args.threads,
                                           stepper_kind=args.stepper or AUTO,
                                           tune=tune_option(args.tune), mix=tune_option(args.mix))
    options = comp.frontend_options("image")  # what the checkpoint was trained with
    files = sorted(Path(args.dir).glob("*.png"))
    if args.images:
        wanted = set(args.images.split(","))
        files = [f for f in files if f.stem in wanted]
    if args.count:
        files = files[: args.count]
    # measured sizes of the very same files: matched by name and raw size (another folder's
    # kodim05 crop must not borrow the full image's figures)
    baselines = {(r["image"], r["raw_bytes"]): r["sizes"] for r in json.loads(BASELINES.read_text())["kodak"]["rows"]}
    sources = {f.stem: f.read_bytes() for f in files}
    if not sources:
        raise SystemExit(f"image_model: no PNG in {args.dir} matches --images/--count")
    if args.crop:
        sources = {name: centre_crop(data, args.crop) for name, data in sources.items()}
    raw_sizes = {name: int(pixels(data).size) for name, data in sources.items()}
    missing = {name: data for name, data in sources.items() if (name, raw_sizes[name]) not in baselines}
    if missing:  # not the Kodak files the JSON holds: measure the same codecs on these now
        baselines.update(measured_baselines(missing))

    lm = comp.loaded(dtype=comp.dtype_for(comp.frontend("image", **options)))  # the model that codes
    params = parameter_count(lm.model)
    doc = {
        "what": ("Kodak PNGs" if Path(args.dir).resolve() == KODAK.resolve() else f"the PNGs of {args.dir}")
        + (f", centre {args.crop[0]}x{args.crop[1]}" if args.crop else "")
        + " coded by a pixel-model checkpoint; ratio = raw RGB bytes / container bytes",
        "machine": machine(),
        # the command that codes the whole set in one go (--resume only splits it over sittings)
        "command": " ".join(["python"] + [a for a in sys.argv if a != "--resume"]),
        "checkpoint": str(args.checkpoint), "model_sha256": lm.base_sha256, "parameters": params,
        "training": training_facts(args.checkpoint, manifest),
        "context": int(manifest["context"]), "batch": args.batch, "threads": args.threads,
        "stepper_asked": args.stepper, "tune_asked": args.tune,
        "mix_asked": args.mix,
        "frontend": options, "libraries": library_versions(),
        "images_from": args.dir, "crop": list(args.crop) if args.crop else None, "images_asked": list(sources),
        "baselines_from": str(BASELINES.relative_to(ROOT)) if not missing else
        f"measured in this run (bench/image_baselines.py's codecs) for {len(missing)} of {len(sources)} image(s)",
    }
    out_path = Path(args.out)
    rows, runs = [], []
    if args.resume and out_path.is_file():
        previous = json.loads(out_path.read_text())
        rows, runs = resumed_rows(previous, doc, raw_sizes), earlier_runs(previous)
        print(f"resuming {out_path}: {len(rows)} of {len(sources)} image(s) already coded", flush=True)
    done = {r["image"] for r in rows}
    runs.append({"command": " ".join(["python"] + sys.argv), "machine": doc["machine"], "images": []})
    for name, data in sources.items():
        if name in done:
            continue
        src = pixels(data)
        blob = comp.compress(data, modality="image", **options)
        c_s = comp.last.seconds
        out = comp.decompress(blob)
        d_s = comp.last.seconds
        ok = bool(np.array_equal(pixels(out), src))
        raw = int(src.size)
        row = {"image": name, "raw_bytes": raw, "container_bytes": len(blob),
               "header_bytes": container.stored_header_length(blob),
               **coded_layout(container.read_header(blob)),
               "ratio": raw / len(blob), "bits_per_subpixel": 8 * len(blob) / raw,
               "compress_s": c_s, "decompress_s": d_s, "compress_px_s": raw / c_s,
               "decompress_px_s": raw / d_s, "pixels_exact": ok, "baselines": baselines.get((name, raw), {}),
               "run": len(runs) - 1}
        rows = in_order(rows + [row], list(sources))
        runs[-1]["images"].append(name)
        print(f"{name}: {len(blob):>8} B ratio {row['ratio']:.3f} ({row['bits_per_subpixel']:.3f} bits/subpixel) "
              f"compress {c_s:6.1f} s ({row['compress_px_s']:.0f} subpixels/s) "
              f"decompress {d_s:6.1f} s exact={ok}", flush=True)
        if len(rows) < len(sources):  # what is done so far survives an interruption
            write_json(out_path, summary(doc, rows, runs, complete=False), indent=1)
    if not runs[-1]["images"]:  # resumed with nothing left to code
        runs.pop()

    result = summary(doc, rows, runs, complete=True)
    raw_total = sum(r["raw_bytes"] for r in rows)
    print(f"\n{len(rows)} image(s), {raw_total} raw RGB bytes; ratio = raw / compressed")
    print_size_table({name: v["bytes"] for name, v in result["totals"].items()}, raw_total, raw_total, "subpixel")
    write_json(out_path, result, indent=1)
    print(f"wrote {args.out}")
    return 0 if result["all_exact"] else 1


def summary(doc: dict, rows: list[dict], runs: list[dict], *, complete: bool) -> dict:
    """The bench's JSON: `doc` (the run's settings) with the totals over `rows`, the rows, whether
    every image asked for is in, and which run coded which (`runs`, and each row's `run`; left out
    when one sitting coded them all)."""
    raw_total = sum(r["raw_bytes"] for r in rows)
    table = totals_over(rows, "lmcompress (this checkpoint)", lambda r: r["container_bytes"])
    result = {**doc, "totals": {name: {"bytes": size, "ratio": raw_total / size} for name, size in table.items()},
              "all_exact": all(r["pixels_exact"] for r in rows), "complete": complete, "rows": rows}
    if complete and len(runs) == 1:  # one sitting coded it all: the command and machine say everything
        result["rows"] = [{k: v for k, v in r.items() if k != "run"} for r in rows]
    else:
        result["runs"] = runs
    return result


if __name__ == "__main__":
    sys.exit(main())
