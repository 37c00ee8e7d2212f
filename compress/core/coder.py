"""Range-code one batch of segments, interleaved into a single constriction stream.

At step t every row still inside its segment codes its t-th token with the distribution the stepper
produced after feeding token t-1 (the prefix token at t=0). All rows of a batch share one stream, so
the termination overhead (one or two 32-bit words) is paid once per batch, not per segment. The
decoder replays the same steps, feeding back each decoded token, with the same batch layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import constriction
import numpy as np
import torch

from compress.core import adapt as adaptlib
from compress.core import quantize
from compress.core.alphabet import SymbolMap
from compress.core.segments import padded_grid
from compress.core.stepper import (
    CARRIED,
    GROWING,
    Stepper,
    adapted_probabilities,
    coding_log_probabilities,
    coding_probabilities,
    windows,
)

STEPPER_DEFAULT = GROWING  # the independent-segment functions below; carried context: code_carried


def _encode_step(encoder, table: np.ndarray, symbols: np.ndarray) -> float:
    """Code one symbol per row of `table` (alphabet indices); returns their ideal bits under the
    quantized table's float probabilities."""
    sym32 = symbols.astype(np.int32)
    encoder.encode(sym32, quantize.family(), table)
    p = table[np.arange(len(sym32)), sym32] / table.sum(axis=1)
    return -float(np.log2(np.maximum(p, 1e-300)).sum())


def _decode_step(decoder, table: np.ndarray) -> np.ndarray:
    """One symbol per row of `table` (int64 alphabet indices), decoded from `decoder`."""
    try:
        return decoder.decode(quantize.family(), table).astype(np.int64)
    except AssertionError as exc:  # constriction's word for "these words are not a stream"
        raise ValueError(str(exc)) from None


def _step_table(logits: torch.Tensor, alphabet: torch.Tensor | None, active: np.ndarray, mixer,
                at: np.ndarray | None) -> np.ndarray:
    """The quantizer's table for the `active` rows of one step of independent segments: the
    model's distributions, or `mixer`'s mixture of them for the samples at payload positions `at`
    (compress/core/pixmix.py). Both ends call exactly this; the caller then calls `mixer.update`."""
    if mixer is None:
        return quantize.as_table(coding_probabilities(logits, alphabet)[active])
    return quantize.as_table(mixer.mix(at, coding_log_probabilities(logits, alphabet)[active]))


def _batch_logits(model, grid: np.ndarray, steps: int, prefix_id: int, device: str, kind: str,
                  primes: np.ndarray | None):
    """The logits of each step of one batch of independent segments, the one loop both ends run:
    step t's logits predict grid[:, t]. Unprimed, the first step feeds the prefix token; primed,
    one parallel forward over `primes` gives the first logits. Afterwards each step feeds the
    tokens of the step before (the encoder's from its input, the decoder's as it decodes them:
    this generator reads grid[:, t - 1] only after step t - 1's consumer has filled it)."""
    rows = grid.shape[0]
    if primes is None:
        stepper = Stepper(model, rows, steps, device, kind=kind)
        logits = stepper.step(np.full(rows, prefix_id, dtype=np.int64)) if steps else None
    else:
        if primes.shape[0] != rows:
            raise ValueError(f"{primes.shape[0]} primes for {rows} rows")
        stepper = Stepper(model, rows, primes.shape[1] + max(steps - 1, 0), device, kind=kind)
        logits = stepper.prime(primes) if steps else None
    for t in range(steps):
        if t:
            logits = stepper.step(grid[:, t - 1])
        yield logits


