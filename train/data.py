"""Bytes -> the coder's segments -> training batches.

A training example is exactly what the coder conditions on: the prefix token
(`compress.core.engine.prefix_token`) followed by one segment of at most context-1 tokens, segments cut
by `compress.core.segments.cut(symbolizer.encode_units(bytes), context)`. So the model is trained on the
conditioning it codes with, and validation bits per byte (compress.core.scoring) is the quantity the
compressor achieves.

The symbolizer is the modality front end's (`frontends.get(modality).symbolizer(tokenizer, vocab)`):
a TextSymbolizer for text, a ByteSymbolizer (one token per byte over a 256-token alphabet) for audio
payloads, whose `encode_ids` gives the ids directly.
"""

from __future__ import annotations

import bisect

import numpy as np
import torch

from compress.core import segments as seglib

PIECE_BYTES = 1 << 20  # text is tokenized in ~1 MiB pieces cut at document boundaries


def symbolizer_for(modality: str, tokenizer, vocab: int, frontend_options: dict | None = None):
    """The front end's symbolizer with the model's vocabulary size (`engine.model_vocab(model)`)."""
    from compress.core import frontends

    return frontends.get(modality, **(frontend_options or {})).symbolizer(tokenizer, vocab)


def units_of(symbolizer, data: bytes, ends: list[int] | None = None) -> list[list[int]]:
    """`symbolizer.encode_units(data)`, text tokenized piecewise at document boundaries so a
    64 MiB part never goes to the tokenizer as one string."""
    if not ends or len(data) <= PIECE_BYTES:
        return symbolizer.encode_units(data)
    units: list[list[int]] = []
    start = 0
    while start < len(data):
        k = bisect.bisect_right(ends, start + PIECE_BYTES)
        stop = ends[k - 1] if k and ends[k - 1] > start else min(len(data), start + PIECE_BYTES)
        units += symbolizer.encode_units(data[start:stop])
        start = stop
    return units


def training_segments(symbolizer, data: bytes, context: int,
                      ends: list[int] | None = None) -> list[np.ndarray]:
    """Segments of <= context-1 token ids, cut exactly as the coder cuts them."""
    if hasattr(symbolizer, "encode_ids"):
        # one token per byte: cut() of single-token units is fixed-size chunking, done in numpy
        ids = np.asarray(symbolizer.encode_ids(data), dtype=np.int64)
        limit = context - 1
        if limit < 3:
            raise ValueError(f"context must be at least 4 tokens, got {context}")
        return [ids[i : i + limit] for i in range(0, len(ids), limit)]
    return seglib.cut(units_of(symbolizer, data, ends), context)


def relative_ends(ends: list[int], start: int, stop: int) -> list[int]:
    """Document ends inside [start, stop), shifted to start at 0."""
    lo = bisect.bisect_right(ends, start)
    hi = bisect.bisect_right(ends, stop)
    return [e - start for e in ends[lo:hi]]


class SegmentDataset(torch.utils.data.Dataset):
    """Segments stored flat (one int32 array + offsets): 16M tokens cost 64 MB, not 16M objects."""

    def __init__(self, segs: list[np.ndarray], prefix_id: int):
        lengths = np.array([len(s) for s in segs], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.tokens = (np.concatenate(segs) if segs else np.zeros(0)).astype(np.int32)
        self.prefix_id = int(prefix_id)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> torch.Tensor:
        seg = self.tokens[self.offsets[i] : self.offsets[i + 1]].astype(np.int64)
        return torch.from_numpy(np.concatenate([[self.prefix_id], seg]))

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])


def collate(prefix_id: int):
    """Right-pad a list of [prefix]+segment rows; padding is masked out of attention and loss."""

    def fn(rows: list[torch.Tensor]) -> dict:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), prefix_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        labels = ids.masked_fill(mask == 0, -100)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    return fn
