"""The one probability path: batched, incremental next-token distributions with a KV cache.

Encoder and decoder both drive `Stepper` with the same batch layout (rows = segments of one batch,
in header order; finished rows are fed the prefix token), so the logits they see are computed by
identical kernels on identical shapes. `coding_probabilities` turns logits into the float64 table
handed to the quantizer, optionally restricted to an alphabet of allowed token ids (audio, pixels;
compress/core/alphabet.py).
Nothing here is used for the fast parallel scoring pass; that lives in scoring.py.
"""

from __future__ import annotations

import numpy as np
import torch

from compress.core import adapt as adaptlib
from compress.core import llamastep
from compress.core.alphabet import restrict
from compress.core.container import PRIME_TOKENS, STEPPER_BEFORE_FIELD, STEPPER_CARRIED, STEPPER_PRIMED

# Every stepper kind is part of the format: a container names the one that made it ("stepper" in the
# header; containers without the field predate it and used STATIC). Kinds compute the same
# distributions up to float rounding, but only the same kind reproduces the bits.
STATIC = STEPPER_BEFORE_FIELD  # kv-static/1: attention over the whole preallocated cache, masked
GROWING = "kv-growing/2"  # attention over the positions written so far: no mask, half the KV reads
# Carried context: each row codes a contiguous stretch of the input and, when its window of
# `context` positions fills, re-primes with its last `keep` tokens (see `windows`); kv-growing/2's
# attention. Independent segments (STATIC, GROWING) keep frame-level random access for video.
CARRIED = STEPPER_CARRIED
# Primed segments: kv-growing/2's independent segments and attention, shortened by PRIME_TOKENS
# and coded in striped batches, so that from the second batch on every segment starts from one
# parallel forward over the prefix token and the last PRIME_TOKENS tokens of the segment before it
# (coded in the batch before): its first rows have the rows above them as context, as carried
# context gives, while batches stay independent enough for online tuning between them.
PRIMED = STEPPER_PRIMED
PRIME = PRIME_TOKENS
DEFAULT = CARRIED
KINDS = (STATIC, GROWING, CARRIED, PRIMED)


def cache_keyword(model: torch.nn.Module) -> str:
    """The forward() keyword that takes the KV cache: `cache` (transformers >= 5.2x renamed it; the
    old name is announced to stop working in 5.40) or `past_key_values` (earlier 5.x releases).

    Read from the model's own signature rather than from the version number, so a model class that
    has not been renamed yet keeps getting the name it understands. Only the keyword changes: the
    same Cache object reaches the same layers, so the logits (and the bits) are identical.
    """
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtin or C forward
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown stepper '{kind}' (this lmcompress implements {', '.join(KINDS)})")
    return kind


def _growing_cache(model: torch.nn.Module, length: int):
    """A preallocated KV cache whose layers hand attention only the positions filled so far.

    Every row of a batch advances in lockstep (finished rows are fed the prefix token), so at step
    t all rows attend to exactly positions 0..t: no padding, nothing masked. transformers (5.24)
    hands SDPA an all-true mask and packs the grouped query heads onto their key/value heads
    (`pack_gqa`) instead of repeating keys per head, and the keys and values read per step average
    half the cache instead of all of it (compress/core/llamastep.py replicates that call). Measured on the
    2-core CPU with SmolLM2-135M at batch 32: 163 ms per step against 294 ms for the static cache
    over the first 300 positions (1 thread, machine shared with a training run).
    """
    from transformers.cache_utils import Cache, StaticLayer

    class GrowingLayer(StaticLayer):
        def __init__(self, max_cache_len: int):
            super().__init__(max_cache_len)
            self.filled = 0

        def update(self, key_states, value_states, *args, **kwargs):
            keys, values = super().update(key_states, value_states, *args, **kwargs)
            self.filled += key_states.shape[-2]
            return keys[:, :, : self.filled], values[:, :, : self.filled]

        def get_mask_sizes(self, query, *args, **kwargs):
            # transformers 5.x passes the query length (older releases: its cache positions)
            n = query if isinstance(query, int) else int(query.shape[-1])
            return self.filled + n, 0

    layers = int(model.config.num_hidden_layers)
    return Cache(layers=[GrowingLayer(max(length, 1)) for _ in range(layers)])