def encode_batch(
    model: torch.nn.Module,
    segments: Sequence[np.ndarray],
    prefix_id: int,
    *,
    alphabet: torch.Tensor | None = None,
    device: str = "cpu",
    stepper_kind: str = STEPPER_DEFAULT,
    on_step: Callable[[int], None] | None = None,
    primes: np.ndarray | None = None,
    mixer=None,
    starts: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """(compressed uint32 words, ideal code length in bits of the same float distributions).
    `primes` [rows, n] (kv-primed/1): each row's context before its segment, the prefix token
    first (segments.prime_grid); None: each segment starts from the prefix token alone.
    `mixer` (a pixmix.PixelMixer, shared by the file's batches) with `starts` [rows], each
    segment's first payload position: every step's distributions are mixed, then learnt from."""
    rows = len(segments)
    lengths = np.array([len(s) for s in segments], dtype=np.int64)
    steps = int(lengths.max()) if rows else 0
    grid = padded_grid(prefix_id, lengths, segments)
    encoder = constriction.stream.queue.RangeEncoder()
    symbol_map = SymbolMap(alphabet)
    ideal_bits = 0.0
    for t, logits in enumerate(_batch_logits(model, grid, steps, prefix_id, device, stepper_kind, primes)):
        active = np.nonzero(lengths > t)[0]
        at = None if mixer is None else starts[active] + t
        table = _step_table(logits, alphabet, active, mixer, at)
        symbols = symbol_map.symbols(grid[active, t])
        ideal_bits += _encode_step(encoder, table, symbols)
        if mixer is not None:
            mixer.update(at, symbols)
        if on_step is not None:
            on_step(len(active))
    return encoder.get_compressed(), ideal_bits


def decode_batch(
    model: torch.nn.Module,
    lengths: Sequence[int],
    words: np.ndarray,
    prefix_id: int,
    *,
    alphabet: torch.Tensor | None = None,
    device: str = "cpu",
    stepper_kind: str = STEPPER_DEFAULT,
    on_step: Callable[[int], None] | None = None,
    primes: np.ndarray | None = None,
    mixer=None,
    starts: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Token ids of every segment of the batch, decoded from `words` (`primes`, `mixer`, `starts`:
    as encode_batch)."""
    rows = len(lengths)
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    steps = int(lengths_arr.max()) if rows else 0
    grid = padded_grid(prefix_id, lengths_arr)
    decoder = constriction.stream.queue.RangeDecoder(np.ascontiguousarray(words, dtype=np.uint32))
    symbol_map = SymbolMap(alphabet)
    for t, logits in enumerate(_batch_logits(model, grid, steps, prefix_id, device, stepper_kind, primes)):
        active = np.nonzero(lengths_arr > t)[0]
        at = None if mixer is None else starts[active] + t
        symbols = _decode_step(decoder, _step_table(logits, alphabet, active, mixer, at))
        grid[active, t] = symbol_map.tokens(symbols)
        if mixer is not None:
            mixer.update(at, symbols)
        if on_step is not None:
            on_step(len(active))
    return [grid[r, : lengths_arr[r]].copy() for r in range(rows)]


def code_carried(
    model: torch.nn.Module,
    grid: np.ndarray,
    lengths: np.ndarray,
    prefix_id: int,
    code: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
    *,
    context: int,
    keep: int,
    adapt: str | None,
    alphabet: torch.Tensor | None = None,
    device: str = "cpu",
    on_step: Callable[[int], None] | None = None,
) -> None:
    """The one carried-context loop (stepper kv-carried/3) both ends run.

    `grid` [rows, steps] holds each row's stretch, padded with the prefix token (the decoder's
    fills in as `code` decodes). Rows advance in lockstep through `windows(context, keep, steps)`:
    each window starts with one parallel forward over the prefix token and the row's last `kept`
    tokens (identical shapes at both ends), then steps one token at a time. At step t,
    `code(t, active_rows, table)` codes (encoder) or decodes (decoder) the symbols of the rows still
    inside their stretch, as alphabet indices, from the float64 table the quantizer gets; the
    decoder's `code` writes the decoded token ids into `grid` before returning.
    """
    rows, steps = len(lengths), int(lengths.max()) if len(lengths) else 0
    stepper = Stepper(model, rows, context, device, kind=CARRIED)
    mixer = adaptlib.Mixer(rows, adapt) if adapt else None
    for start, kept, coded in windows(context, keep, steps):
        prime = np.full((rows, kept + 1), prefix_id, dtype=np.int64)
        prime[:, 1:] = grid[:, start - kept : start]
        logits = stepper.prime(prime)
        for t in range(start, start + coded):
            if t > start:
                logits = stepper.step(grid[:, t - 1])
            active = np.nonzero(lengths > t)[0]
            probs = adapted_probabilities(mixer, logits, alphabet, active)
            symbols = code(t, active, quantize.as_table(probs))
            if mixer is not None:
                mixer.update(active, symbols)
            if on_step is not None:
                on_step(len(active))


def encode_carried(model, stretches: Sequence[np.ndarray], prefix_id: int, *, context: int, keep: int,
                   adapt: str | None, alphabet: torch.Tensor | None = None, device: str = "cpu",
                   on_step: Callable[[int], None] | None = None) -> tuple[np.ndarray, float]:
    """(compressed uint32 words, ideal code length in bits) of rows of contiguous stretches."""
    lengths = np.array([len(s) for s in stretches], dtype=np.int64)
    grid = padded_grid(prefix_id, lengths, stretches)
    symbol_map = SymbolMap(alphabet)
    encoder = constriction.stream.queue.RangeEncoder()
    ideal = [0.0]

    def code(t, active, table):
        symbols = symbol_map.symbols(grid[active, t])
        ideal[0] += _encode_step(encoder, table, symbols)
        return symbols

    code_carried(model, grid, lengths, prefix_id, code, context=context, keep=keep, adapt=adapt,
                 alphabet=alphabet, device=device, on_step=on_step)
    return encoder.get_compressed(), ideal[0]


def decode_carried(model, lengths: Sequence[int], words: np.ndarray, prefix_id: int, *, context: int,
                   keep: int, adapt: str | None, alphabet: torch.Tensor | None = None,
                   device: str = "cpu", on_step: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Token ids of every row's stretch, decoded from `words`."""
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    rows = len(lengths_arr)
    grid = padded_grid(prefix_id, lengths_arr)
    decoder = constriction.stream.queue.RangeDecoder(np.ascontiguousarray(words, dtype=np.uint32))
    symbol_map = SymbolMap(alphabet)

    def code(t, active, table):
        symbols = _decode_step(decoder, table)
        grid[active, t] = symbol_map.tokens(symbols)
        return symbols

    code_carried(model, grid, lengths_arr, prefix_id, code, context=context, keep=keep, adapt=adapt,
                 alphabet=alphabet, device=device, on_step=on_step)
    return [grid[r, : lengths_arr[r]].copy() for r in range(rows)]
