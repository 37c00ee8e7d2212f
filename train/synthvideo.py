"""Synthetic training video from still photographs: y4m clips of a camera moving over each photo.

The only real video this project has (carphone) is a test file, and the video front end's
`mc-temporal` residuals look nothing like the photographs' MED residuals the Kodak pixel model
learned from: coded with it, predicted frames cost as much as their byte histogram (zeroth-order
entropy), i.e. the model finds no structure in them. A model that has seen motion-compensated
residuals needs video; this makes some, from the same training photographs recipe=kodak_igpt uses
(never the test clip):

* each clip is a 4:2:0 window (176x144 by default) moving over a downscaled copy of one photo with
  a random sub-pixel velocity that drifts from frame to frame, rendered with bicubic resampling
  (so motion compensation meets fractional shifts, as in real video);
* a second patch of the same photo moves across it with its own velocity (an object: occlusion
  and uncovered background, where motion compensation fails);
* every frame gets independent Gaussian noise (sensor noise that no prediction removes), of a
  strength drawn per clip.

Clips are written photo by photo in the photos' sorted order, so a byte split of the concatenated
corpus (first train_bytes train, ...) puts different photographs in train, validation and test.
Deterministic for a given seed and Pillow/numpy version: the files' sha256 land in the split record.

    python -m train.synthvideo ../shared/data/images/train OUT_DIR [--clips 4] [--frames 16] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from compress.fileio import write_atomic

WIDTH, HEIGHT = 176, 144


def _yuv420(rgb: np.ndarray) -> bytes:
    """BT.601 studio-range Y'CbCr 4:2:0 (chroma: the mean of each 2x2 block), as y4m 420jpeg planes."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean(axis=(1, 3))

    planes = [y, sub(u), sub(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def _window(image, x: float, y: float, w: int, h: int) -> np.ndarray:
    """The w x h window whose top-left corner is at (x, y), fractional, resampled bicubically."""
    from PIL import Image

    out = image.transform((w, h), Image.Transform.AFFINE, (1, 0, x, 0, 1, y), resample=Image.Resampling.BICUBIC)
    return np.asarray(out, dtype=np.float64)


def clip(image, rng: np.random.Generator, frames: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """One y4m clip of `frames` frames over `image` (a PIL RGB image at least twice the window)."""
    big_w, big_h = image.size
    room_x, room_y = big_w - width - 1, big_h - height - 1
    x, y = rng.uniform(0, room_x), rng.uniform(0, room_y)
    vx, vy = rng.normal(0, 1.5, 2)
    # the object: a patch from elsewhere in the photo, moving on its own
    ow, oh = int(rng.integers(24, 64)), int(rng.integers(24, 64))
    sx, sy = rng.uniform(0, big_w - ow - 1), rng.uniform(0, big_h - oh - 1)
    ox, oy = rng.uniform(0, width - ow), rng.uniform(0, height - oh)
    ovx, ovy = rng.normal(0, 2.0, 2)
    sigma = rng.uniform(0.3, 2.0)
    out = [f"YUV4MPEG2 W{width} H{height} F30000:1001 Ip A1:1 C420jpeg\n".encode()]
    for _ in range(frames):
        frame = _window(image, x, y, width, height)
        patch = _window(image, sx, sy, ow, oh)
        px, py = int(np.clip(round(ox), 0, width - ow)), int(np.clip(round(oy), 0, height - oh))
        frame[py : py + oh, px : px + ow] = patch
        frame += rng.normal(0, sigma, frame.shape)
        out.append(b"FRAME\n" + _yuv420(np.clip(frame, 0, 255)))
        vx, vy = np.clip((vx, vy) + rng.normal(0, 0.3, 2), -4, 4)
        x, y = np.clip(x + vx, 0, room_x), np.clip(y + vy, 0, room_y)
        ox, oy = ox + ovx, oy + ovy
        if not 0 <= ox <= width - ow:
            ovx = -ovx
        if not 0 <= oy <= height - oh:
            ovy = -ovy
        sx = np.clip(sx + rng.normal(0, 0.5), 0, big_w - ow - 1)  # the patch's source drifts too
        sy = np.clip(sy + rng.normal(0, 0.5), 0, big_h - oh - 1)
    return b"".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.synthvideo", description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", help="a directory of photographs (PNG/JPEG)")
    parser.add_argument("out", help="directory to write the .y4m clips into")
    parser.add_argument("--clips", type=int, default=4, help="clips per photograph")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from PIL import Image

    photos = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not photos:
        print(f"synthvideo: no photographs in {args.photos}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i, path in enumerate(photos):
        try:
            with Image.open(path) as im:
                rgb = im.convert("RGB")
        except (OSError, ValueError) as exc:  # Pillow's "cannot identify image file", truncated data
            print(f"synthvideo: {path}: not a readable photograph ({exc})", file=sys.stderr)
            return 1
        for c in range(args.clips):
            scale = float(rng.uniform(2.0, 4.0))  # video is softer and smaller than a still photograph
            size = (round(rgb.width / scale), round(rgb.height / scale))
            if size[0] < 2 * WIDTH or size[1] < 2 * HEIGHT:
                size = (max(size[0], 2 * WIDTH), max(size[1], 2 * HEIGHT))
            small = rgb.resize(size, Image.Resampling.LANCZOS)
            write_atomic(out / f"{i:03d}-{path.stem}-{c}.y4m", clip(small, rng, args.frames))
    print(f"wrote {len(photos) * args.clips} clips of {args.frames} frames to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
