"""The one probability path: batched, incremental next-token distributions with a KV cache.

Encoder and decoder both drive `Stepper` with the same batch layout (rows = segments of one batch,
in header order; finished rows are fed the prefix token), so the logits they see are computed by
identical kernels on identical shapes. `coding_probabilities` turns logits into the float64 table
handed to the quantizer, optionally restricted to an alphabet of allowed token ids (audio, pixels).
Nothing here is used for the fast parallel scoring pass; that lives in scoring.py.
"""

from __future__ import annotations

import numpy as np
import torch


class Stepper:
    """Feed one token per row per call; returns float32 logits [rows, vocab] for the next token.

    The KV cache is a preallocated StaticCache of `length` positions: a growing DynamicCache
    re-concatenates every layer's keys and values at each step, which costs quadratic memory
    traffic over a 1024-token segment. The cache length is part of the computation (attention
    runs over the masked full length), so both ends size it identically: the batch's longest
    segment, which the decoder knows from the header.
    """

    def __init__(self, model: torch.nn.Module, rows: int, length: int, device: str = "cpu"):
        from transformers import StaticCache

        self.model = model
        self.rows = rows
        self.device = device
        self.cache = StaticCache(config=model.config, max_cache_len=max(length, 1))
        self.steps = 0

    @torch.inference_mode()
    def step(self, tokens: np.ndarray) -> torch.Tensor:
        if tokens.shape != (self.rows,):
            raise ValueError(f"expected {self.rows} tokens, got shape {tokens.shape}")
        ids = torch.as_tensor(tokens, dtype=torch.long, device=self.device).view(self.rows, 1)
        position = torch.tensor([self.steps], dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, past_key_values=self.cache, use_cache=True,
                         cache_position=position)
        self.steps += 1
        return out.logits[:, -1, :]


def coding_probabilities(logits: torch.Tensor, alphabet: torch.Tensor | None = None) -> np.ndarray:
    """float64 probabilities [rows, K] over the full vocabulary or over `alphabet` (token ids).

    The softmax runs in float64 on the CPU so that the only float32 values that matter are the
    model's logits; both ends call exactly this function on exactly those logits.
    """
    x = logits.detach().to(device="cpu", dtype=torch.float64)
    if alphabet is not None:
        x = x.index_select(1, alphabet)
    return torch.softmax(x, dim=-1).numpy()
