"""A y4m clip through a pixel-model checkpoint: the full coded round trip, beside FFV1, x264, x265.

    python bench/video_model.py CHECKPOINT [--clip ../shared/data/video/carphone_qcif.y4m]
        [--predictor mc-intra|mc-temporal|med-temporal|med|none] [--group 8] [--order frames]
        [--frames N] [--batch 1024] [--tune auto|none|adam/1] [--container PATH]

The checkpoint is any pixel model: the Kodak one (trained on photographs only, as the LMCompress
paper codes video frames with an image model), or recipe=video_mc's (trained on the mc-intra
payloads of synthetic clips made from photographs, train/synthvideo.py). Neither has seen the clip.
The video front end turns each frame's Y, U, V planes into prediction residuals
(compress/media/pixelpred.py through compress/media/video.py: intra MED per frame, or with med-temporal the
previous frame as the reference within groups of `group` frames; with mc-temporal, quarter-pel block
motion compensation from it, compress/media/motion.py, and mc-intra adds intra blocks), `Compressor.compress` codes
them, `decompress` gives the y4m back and it is compared byte for byte. Ratio = raw planar YUV
bytes (the frames' planes, without y4m headers or motion vectors) / container bytes, as bench/image_baselines.py
measures FFV1, x264 -qp 0 and x265 lossless on the same clip (their sizes are read from
bench/results/image_baselines.json when the whole clip is coded).

Prints a table and writes bench/results/video_model.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import (
    checkpoint_compressor,
    coded_layout,
    first_frames,
    machine,
    print_size_table,
    training_facts,
    tune_option,
)
from compress.core import container, frontends, online, stepper
from compress.core.bytemodel import parameter_count
from compress.core.engine import AUTO, library_versions
from compress.fileio import write_atomic
from compress.media import video

ROOT = Path(__file__).resolve().parent.parent

CLIP = ROOT.parent / "shared" / "data" / "video" / "carphone_qcif.y4m"
BASELINES = ROOT / "bench" / "results" / "image_baselines.json"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--clip", default=str(CLIP))
    p.add_argument("--predictor", default="med-temporal", choices=list(video.PREDICTORS))
    p.add_argument("--group", type=int, default=8,
                   help="frames per independent unit (med-temporal, mc-temporal, mc-intra)")
    p.add_argument("--order", default="frames", choices=["frames", "temporal"])
    p.add_argument("--frames", type=int, default=None, help="only the first N frames")
    p.add_argument("--batch", type=int, default=1024, help="segments coded side by side")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--stepper", choices=stepper.KINDS, default=None,
                   help="the coder's layout (default: the video front end's, kv-growing/2: independent "
                        "segments with frame-level random access; kv-carried/3: carried context). "
                        "bench/results/video_model_kodak_595b.json predates this field and used kv-growing/2")
    p.add_argument("--tune", default="auto", choices=["auto", "none", *online.VERSIONS],
                   help="online tuning between batches (compress/core/online.py; default: the video front "
                        "end's, adam/1)")
    p.add_argument("--container", default=None, metavar="PATH",
                   help="also write the container here (e.g. to read its header with lmcompress -l)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "video_model.json"))
    args = p.parse_args()

    manifest, comp = checkpoint_compressor("video_model", args.checkpoint, batch=args.batch, threads=args.threads,
                                           stepper_kind=args.stepper or AUTO,
                                           tune=tune_option(args.tune))
    data = Path(args.clip).read_bytes()
    if args.frames:
        data = first_frames(data, args.frames)
    options = {"order": args.order, "group": args.group, "predictor": args.predictor}
    payload, extras = frontends.get("video", **options).split(data)
    raw = extras["frames"] * extras["frame_bytes"]  # the planes (an mc-temporal or mc-intra payload adds vectors)
    coded_payload = len(payload)

    lm = comp.loaded(dtype=comp.dtype_for(comp.frontend("video", **options)))  # the model that codes
    blob = comp.compress(data, modality="video", **options)
    header = container.read_header(blob)
    c_s = comp.last.seconds
    if args.container:
        write_atomic(args.container, blob)
    out = comp.decompress(blob)
    d_s = comp.last.seconds
    exact = out == data
    table = {"lmcompress (this checkpoint)": len(blob)}
    clip_baselines = json.loads(BASELINES.read_text()).get("video", {})
    whole = clip_baselines.get("clip") == Path(args.clip).name and clip_baselines.get("raw_bytes") == raw
    if whole:  # the same bytes: the baselines' figures apply
        table.update({name: row["bytes"] for name, row in clip_baselines["summary"].items()})
    print(f"{Path(args.clip).name}: {extras['frames']} frames, {raw} raw YUV bytes; "
          f"compress {c_s:.1f} s ({raw / c_s:.0f} B/s), decompress {d_s:.1f} s, exact={exact}")
    print_size_table(table, raw, raw, "byte")
    result = {
        "what": "a y4m clip coded by a pixel-model checkpoint; ratio = raw planar YUV bytes / container bytes",
        "machine": machine(),
        "command": " ".join(["python"] + sys.argv),
        "clip": Path(args.clip).name, "frames": extras["frames"], "raw_bytes": raw,
        "checkpoint": str(args.checkpoint), "model_sha256": lm.base_sha256,
        "parameters": parameter_count(lm.model), "training": training_facts(args.checkpoint, manifest),
        "context": int(manifest["context"]),
        "batch": args.batch, "threads": args.threads, "stepper": coded_layout(header)["stepper"],
        "tune": header.get("tune"),
        "frontend": options, "payload_bytes": coded_payload,
        "libraries": library_versions(),
        "baselines_from": str(BASELINES.relative_to(ROOT)) if whole else None,
        "container_bytes": len(blob), "header_bytes": container.stored_header_length(blob),
        "compress_s": c_s, "decompress_s": d_s, "compress_B_s": raw / c_s, "decompress_B_s": raw / d_s,
        "exact": exact,
        "totals": {name: {"bytes": size, "ratio": raw / size} for name, size in table.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
