"""Fast parallel scoring: the ideal code length of data under a model, for measurement only.

One full forward pass per batch of segments (same segmentation and prefix as the coder), no KV
cache, no arithmetic coding. Its logits differ in the last bits from the stepper's, which is why it
is never used to code: it answers "how many bits per byte would this model need", quickly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from compress.core import adapt as adaptlib
from compress.core import segments as seglib
from compress.core.alphabet import SymbolMap, restrict
from compress.core.container import batch_members
from compress.core.online import Tuner
from compress.core.stepper import adapted_probabilities, windows


@dataclass
class Score:
    bits: float
    tokens: int
    bytes: int
    segments: int
    mix: str | None = None  # the pixel mixing the figure was scored under (Compressor.score decides per input)

    @property
    def bits_per_byte(self) -> float:
        return self.bits / self.bytes if self.bytes else 0.0


def _log_probs(model: torch.nn.Module, segs: list[np.ndarray], prefix_id: int, order: list[int], *,
               batch: int, alphabet: torch.Tensor | None, device: str, on_batch,
               primes: list[np.ndarray | None] | None):
    """Yield (segment index, float64 log-probabilities [len, K] of its tokens' positions), one
    parallel forward per `batch` segments taken in `order`, each after its lead: the prefix token
    or its prime row (kv-primed/1: a segments.prime_grid row, the prefix token first)."""
    leads = [np.array([prefix_id]) if primes is None or primes[i] is None else np.asarray(primes[i])
             for i in range(len(segs))]
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        width = max(len(leads[i]) + len(segs[i]) for i in rows)
        ids = torch.full((len(rows), width), prefix_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            row = np.concatenate([leads[i], segs[i]])
            ids[r, : len(row)] = torch.as_tensor(row)
            mask[r, : len(row)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for r, i in enumerate(rows):  # one row at a time: float64 [T, vocab] per row, not per batch
            lead = len(leads[i])
            yield i, torch.log_softmax(restrict(logits[r, lead - 1 : lead - 1 + len(segs[i])], alphabet), dim=-1)
        if on_batch is not None:
            on_batch(sum(len(segs[i]) for i in rows))


@torch.inference_mode()
def score_segments(
    model: torch.nn.Module,
    segs: list[np.ndarray],
    prefix_id: int,
    *,
    batch: int = 8,
    alphabet: torch.Tensor | None = None,
    device: str = "cpu",
    on_batch=None,
    primes: list[np.ndarray | None] | None = None,
) -> float:
    """Total bits (float64 log-softmax) of all segments; `alphabet` restricts as the coder does.
    `primes` (kv-primed/1): per segment, the context before it (a segments.prime_grid row: the prefix
    token first) or None (the prefix token alone)."""
    total = 0.0
    symbol_map = SymbolMap(alphabet)
    order = sorted(range(len(segs)), key=lambda i: -len(segs[i]))  # similar lengths together
    for i, log_probs in _log_probs(model, segs, prefix_id, order, batch=batch, alphabet=alphabet, device=device,
                                   on_batch=on_batch, primes=primes):
        targets = torch.as_tensor(symbol_map.symbols(segs[i])).unsqueeze(-1)
        total += float(-log_probs.gather(1, targets).squeeze(-1).sum()) / math.log(2)
    return total


@torch.inference_mode()
def score_mixed(model: torch.nn.Module, segs: list[np.ndarray], prefix_id: int, mixer, starts: np.ndarray, *,
                batch: int = 8, alphabet: torch.Tensor | None = None, device: str = "cpu", on_batch=None,
                primes: list[np.ndarray | None] | None = None) -> float:
    """Total bits of one coder batch of segments (in the coder's row order) under pixel mixing
    (compress/core/pixmix.py): the model's log-probabilities from the parallel pass (as
    `score_segments`, segments in row order), then the mixer fed step by step in the coder's
    order, rows in lockstep, as both coding ends feed it. `starts`: each segment's first payload
    position. The bits are those of the float mixture, without the quantizer's 2^-24 floor."""
    symbol_map = SymbolMap(alphabet)
    log_probs = [None] * len(segs)
    for i, lp in _log_probs(model, segs, prefix_id, list(range(len(segs))), batch=batch, alphabet=alphabet,
                            device=device, on_batch=on_batch, primes=primes):
        log_probs[i] = lp.numpy()
    lengths = np.array([len(s) for s in segs], dtype=np.int64)
    total = 0.0
    for t in range(int(lengths.max()) if len(segs) else 0):
        active = np.nonzero(lengths > t)[0]
        at = starts[active] + t
        q = mixer.mix(at, np.stack([log_probs[r][t] for r in active]))
        symbols = symbol_map.symbols(np.array([segs[r][t] for r in active], dtype=np.int64))
        total -= float(np.log2(np.maximum(q[np.arange(len(active)), symbols], 1e-300)).sum())
        mixer.update(at, symbols)
    return total


_HEAD_BLOCK = 16


@torch.inference_mode()
def score_carried(
    model: torch.nn.Module,
    stretches: list[np.ndarray],
    prefix_id: int,
    *,
    context: int,
    keep: int,
    adapt: str | None,
    batch: int = 8,
    alphabet: torch.Tensor | None = None,
    device: str = "cpu",
    on_batch=None,
) -> float:
    """Total bits of rows of stretches under carried context (kv-carried/3) and, with `adapt`, the
    same online mixture the coder uses: the coder's schedule (`stepper.windows`), each window one
    parallel forward per `batch` rows over the prefix token, the kept tokens and the window's
    tokens, then the mixer fed step by step in the coder's order. Only the model's logits come from
    another pass (they differ from the stepper's in the last bits); the bits are those of the float
    mixture, without the quantizer's 2^-24 floor (which costs well under 0.1%)."""
    rows = len(stretches)
    if rows == 0:
        return 0.0
    lengths = np.array([len(s) for s in stretches], dtype=np.int64)
    steps = int(lengths.max())
    grid = seglib.padded_grid(prefix_id, lengths, stretches)
    symbol_map = SymbolMap(alphabet)
    mixer = adaptlib.Mixer(rows, adapt) if adapt else None
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    total = 0.0
    for start, kept, coded in windows(context, keep, steps):
        ids = np.full((rows, kept + coded), prefix_id, dtype=np.int64)
        ids[:, 1:] = grid[:, start - kept : start + coded - 1]
        hidden = []
        for a in range(0, rows, batch):
            x = torch.as_tensor(ids[a : a + batch], device=device)
            hidden.append(decoder(input_ids=x).last_hidden_state[:, kept:])
        hidden = torch.cat(hidden)
        for i in range(coded):
            if i % _HEAD_BLOCK == 0:  # the output layer over a block of positions at once
                logits = head(hidden[:, i : i + _HEAD_BLOCK])
            t = start + i
            active = np.nonzero(lengths > t)[0]
            probs = adapted_probabilities(mixer, logits[:, i % _HEAD_BLOCK], alphabet, active)
            symbols = symbol_map.symbols(grid[active, t])
            total -= float(np.log2(np.maximum(probs[np.arange(len(active)), symbols], 1e-300)).sum())
            if mixer is not None:
                mixer.update(active, symbols)
        if on_batch is not None:
            on_batch(int(np.minimum(np.maximum(lengths - start, 0), coded).sum()))
    return total


def _coder_batches(segs: list[np.ndarray], coder_batch: int, prime: int | None, prefix_id: int
                   ) -> list[tuple[list[int], np.ndarray | None]]:
    """The coder's batches of `segs` in coding order: (segment indices, the batch's prime grid).
    `prime` None: independent segments (contiguous batches, no grid); else kv-primed/1's striped
    batches and each one's grid (None for batch 0, coded unprimed)."""
    members = batch_members(len(segs), coder_batch, striped=prime is not None)
    return [(rows, None if prime is None else seglib.batch_primes(prime, b, rows, segs, prefix_id))
            for b, rows in enumerate(members)]


def score_bytes(model, symbolizer, data: bytes, *, context: int = 1024, batch: int = 8,
                prefix_id: int, device: str = "cpu", on_batch=None, breaks=(),
                carried: dict | None = None, primed: tuple[int, int] | None = None,
                tuned: tuple[Tuner, int] | None = None, mixed: tuple | None = None) -> Score:
    """Score raw bytes with a symbolizer (text or any front end's) under the coder's segmentation:
    independent segments, with `carried` = {rows, keep, adapt} the carried-context layout, or with
    `primed` = (prime tokens, the coder's batch) kv-primed/1's (batch 0 unprimed, as coded).
    `tuned` = (an online.Tuner over `model`, the coder's batch): each coder batch is scored with the
    tuner's weights, which then learn from it as both coding ends do (`Tuner.learn`, the same segments
    and prime grid), so the figure is the tuned coder's, not the loaded model's. `mixed` = (a
    pixmix.PixelMixer over this payload, the coder's batch; independent segments only): each
    coder batch is scored through the mixer in the coder's order (`score_mixed`), tuned or not."""
    units = symbolizer.encode_units(data)
    if carried is not None:
        stretches = seglib.stretches(units, carried["rows"])
        bits = score_carried(model, stretches, prefix_id, context=context, keep=carried["keep"],
                             adapt=carried["adapt"], batch=batch,
                             alphabet=getattr(symbolizer, "alphabet", None), device=device,
                             on_batch=on_batch)
        return Score(bits=bits, tokens=sum(len(s) for s in stretches), bytes=len(data),
                     segments=len(stretches))
    prime = (primed or (0, 0))[0]
    segs = seglib.cut(units, context - prime, breaks)
    alphabet = getattr(symbolizer, "alphabet", None)
    if tuned is not None or mixed is not None:
        tuner, coder_batch = tuned if tuned is not None else (None, mixed[1])
        mixer = None if mixed is None else mixed[0]
        if (primed is not None and primed[1] != coder_batch) or (mixed is not None and mixed[1] != coder_batch):
            raise ValueError(f"the primed, tuned and mixed coder's batches differ ({primed}, {coder_batch}, "
                             f"{None if mixed is None else mixed[1]})")
        scored = model if tuner is None else tuner.model
        starts = seglib.starts([len(s) for s in segs])
        bits = 0.0
        batches = _coder_batches(segs, coder_batch, prime if primed is not None else None, prefix_id)
        for b, (rows, grid) in enumerate(batches):  # the coder's order: score batch b, then learn from it
            batch_segs = [segs[k] for k in rows]
            grid_rows = None if grid is None else list(grid)
            if mixer is None:
                bits += score_segments(scored, batch_segs, prefix_id, batch=batch, alphabet=alphabet,
                                       device=device, on_batch=on_batch, primes=grid_rows)
            else:
                bits += score_mixed(scored, batch_segs, prefix_id, mixer, starts[list(rows)], batch=batch,
                                    alphabet=alphabet, device=device, on_batch=on_batch, primes=grid_rows)
            if tuner is not None and b + 1 < len(batches):
                tuner.learn(batch_segs, grid)
        return Score(bits=bits, tokens=sum(len(s) for s in segs), bytes=len(data), segments=len(segs))
    primes = None
    if primed is not None:  # each segment's row of its batch's prime grid, as the coder builds it
        primes = [None] * len(segs)
        for rows, grid in _coder_batches(segs, primed[1], prime, prefix_id):
            for r, k in enumerate(rows if grid is not None else ()):
                primes[k] = grid[r]
    bits = score_segments(model, segs, prefix_id, batch=batch, alphabet=alphabet, device=device,
                          on_batch=on_batch, primes=primes)
    return Score(bits=bits, tokens=sum(len(s) for s in segs), bytes=len(data), segments=len(segs))
