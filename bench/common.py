"""Helpers the benchmark scripts share: what machine a figure was measured on, and opening a
trained checkpoint for a model bench (audio_model, image_model, video_model)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compress.engine import Compressor  # noqa: E402
from compress.models import read_manifest  # noqa: E402


def machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "system": platform.platform()}


def checkpoint_compressor(prog: str, checkpoint: str, *, batch: int, threads: int) -> tuple[dict, Compressor]:
    """(manifest, a Compressor at the checkpoint's own context); exits 1 with one line when
    `checkpoint` is not a trained checkpoint (no manifest.json)."""
    manifest = read_manifest(checkpoint)
    if manifest is None:
        sys.exit(f"{prog}: {checkpoint} is not a checkpoint (no manifest.json)")
    return manifest, Compressor(checkpoint, context=int(manifest["context"]), batch=batch, threads=threads)
