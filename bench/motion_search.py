"""The encoder's motion search, weighed: payload cost of `mc-temporal` / `mc-intra` under several search settings.

For each setting (`weight:passes[:penalty]` of compress/media/motion.choose: SAD units per bit of a
vector difference, rate-aware passes after the SAD-only search, and for mc-intra the SAD units an
intra block must win by) it runs the encoder's choice on every predicted frame of the given clips
(groups of `--group` frames, as `recipe=video_mc` trains) and prints the zeroth-order entropy of
the three parts of the payload (motion bytes, luma residuals, chroma residuals) in bytes: a
model-free proxy of what the coder will pay, fast enough to compare settings on the validation
clips before training on them. Measurement only: the decoder is the same for every setting.
`--predictor mc-intra` measures the predictor with intra blocks (its choice of the fourth mode
included) instead of `mc-temporal`.

With `--model CKPT` it weighs each setting by what a trained video model would pay instead: the
ideal bytes of the scoring pass (compress/core/scoring.py, untuned) over each clip's whole payload
as the front end lays it out (`--frames` cuts the clips first). The proxy and the model disagree:
the model codes vector bytes in context, so it prefers a lighter vector weight than the proxy
(motion_search_model.json; the encoder's defaults were chosen on it).

    python -m train.synthvideo ../shared/data/images/train /tmp/synth --clips 2 --frames 16
    python bench/motion_search.py /tmp/synth/014-*.y4m /tmp/synth/015-*.y4m   # validation photographs
    mkdir /tmp/val && cp ../shared/data/images/train/wiki_01[56].png /tmp/val    # the validation photographs
    python -m train.synthvideo /tmp/val /tmp/s43/val --clips 2 --frames 40
    python bench/motion_search.py /tmp/s43/val/*.y4m --model checkpoints/video_mc/cpu8640 \
        --predictor mc-intra --group 120 --settings 2:2:16,1:2:16,0:0:16,3:2:16,1:2:64
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from unittest import mock

import numpy as np

from common import first_frames, machine, save_result
from compress.core import frontends
from compress.core.engine import Compressor
from compress.media import motion, video

ROOT = Path(__file__).resolve().parent.parent


def planes_of(path: Path) -> tuple[list[list[np.ndarray]], list[tuple[int, int]], list[list[np.ndarray]]]:
    """Every frame of a y4m as its planes (int64 arrays), the planes' subsampling, and every frame's
    planes as `motion.upsample` grids (made once here, as the front end upsamples each frame once,
    not again for each search setting or for each frame that refers to it)."""
    payload, extras = frontends.get("video").split(path.read_bytes())
    subs = video.COLOURSPACES[extras["colourspace"]]
    frames, pos = [], 0
    while pos < len(payload):
        frame = []
        for w, h in extras["planes"]:
            frame.append(np.frombuffer(payload, np.uint8, w * h, pos).reshape(h, w).astype(np.int64))
            pos += w * h
        frames.append(frame)
    return frames, subs, [[motion.upsample(p) for p in frame] for frame in frames]


def entropy_bytes(parts: list[bytes]) -> float:
    counts = np.bincount(np.frombuffer(b"".join(parts), np.uint8), minlength=256).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() * counts.sum() / 8)


def settings_of(text: str) -> dict:
    """'weight:passes[:penalty]' -> motion.choose's keyword arguments."""
    try:
        parts = [int(x) for x in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3):
        raise SystemExit(f"motion_search: a setting is weight:passes[:penalty] (integers), not {text!r}")
    return {**encoder_defaults(), **dict(zip(("weight", "passes", "penalty"), parts, strict=False))}


def encoder_defaults() -> dict:
    """The settings the encoder uses (compress/media/motion.py), as a setting's keywords."""
    return {"weight": motion.RATE_WEIGHT, "passes": motion.RATE_PASSES, "penalty": motion.INTRA_PENALTY}


def model_bytes(compressor, clips: list[bytes], group: int, predictor: str, choice: dict) -> list[float]:
    """Ideal bytes of each clip's payload under the scoring pass, the encoder choosing its motion
    with `choice`: the front end's own split, its `motion.choose` called with these settings
    (patched for the measurement; the decoder reads whatever was chosen)."""
    chooser = functools.partial(motion.choose, **choice)
    with mock.patch.object(motion, "choose", chooser):
        return [compressor.score(clip, modality="video", batch=64, predictor=predictor, group=group).bits / 8
                for clip in clips]


