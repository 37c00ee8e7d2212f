"""Classical lossless baselines for the LMCompress image and video benchmarks, in one run.

Images: the 24 Kodak PNGs (768x512 RGB). Ratio = raw RGB bytes (w*h*3) / compressed bytes, for the
PNGs as given, optipng -o2, cwebp -lossless -z 9, cjxl lossless (-d 0 -e 7), opj_compress
(lossless by default). Video: the carphone QCIF clip; ratio = raw yuv420p bytes / compressed bytes
for ffmpeg FFV1, libx264 -qp 0 and libx265 lossless. Every output is decoded again and compared
with the source pixels, so a lossy setting cannot slip into the table.

Needs Debian packages optipng, webp, libjxl-tools, libopenjp2-tools, ffmpeg.

    nice -n 10 python bench/image_baselines.py [--images N] [--skip-video]

Prints a table and writes bench/results/image_baselines.json (machine, commands, tool versions).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from compress.core import frontends

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"
KODAK = DATA / "images" / "kodak"
CLIP = DATA / "video" / "carphone_qcif.y4m"
PACKAGES = ["optipng", "webp", "libjxl-tools", "libopenjp2-tools", "ffmpeg", "libx264-*", "libx265-*"]

# name -> (encode command, decode command or None when Pillow reads the output); {i} {o} {d}
IMAGE_CODECS = {
    "optipng -o2": ("png", ["optipng", "-o2", "-quiet", "-out", "{o}", "{i}"], None),
    "cwebp -lossless -z 9": ("webp", ["cwebp", "-quiet", "-lossless", "-z", "9", "{i}", "-o", "{o}"],
                             ["dwebp", "-quiet", "{o}", "-ppm", "-o", "{d}"]),
    "cjxl -d 0 -e 7": ("jxl", ["cjxl", "--quiet", "-d", "0", "-e", "7", "{i}", "{o}"],
                       ["djxl", "--quiet", "{o}", "{d}"]),
    "opj_compress (lossless)": ("jp2", ["opj_compress", "-i", "{i}", "-o", "{o}"],
                                ["opj_decompress", "-i", "{o}", "-o", "{d}"]),
}
VIDEO_CODECS = {
    "ffv1": ("mkv", ["-c:v", "ffv1"]),
    "libx264 -qp 0": ("h264", ["-c:v", "libx264", "-qp", "0", "-f", "h264"]),
    "libx265 lossless": ("hevc", ["-c:v", "libx265", "-x265-params", "lossless=1:log-level=error",
                                  "-f", "hevc"]),
}


# every program the image codecs above and the video baseline call, encoders and decoders
IMAGE_TOOLS = ("optipng", "cwebp", "dwebp", "cjxl", "djxl", "opj_compress", "opj_decompress")
VIDEO_TOOLS = ("ffmpeg",)


def require_tools(tools: tuple[str, ...]) -> None:
    """Stop with one line naming what is not installed, before any codec runs."""
    if missing := [t for t in tools if shutil.which(t) is None]:
        raise SystemExit(f"missing tools: {', '.join(missing)} (make baselines-setup, or apt-get install "
                         "optipng webp libjxl-tools libopenjp2-tools ffmpeg)")


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def tool_versions() -> dict:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *PACKAGES],
                         capture_output=True, text=True).stdout
    versions = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    versions["cjxl"] = subprocess.run(["cjxl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return versions


def bench_images(paths: list[Path], tmp: Path) -> dict:
    rows = []
    for path in paths:
        pixels = rgb(path)
        raw = pixels.size
        row = {"image": path.stem, "raw_bytes": raw, "sizes": {"png (as given)": path.stat().st_size}}
        for name, (ext, enc, dec) in IMAGE_CODECS.items():
            out, back = tmp / f"{path.stem}.{ext}", tmp / f"{path.stem}.dec.ppm"
            for f in (out, back):
                f.unlink(missing_ok=True)
            fmt = {"i": str(path), "o": str(out), "d": str(back)}
            run([a.format(**fmt) for a in enc])
            if dec is not None:
                run([a.format(**fmt) for a in dec])
            if not np.array_equal(rgb(back if dec is not None else out), pixels):
                raise SystemExit(f"{name} is not lossless on {path.name}")
            row["sizes"][name] = out.stat().st_size
        rows.append(row)
        print(f"{path.stem}: " + ", ".join(f"{k} {v}" for k, v in row["sizes"].items()), flush=True)
    names = list(rows[0]["sizes"])
    raw_total = sum(r["raw_bytes"] for r in rows)
    summary = {n: {"bytes": sum(r["sizes"][n] for r in rows),
                   "ratio": raw_total / sum(r["sizes"][n] for r in rows),
                   "mean_ratio": float(np.mean([r["raw_bytes"] / r["sizes"][n] for r in rows]))}
               for n in names}
    return {"images": len(rows), "raw_bytes": raw_total, "rows": rows, "summary": summary}


def bench_video(tmp: Path) -> dict:
    fe = frontends.get("video")
    payload, extras = fe.split(CLIP.read_bytes())
    if extras["colourspace"] not in ("420jpeg", "420mpeg2", "420paldv", "420"):
        raise SystemExit("the video baseline expects a yuv420p clip")
    summary = {}
    for name, (ext, args) in VIDEO_CODECS.items():
        out = tmp / f"clip.{ext}"
        out.unlink(missing_ok=True)
        run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(CLIP), *args, str(out)])
        back = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(out), "-f",
                               "rawvideo", "-pix_fmt", "yuv420p", "-"], check=True,
                              capture_output=True).stdout
        if back != payload:
            raise SystemExit(f"{name} is not lossless on {CLIP.name}")
        size = out.stat().st_size
        summary[name] = {"bytes": size, "ratio": len(payload) / size,
                         "command": " ".join(["ffmpeg", "-i", CLIP.name, *args, out.name])}
        print(f"{CLIP.stem} {name}: {size} bytes", flush=True)
    return {"clip": CLIP.name, "frames": extras["frames"], "raw_bytes": len(payload), "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=24, help="how many Kodak images (first N)")
    ap.add_argument("--skip-video", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "image_baselines.json"))
    args = ap.parse_args()
    require_tools(IMAGE_TOOLS + VIDEO_TOOLS)
    started = time.perf_counter()
    paths = sorted(KODAK.glob("kodim*.png"))[: args.images]
    with tempfile.TemporaryDirectory() as tmp:
        images = bench_images(paths, Path(tmp))
        video = None if args.skip_video else bench_video(Path(tmp))
    print(f"\nKodak ({images['images']} images, raw RGB {images['raw_bytes']} bytes)")
    print(f"{'codec':28s} {'bytes':>10s} {'ratio':>7s}")
    for name, v in images["summary"].items():
        print(f"{name:28s} {v['bytes']:10d} {v['ratio']:7.3f}")
    if video:
        print(f"\n{video['clip']} ({video['frames']} frames, raw yuv420p {video['raw_bytes']} bytes)")
        for name, v in video["summary"].items():
            print(f"{name:28s} {v['bytes']:10d} {v['ratio']:7.3f}")
    result = {
        "what": "classical lossless baselines; ratio = raw bytes / compressed bytes (totals)",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "system": platform.platform()},
        "command": " ".join(["python"] + sys.argv),
        "codec_commands": {n: " ".join(c[1]) for n, c in IMAGE_CODECS.items()},
        "tool_versions": tool_versions(),
        "seconds": time.perf_counter() - started,
        "kodak": images,
        "video": video,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
