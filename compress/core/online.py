"""Online tuning: the coder's model fine-tuned on each batch it has coded, before it codes the next.

Why: a model meets a file unlike its training data (the video model learnt from synthetic clips
made of photographs, then codes camera video). Between two batches of independent segments both
ends know every token of the batch just coded (the encoder from its input, the decoder from what it
decoded and checked against the batch's CRC), so both can take the same gradient steps on them and
code the next batch with the same, better fitted weights: dynamic evaluation (Krause et al. 2018),
at batch granularity. Measured with the video model `video_mc/cpu8640` on mc-intra payloads, one
group (docs/targets.md): synthetic validation clips gain 0.29% (0.65% on one noisier than the
training clips; teacher-forced ideal bytes, where the settings below were chosen); carphone, coded,
1,257,983 -> 1,234,259 B (-1.9%, about 42 s of training on 2 cores), the gain growing from batch
to batch.

Determinism is the format: both ends start from a private copy of the same loaded weights and run
this module's one loop on the same token arrays, in the same order, with the same shapes, on the
same thread count (the header's), float32 on the CPU (no atomics: the same bits every run). A
version name stands for every constant below; changing one changes the bits and needs a new name.

The scoring pass (compress/core/scoring.py) measures the loaded model unless asked to tune
(`Compressor.score(tune=...)`): then it scores each coder batch with a Tuner's weights and calls
`learn` on the batch as both coding ends do, so the tuned weights are the coder's and only the
forward pass (parallel, not stepped) differs. That is the quick judge for tuning versions and
checkpoints on validation photographs (bench/tuned_score.py).

The work it adds is bounded by the payload (each batch's tokens / EVERY, at most FIRST_PASSES
times; a forward and a backward pass each), so a hostile header cannot make the decoder train
without end. The tuned weights are never written anywhere: they live for one compress or decompress call.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from compress.core.alphabet import SymbolMap


@dataclass(frozen=True)
class Settings:
    lr: float          # Adam's step size
    every: int         # train on segments 0, EVERY, 2*EVERY, ... of the batch just coded
    minibatch: int     # segments per gradient step
    passes: int = 1    # passes over a batch's chosen segments (each pass: its minibatches in order)
    first_passes: int = 1  # passes over each of the first FIRST_BATCHES batches, the model furthest from the file
    first_batches: int = 1  # how many batches get FIRST_PASSES (the first alone has no tuning behind it)
    decay: float = 1.0     # after each batch's steps the step size is multiplied by this (ExponentialLR)
    later_every: int | None = None  # EVERY for the batches after the first FIRST_BATCHES (None: EVERY)


ADAM1 = "adam/1"
# adam/2 trains on every other segment at a larger step: images meet photographs unlike the
# training set (Kodak's film scans against Wikipedia photographs), and adam/1's sparse steps
# recovered little of that. Measured on the validation photograph only (centre 768x512 of
# wiki_016.png, `kodak_igpt/cpu8640`, independent segments in batches of 256, teacher-forced ideal
# bytes; scratch script, figures in docs/image.md): untuned 349,150 B; adam/1 346,701; lr 1e-3
# every 8th 346,862; lr 1e-3 every 2nd 341,179 (-2.3%); every segment 340,746 for 40 s more per
# image; lr 3e-3 every 2nd 347,249. Coded, Kodak (bench/results/image_model_adam2.json, 2 threads):
# 10,407,833 B against 10,835,139 under carried context, 3.9% fewer, 88-110 s per image each way.
ADAM2 = "adam/2"
# adam/3 is adam/2 with more steps on the same segments: two passes over each batch, four over the
# first (the model is furthest from the photograph there). Same validation photograph, teacher-forced
# ideal bytes (scratch script, docs/targets.md): adam/2 341,179 B; four passes over the first batch
# only 340,074; two over every batch 338,919; two, four over the first 338,449 (-0.8%); three over
# every batch 338,601; every 4th segment twice (adam/2's step count) 342,482. On a photograph
# training never read (wiki_019) 536,128 -> 533,203 (-0.55%). Coded, the validation crop: 341,993 B
# (adam/2) -> 339,256 B (-0.80%), 104 s to compress and 96 s to decompress. The image default since.
ADAM3 = "adam/3"
# adam/4 spends adam/3's step count on twice the segments: every segment of a batch once (twice over
# the first) instead of every other one twice (four times over the first); stop 47 had found
# distinct segments worth more than repeated passes (every 4th twice lost to every 2nd once).
# Same validation photograph, `kodak_igpt/cpu17280bf16`, primed striped batches of 256,
# teacher-forced ideal bytes (scratch script, docs/targets.md): adam/3 327,604 B; adam/4 326,309
# (-0.40%) in the same time; every segment once, four over the first 326,524; every segment twice,
# two over the first 325,651 (-0.60%) and four over the first 326,014, both for 1.8-2x the steps
# (an estimate from stop 46's probe, 39 s per 180 more steps, not measured: about 65 s more per
# image, past the 3-minute budget on Kodak's slower images); adam/4 at lr 1.5e-3
# 327,620. On a photograph training never read (wiki_019) adam/3 524,241, adam/4 524,139 (-0.02%).
ADAM4 = "adam/4"
# adam/5 is adam/4 with a step size that shrinks from batch to batch: lr 1e-3 for the first batch's
# steps, times 0.9 after each batch, for no more steps (the model moves most where it is furthest
# from the photograph, then settles). Same validation photograph and method, `cpu17280bf16`
# (scratch script, docs/targets.md): adam/4 326,309 B; decay 0.95 325,579; 0.9 325,119 (-0.36%);
# 0.8 325,021. On wiki_019 (never read by training) adam/4 524,139, 0.95 523,772, 0.9 523,673
# (-0.09%). Batches 1-3 twice instead (adam/4's schedule otherwise): 325,488 for 25% more steps.
ADAM5 = "adam/5"
# adam/6 is adam/5 with two passes over each of the first three batches instead of the first alone
# (after three batches the model has moved to the photograph and each step buys less). Same
# validation photograph and method, `cpu17280bf16` (scratch script, docs/targets.md): adam/5
# 325,119 B; batches 1-3 twice, 324,333 (-0.24%) for 450 steps instead of 360 (159 s against 136 s
# in the script). On wiki_019 (never read by training) adam/5 523,673, adam/6 523,223 (-0.09%).
# Coded, all 24 Kodak images (stops 55-56): 9,979,400 -> 9,949,436 B (-0.30%, every image smaller),
# 11% more time; the image default in stops 56-57.
ADAM6 = "adam/6"
# adam/7 moves adam/6's steps towards the start of the file: two passes over each of the first five
# batches instead of three, and on every later batch one pass over every other segment instead of
# every segment (416 steps for a Kodak-sized image against adam/6's 448: later batches find the
# model already fitted to the photograph, and their step size has shrunk). Same validation
# photograph, `cpu17280bf16`, teacher-forced ideal bytes (scratch `/tmp/s57/sim.py`, docs/targets.md;
# this host measures adam/6 at 324,569 B where stop 55's gave 324,333): adam/6 324,569; first five
# twice, every segment after 324,244 (-0.10%, 480 steps); first five twice, every other after
# **324,241** (-0.10%); first six twice, every other after 324,416; first seven twice, every fourth
# after 324,303; first six twice, none after 325,354 (+0.24%: later batches still teach); adam/6 at
# decay 0.8 324,541; minibatches of 4 at lr 1e-3 324,944, at 7e-4 324,441 (21% more time). On
# wiki_019 (never read by training) adam/6 523,263, adam/7 523,176 (-0.02%). Coded, all 24 Kodak
# images (stops 57-58): 9,949,436 -> 9,944,080 B (-0.05%, 23 of 24 smaller); the image default
# since stop 58.
ADAM7 = "adam/7"
VERSIONS = {ADAM1: Settings(lr=3e-4, every=8, minibatch=8),
            ADAM2: Settings(lr=1e-3, every=2, minibatch=8),
            ADAM3: Settings(lr=1e-3, every=2, minibatch=8, passes=2, first_passes=4),
            ADAM4: Settings(lr=1e-3, every=1, minibatch=8, passes=1, first_passes=2),
            ADAM5: Settings(lr=1e-3, every=1, minibatch=8, passes=1, first_passes=2, decay=0.9),
            ADAM6: Settings(lr=1e-3, every=1, minibatch=8, passes=1, first_passes=2, first_batches=3, decay=0.9),
            ADAM7: Settings(lr=1e-3, every=1, minibatch=8, passes=1, first_passes=2, first_batches=5, decay=0.9,
                            later_every=2)}


def check_name(name: str | None) -> str | None:
    """`name` if it is a version this module implements (or None: no tuning), else ValueError."""
    if name is not None and name not in VERSIONS:
        raise ValueError(f"unknown online tuning '{name}' (this lmcompress implements "
                         f"{', '.join(VERSIONS)})")
    return name


def memory_bytes(model: torch.nn.Module, name: str, context: int) -> int:
    """About what tuning `model` with version `name` at `context` positions takes beyond coding:
    the copy of the weights, their gradients and Adam's two moments (4 x the parameters), and one
    minibatch's activations kept for the backward pass (per position: the logits three times over
    and about 24 values a layer per hidden unit), float32. The decoder checks it against free
    memory before decoding (compress/core/engine.py check_limits)."""
    settings = VERSIONS[check_name(name)]
    cfg = model.config
    params = sum(p.numel() for p in model.parameters())
    per_position = 3 * int(getattr(cfg, "vocab_size", 0)) + 24 * int(getattr(cfg, "num_hidden_layers", 1)) * \
        int(getattr(cfg, "hidden_size", 0))
    return 4 * (4 * params + settings.minibatch * int(context) * per_position)


class Tuner:
    """A private, trainable copy of `model` and its optimizer state; `model` is never touched.

    `learn(segments)` takes the version's gradient steps on a coded batch's segments (token ids,
    each coded after `prefix_id`), with the loss the coder's distribution implies: cross-entropy
    over `alphabet` (the coder's restricted vocabulary) or the whole vocabulary. The first
    `first_batches` calls take `first_passes` passes, every later one `passes` (over its every
    `later_every`-th segment where the version names one), each at the step size the version's
    decay has left: both ends call it once per batch, in order."""

    def __init__(self, model: torch.nn.Module, name: str, prefix_id: int,
                 alphabet: torch.Tensor | None = None, device: str = "cpu"):
        self.settings = VERSIONS[check_name(name)]
        self.model = copy.deepcopy(model)
        self.model.eval()  # no dropout: the steps must be a function of the tokens alone
        params = []
        for p in self.model.parameters():
            if p.is_floating_point():
                p.requires_grad_(True)
                params.append(p)
        self.optimizer = torch.optim.Adam(params, lr=self.settings.lr, foreach=False)
        # one multiplication of a Python float per batch: the same step sizes on every machine
        self.schedule = (torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=self.settings.decay)
                         if self.settings.decay != 1.0 else None)
        self.prefix_id = int(prefix_id)
        self.alphabet = alphabet
        self.symbol_map = SymbolMap(alphabet)
        self.device = device
        self.batches_learnt = 0

    def early(self) -> bool:
        """Whether the next batch learnt is one of the first FIRST_BATCHES (FIRST_PASSES over it)."""
        return self.batches_learnt < self.settings.first_batches

    def chosen(self, segments: Sequence[np.ndarray], primes: np.ndarray | None = None
               ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The segments of the next batch learnt that the steps train on (every EVERY-th, from the
        first; every LATER_EVERY-th after the first FIRST_BATCHES), and their rows of the batch's
        prime grid (None: unprimed)."""
        settings = self.settings
        every = settings.every if self.early() or settings.later_every is None else settings.later_every
        rows = [r for r in range(0, len(segments), every) if len(segments[r])]
        segs = [np.asarray(segments[r], dtype=np.int64) for r in rows]
        return segs, None if primes is None else np.asarray(primes, dtype=np.int64)[rows]

    def _minibatch(self, segs: list[np.ndarray], primes: np.ndarray | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs [n, width]: the prefix token (or the row's prime grid, kv-primed/1), then each
        segment but its last token, padded with the prefix token; targets [n, width]: symbols
        where the coder codes them, -100 elsewhere) - the positions and context the coder used."""
        lead = 1 if primes is None else primes.shape[1]
        longest = max(len(s) for s in segs)
        inputs = torch.full((len(segs), lead + longest - 1), self.prefix_id, dtype=torch.long)
        targets = torch.full((len(segs), lead + longest - 1), -100, dtype=torch.long)
        for r, s in enumerate(segs):
            if primes is not None:
                inputs[r, :lead] = torch.from_numpy(primes[r])
            inputs[r, lead : lead + len(s) - 1] = torch.from_numpy(s[:-1])
            targets[r, lead - 1 : lead - 1 + len(s)] = torch.from_numpy(self.symbol_map.symbols(s))
        return inputs.to(self.device), targets.to(self.device)

    def learn(self, segments: Sequence[np.ndarray], primes: np.ndarray | None = None) -> None:
        """The steps on one coded batch: its segments and, primed, its prime grid (seglib.prime_grid)."""
        (segs, grid), step = self.chosen(segments, primes), self.settings.minibatch
        minibatches = [self._minibatch(segs[start : start + step],
                                       None if grid is None else grid[start : start + step])
                       for start in range(0, len(segs), step)]
        passes = self.settings.first_passes if self.early() else self.settings.passes
        self.batches_learnt += 1
        with torch.enable_grad():
            for inputs, targets in [m for _ in range(passes) for m in minibatches]:
                logits = self.model(input_ids=inputs).logits
                if self.alphabet is not None:
                    logits = logits.index_select(-1, self.alphabet.to(logits.device))
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        self.model.zero_grad(set_to_none=True)