def measure(clips, group: int, predictor: str, *, weight: int, passes: int, penalty: int) -> dict:
    intra = predictor == "mc-intra"
    side, luma, chroma = [], [], []
    modes = np.zeros(len(motion.INTRA_MODES if intra else motion.MODES), dtype=np.int64)
    started, frames_done = time.perf_counter(), 0
    for frames, subs, grids in clips:
        for k in range(1, len(frames)):
            references = video.motion_references(k, group)
            if references is None:
                continue  # a unit's first frame is intra-coded: no search
            previous, before = (grids[k - back] for back in references)
            current = frames[k]
            chosen = motion.choose((previous[0], before[0]), current[0], weight=weight, passes=passes,
                                   intra=intra, penalty=penalty)
            side.append(motion.side_bytes(chosen, intra))
            modes += np.bincount(chosen[0].ravel(), minlength=len(modes))
            for i, coded in enumerate(motion.code_frame((previous, before), chosen, current, subs, True)):
                (luma if i == 0 else chroma).append(coded.astype(np.uint8).tobytes())
            frames_done += 1
    row = {"predictor": predictor, "weight": weight, "passes": passes, "penalty": penalty, "frames": frames_done,
           "motion_bytes": entropy_bytes(side), "luma_bytes": entropy_bytes(luma),
           "chroma_bytes": entropy_bytes(chroma), "modes": modes.tolist(),
           "seconds_per_frame": (time.perf_counter() - started) / max(frames_done, 1)}
    row["total_bytes"] = row["motion_bytes"] + row["luma_bytes"] + row["chroma_bytes"]
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path, help="y4m files (the validation clips)")
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--settings", default="0:0,1:2,2:2,3:2",
                    help="weight:passes[:penalty], comma-separated (penalty: mc-intra's, default "
                         f"{motion.INTRA_PENALTY})")
    ap.add_argument("--predictor", default="mc-temporal", choices=video.MOTION_PREDICTORS)
    ap.add_argument("--model", help="a video checkpoint: weigh each setting by its ideal bytes instead")
    ap.add_argument("--frames", type=int, default=0, help="with --model: the clips' first N frames (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    choices = [settings_of(text) for text in args.settings.split(",")]
    if args.model:
        model_main(args, choices, argv)
        return
    clips = [planes_of(path) for path in args.clips]
    rows = []
    print(f"{'weight:passes':>13} {'motion B':>10} {'luma B':>10} {'chroma B':>10} {'total B':>10} {'s/frame':>8}")
    for setting, choice in zip(args.settings.split(","), choices, strict=True):
        row = measure(clips, args.group, args.predictor, **choice)
        rows.append(row)
        print(f"{setting:>13} {row['motion_bytes']:>10.0f} {row['luma_bytes']:>10.0f} "
              f"{row['chroma_bytes']:>10.0f} {row['total_bytes']:>10.0f} {row['seconds_per_frame']:>8.2f}",
              flush=True)
    doc = {"what": f"{args.predictor} payload under the encoder's motion-search settings: zeroth-order "
                   "entropy of each part, in bytes (a model-free proxy)", "predictor": args.predictor,
           "clips": [p.name for p in args.clips], "group": args.group,
           "default": encoder_defaults(),
           "machine": machine(), "settings": rows}
    save_result(args.out or ROOT / "bench" / "results" / "motion_search.json", doc, "bench/motion_search.py", argv)


def model_main(args, choices: list[dict], argv) -> None:
    """--model: every setting's ideal bytes per clip under the checkpoint's scoring pass."""
    compressor = Compressor(args.model, threads=args.threads)
    clips = [path.read_bytes() for path in args.clips]
    if args.frames:
        clips = [first_frames(clip, args.frames) for clip in clips]
    rows = []
    print(f"{'setting':>10} {'total B':>12}  per clip (B)")
    for setting, choice in zip(args.settings.split(","), choices, strict=True):
        started = time.perf_counter()
        per_clip = model_bytes(compressor, clips, args.group, args.predictor, choice)
        rows.append({**choice, "bytes": per_clip, "total_bytes": sum(per_clip),
                     "seconds": time.perf_counter() - started})
        print(f"{setting:>10} {sum(per_clip):>12,.0f}  {', '.join(f'{b:,.0f}' for b in per_clip)}", flush=True)
    doc = {"what": f"{args.predictor} payload under the encoder's motion-search settings: ideal bytes of "
                   "the checkpoint's scoring pass (untuned) over each clip's payload",
           "predictor": args.predictor, "checkpoint": args.model, "clips": [p.name for p in args.clips],
           "frames": args.frames or None, "group": args.group, "threads": args.threads,
           "default": encoder_defaults(),
           "machine": machine(), "settings": rows}
    save_result(args.out or ROOT / "bench" / "results" / "motion_search_model.json", doc,
                "bench/motion_search.py", argv)


if __name__ == "__main__":
    main()
