"""Helpers the benchmark scripts share: what machine a figure was measured on, and opening a
trained checkpoint for a model bench (audio_model, image_model, video_model), cutting a y4m clip
to its first frames and a photograph to its centre (image_model, tuned_score)."""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
from pathlib import Path

import psutil
from PIL import Image

from compress.core import container
from compress.core.engine import AUTO, Compressor
from compress.core.models import ADAPTER_WEIGHTS, read_manifest
from compress.fileio import write_json
from compress.media import video

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "system": platform.platform()}


def coded_layout(header: dict) -> dict:
    """How a container's payload was coded, for a bench's row: its stepper, batch (rows under
    carried context), online tuning and pixel mixing (None: none), or "stored" when the encoder
    kept the input as is (no stepper, no batch, no tuning, no mixing)."""
    if container.is_stored(header):
        return {"stepper": "stored", "coded_batch": None, "tune": None, "mix": None}
    return {"stepper": container.header_stepper(header), "coded_batch": int(header["batch"]),
            "tune": header.get("tune"), "mix": header.get("mix")}


def tune_option(text: str) -> str | None:
    """A bench's --tune (or --mix) value as Compressor's `tune` (`mix`): "auto" the front end's,
    "none" none, else the version named."""
    return {"auto": AUTO, "none": None}.get(text, text)


def checkpoint_compressor(prog: str, checkpoint: str, *, batch: int, threads: int,
                          **options) -> tuple[dict, Compressor]:
    """(manifest, a Compressor at the checkpoint's own context, with `options` such as
    stepper_kind); exits 1 with one line when `checkpoint` is not a trained checkpoint (no
    manifest.json)."""
    manifest = read_manifest(checkpoint)
    if manifest is None:
        sys.exit(f"{prog}: {checkpoint} is not a checkpoint (no manifest.json)")
    return manifest, Compressor(checkpoint, context=int(manifest["context"]), batch=batch,
                                threads=threads, **options)


def training_facts(checkpoint: str, manifest: dict) -> dict:
    """What a checkpoint cost to make, for a model bench's JSON (the issue asks for training time
    and model size beside every figure): its steps and tokens seen, the wall seconds the trainer
    recorded at its last evaluation (the curve's last point; training and evaluations together), and
    the size of the weights file it holds: the whole model's for one trained from scratch, the
    adapter's for a LoRA checkpoint (its manifest names the adapter's digest)."""
    curve = manifest.get("curve") or []
    weights = Path(checkpoint) / (ADAPTER_WEIGHTS if manifest.get("adapter_sha256") else "model.safetensors")
    return {"steps": manifest.get("step"), "tokens_seen": manifest.get("tokens_seen"),
            "seconds": curve[-1].get("seconds") if curve else None,
            "weights_bytes": weights.stat().st_size if weights.is_file() else None}


def totals_over(rows: list[dict], label: str, model_bytes) -> dict[str, float]:
    """{label: the model's bytes summed over `rows` (`model_bytes(row)`), codec: its bytes} for each
    codec in the rows' "baselines" that measured every one of them (so both sides cover the same files)."""
    table = {label: sum(model_bytes(r) for r in rows)}
    for name in sorted({k for r in rows for k in r["baselines"]}):
        if all(name in r["baselines"] for r in rows):
            table[name] = sum(r["baselines"][name] for r in rows)
    return table


def print_size_table(table: dict[str, float], raw: int, units: int, unit: str) -> None:
    """The table every model bench ends with, smallest first: bytes, ratio (raw / bytes) and bits
    per `unit` (8 * bytes / units)."""
    print(f"{'codec':<38} {'bytes':>11} {'ratio':>7} {'bits/' + unit:>14}")
    for name, size in sorted(table.items(), key=lambda kv: kv[1]):
        print(f"{name:<38} {size:>11.0f} {raw / size:>7.3f} {8 * size / units:>14.3f}")


def save_result(out: Path, doc: dict, script: str, argv) -> None:
    """Write a bench's JSON atomically with the command that made it (`script` and its arguments:
    `argv`, else the process's own) and say where."""
    doc["command"] = " ".join([f"python {script}", *(sys.argv[1:] if argv is None else argv)])
    write_json(out, doc)
    print(f"wrote {out}")


def first_frames(data: bytes, frames: int) -> bytes:
    """The y4m `data` cut after its first `frames` frames (all of them if it has fewer): the stream
    header line, then FRAME line + planes each (bench/video_model.py --frames,
    bench/motion_search.py --frames)."""
    line_end = data.index(b"\n")
    frame_bytes = video.geometry_extras(data[:line_end])["frame_bytes"]
    pos = line_end + 1
    for _ in range(frames):
        if pos >= len(data):
            break
        pos = data.index(b"\n", pos) + 1 + frame_bytes
    return data[:pos]


def centre_crop(data: bytes, size: tuple[int, int]) -> bytes:
    """The centre `size` (width, height) of a PNG, as a PNG; refuses an image smaller than that."""
    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGB")
        (w, h), (cw, ch) = im.size, size
        if cw > w or ch > h:
            raise SystemExit(f"--crop {cw}x{ch} is larger than the {w}x{h} image")
        left, top = (w - cw) // 2, (h - ch) // 2
        out = io.BytesIO()
        im.crop((left, top, left + cw, top + ch)).save(out, "PNG")
        return out.getvalue()


def crop_size(text: str) -> tuple[int, int]:
    """argparse type for --crop: "WIDTHxHEIGHT" as a positive (width, height); anything else is an
    argparse error, so a bad size is one usage line before any image is read or model loaded."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return w, h
