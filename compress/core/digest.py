"""sha256 of a file, streamed: the one copy (model weights and adapters here, corpus files in
train/corpus.py, GGUF files in bench/model_ladder.py). No torch, so light modules can use it."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes, read `chunk` bytes at a time (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