class Stepper:
    """Feed one token per row per call; returns float32 logits [rows, vocab] for the next token.

    The KV cache is preallocated for `length` positions (the batch's longest segment, which the
    decoder knows from the header): a growing DynamicCache re-concatenates every layer's keys and
    values at each step, which costs quadratic memory traffic over a 1024-token segment. `kind`
    says how attention reads it (STATIC or GROWING above); encoder and decoder use the kind the
    container names, so they run identical kernels on identical shapes.
    """

    def __init__(self, model: torch.nn.Module, rows: int, length: int, device: str = "cpu",
                 kind: str = DEFAULT, lean: bool = True):
        from transformers import StaticCache

        self.model = model
        self.rows = rows
        self.device = device
        self.kind = check_kind(kind)
        if self.kind == STATIC:
            self.cache = StaticCache(config=model.config, max_cache_len=max(length, 1))
        else:
            self.cache = _growing_cache(model, length)
        self.length = max(length, 1)
        self.steps = 0
        self.cache_keyword = cache_keyword(model)
        # The lean replica of transformers' one-token step (compress/core/llamastep.py): the same
        # bits, verified at this row count before use; None keeps transformers' forward.
        self._lean = None
        if lean and self.kind != STATIC:
            self._lean = llamastep.step_function(model, rows, device, lambda: _growing_cache(model, 3),
                                                 self._forward)

    def _forward(self, cache, ids: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """transformers' forward of `ids` [rows, n] through `cache`: the logits after the last."""
        out = self.model(input_ids=ids, use_cache=True, cache_position=position,
                         **{self.cache_keyword: cache})
        return out.logits[:, -1, :]

    @property
    def lean(self) -> bool:
        """Whether steps run through the lean replica (same bits, less Python per step)."""
        return self._lean is not None

    @torch.inference_mode()
    def step(self, tokens: np.ndarray) -> torch.Tensor:
        if tokens.shape != (self.rows,):
            raise ValueError(f"expected {self.rows} tokens, got shape {tokens.shape}")
        if self.steps >= self.length:
            raise ValueError(f"the KV cache holds {self.length} positions; all are used")
        ids = torch.as_tensor(tokens, dtype=torch.long, device=self.device).view(self.rows, 1)
        if self._lean is not None:
            logits = self._lean(self.cache, ids)
        else:
            position = torch.tensor([self.steps], dtype=torch.long, device=self.device)
            logits = self._forward(self.cache, ids, position)
        self.steps += 1
        return logits

    @torch.inference_mode()
    def prime(self, tokens: np.ndarray) -> torch.Tensor:
        """Start over from an empty cache with `tokens` [rows, n] as context: one parallel forward
        over the n positions (the same shapes at both ends); returns the logits after the last."""
        if self.kind == STATIC:
            raise ValueError("kv-static/1 does not re-prime")
        rows, n = tokens.shape
        if rows != self.rows or not 1 <= n <= self.length:
            raise ValueError(f"cannot prime {self.rows} rows x {self.length} positions with {tokens.shape}")
        self.cache = _growing_cache(self.model, self.length)
        ids = torch.as_tensor(tokens, dtype=torch.long, device=self.device)
        position = torch.arange(n, dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, use_cache=True, cache_position=position,
                         logits_to_keep=1, **{self.cache_keyword: self.cache})
        self.steps = n
        return out.logits[:, -1, :]


def windows(context: int, keep: int, steps: int) -> list[tuple[int, int, int]]:
    """The carried-context schedule of a stretch of `steps` tokens: (start, kept, coded) per window.

    A window is primed with the prefix token and the `kept` tokens before `start` (none in the first
    window), then codes `coded` tokens from `start`: the first with the priming's logits, each next
    one after feeding the one before, so a window uses at most `context` positions. A pure function
    of the header's settings: every row of a batch follows it in lockstep at both ends."""
    if not 0 <= keep <= context - 2:
        raise ValueError(f"keep must be 0..context-2 ({context - 2}), not {keep}")
    out, start, kept = [], 0, 0
    while start < steps:
        coded = min(context - kept, steps - start)
        out.append((start, kept, coded))
        start += coded
        kept = keep
    return out


def coding_probabilities(logits: torch.Tensor, alphabet: torch.Tensor | None = None) -> np.ndarray:
    """float64 probabilities [rows, K] over the full vocabulary or over `alphabet` (token ids).

    The softmax runs in float64 on the CPU so that the only float32 values that matter are the
    model's logits; both ends call exactly this function on exactly those logits.
    """
    return torch.softmax(restrict(logits, alphabet), dim=-1).numpy()


def coding_log_probabilities(logits: torch.Tensor, alphabet: torch.Tensor | None = None) -> np.ndarray:
    """float64 log-probabilities [rows, K]: `coding_probabilities` in log space, for the
    adaptation that mixes in log space (compress/core/adapt.py ngram-mix/2)."""
    return torch.log_softmax(restrict(logits, alphabet), dim=-1).numpy()


def adapted_probabilities(mixer, logits: torch.Tensor, alphabet: torch.Tensor | None,
                          active: np.ndarray) -> np.ndarray:
    """The float64 distributions [len(active), K] coded for the `active` rows under carried
    context: the model's own, or `mixer`'s mixture of them (compress/core/adapt.py). Encoder, decoder and
    scoring pass all call this one function; the caller then calls `mixer.update`."""
    if mixer is None:
        return coding_probabilities(logits, alphabet)[active]
    if mixer.version == adaptlib.V1:
        return mixer.mix(active, coding_probabilities(logits, alphabet)[active])
    return mixer.mix_log(active, coding_log_probabilities(logits, alphabet)[active])
