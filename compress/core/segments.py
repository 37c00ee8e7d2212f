"""Cutting a token stream into segments and segments into batches — shared by coder and scorer.

A segment holds at most `context - 1` tokens (the model sees the prefix token plus the segment, so
`context` positions in all) and never splits a unit (an escape triple decodes only whole). Batches
are balanced: ceil(n / batch) batches whose row counts differ by at most one, a pure function of
(n, batch) so the decoder rebuilds the encoder's layout from the header alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compress.core.compact import even_row_ends
from compress.core.container import segment_ranges


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


def starts(lengths) -> np.ndarray:
    """int64 [n]: each segment's first position in the payload's token sequence, from the
    segments' lengths in order (the pixel mixer is told payload positions: compress/core/pixmix.py)."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    return ends - np.asarray(lengths, dtype=np.int64)


def layout(n_segments: int, batch: int) -> list[tuple[int, int]]:
    """[(start, end)) segment ranges of each batch (the rule lives beside the header checks that
    rebuild it from a header alone: compress.core.container.segment_ranges)."""
    return segment_ranges(n_segments, batch)


def padded_grid(prefix_id: int, lengths, segments=None) -> np.ndarray:
    """The lockstep token grid [rows, max(longest, 1)] that coder, decoder and scorer step through:
    each row's tokens (`segments`, when known; the decoder fills its grid as it decodes), then the
    prefix token, which rows past their end are fed."""
    lengths = np.asarray(lengths, dtype=np.int64)
    grid = np.full((len(lengths), max(int(lengths.max()) if len(lengths) else 0, 1)), prefix_id,
                   dtype=np.int64)
    for r, seg in enumerate(segments or ()):
        grid[r, : len(seg)] = seg
    return grid


def prime_grid(prefix_id: int, primes: Sequence[np.ndarray], length: int) -> np.ndarray:
    """[rows, length + 1]: the prefix token, then each row's prime (its last `length` tokens at
    most), left-padded with the prefix token when shorter: one shape for the whole batch, the
    same at both ends."""
    grid = np.full((len(primes), length + 1), prefix_id, dtype=np.int64)
    for r, p in enumerate(primes):
        tail = np.asarray(p, dtype=np.int64)[-length:] if length else np.zeros(0, np.int64)
        grid[r, length + 1 - len(tail):] = tail
    return grid


def batch_primes(prime: int, b: int, rows, segs, prefix_id: int) -> np.ndarray | None:
    """Batch `b`'s prime grid (prime_grid of each row's predecessor segment, `segs` holding every
    segment known so far, by index) when segments are primed with `prime` tokens (kv-primed/1),
    else None: unprimed (prime 0, and the first batch, whose predecessors are coded after it).
    The one rule encoder, decoder and scoring pass follow."""
    if not prime or b == 0:
        return None
    return prime_grid(prefix_id, [segs[k - 1] for k in rows], prime)


def stretches(units: list[list[int]], rows: int) -> list[np.ndarray]:
    """The carried-context layout: the token stream cut into at most `rows` contiguous stretches of
    nearly equal token counts (a unit is never split; no stretch is empty), one per batch row."""
    total = sum(len(u) for u in units)
    rows = max(1, min(rows, len(units)))
    # the boundaries of the compact header's even-rows table: with one-token units (no escape
    # triple at a boundary) the rows are exactly that table
    ends = even_row_ends(total, rows)
    out: list[np.ndarray] = []
    current: list[int] = []
    done = 0
    for unit in units:
        current.extend(unit)
        done += len(unit)
        # end row k once it reaches its share of the tokens (in integers: the float division this
        # replaced gave the same cut for every total below 2^53)
        if len(out) < rows - 1 and done >= ends[len(out)]:
            out.append(np.array(current, dtype=np.int64))
            current = []
    if current:
        out.append(np.array(current, dtype=np.int64))
    return out
