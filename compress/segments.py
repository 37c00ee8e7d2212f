"""Cutting a token stream into segments and segments into batches — shared by coder and scorer.

A segment holds at most `context - 1` tokens (the model sees the prefix token plus the segment, so
`context` positions in all) and never splits a unit (an escape triple decodes only whole). Batches
are balanced: ceil(n / batch) batches whose row counts differ by at most one, a pure function of
(n, batch) so the decoder rebuilds the encoder's layout from the header alone.
"""

from __future__ import annotations

import numpy as np

from .container import segment_ranges


def cut(units: list[list[int]], context: int, breaks=()) -> list[np.ndarray]:
    """Greedy cut; `breaks` are unit indices before which a segment must also end (a front end's
    independently decodable pieces, e.g. video frames)."""
    limit = context - 1
    if limit < 3:
        raise ValueError(f"context must be at least 4 tokens, got {context}")
    segments: list[np.ndarray] = []
    current: list[int] = []
    stops = set(breaks)
    for index, unit in enumerate(units):
        if current and (len(current) + len(unit) > limit or index in stops):
            segments.append(np.array(current, dtype=np.int64))
            current = []
        current.extend(unit)
    if current:
        segments.append(np.array(current, dtype=np.int64))
    return segments


def layout(n_segments: int, batch: int) -> list[tuple[int, int]]:
    """[(start, end)) segment ranges of each batch (the rule lives beside the header checks that
    rebuild it from a header alone: compress.container.segment_ranges)."""
    return segment_ranges(n_segments, batch)
