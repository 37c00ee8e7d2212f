"""The coding alphabet: which token ids a distribution is coded over, and token id <-> symbol.

Text codes over the model's whole vocabulary (alphabet None: a token's symbol is its id). Audio,
pixels and video code over ByteSymbolizer's 256 token ids (`alphabet`, a LongTensor of token ids
in symbol order): the distribution is the softmax over those columns of the logits only, and a
token's symbol is its position in `alphabet`. Coder, stepper and scoring pass all restrict and map
through these two helpers, so the three cannot drift apart.
"""

from __future__ import annotations

import numpy as np
import torch


def restrict(logits: torch.Tensor, alphabet: torch.Tensor | None = None) -> torch.Tensor:
    """float64 CPU logits [..., K] over the full vocabulary, or over `alphabet`'s columns in its
    order. The upcast comes first, so the only float32 values that matter are the model's logits;
    every softmax the coder or the scoring pass takes starts from exactly this tensor."""
    x = logits.detach().to(device="cpu", dtype=torch.float64)
    return x if alphabet is None else x.index_select(-1, alphabet)


class SymbolMap:
    """token id -> symbol (the index into the distribution `restrict` gives) and back."""

    def __init__(self, alphabet: torch.Tensor | None = None):
        if alphabet is None:
            self._tokens = self._index = None
            return
        tokens = alphabet.numpy().astype(np.int64)
        index = np.full(int(tokens.max()) + 1 if len(tokens) else 1, -1, dtype=np.int64)
        index[tokens] = np.arange(len(tokens))
        self._tokens, self._index = tokens, index

    def symbols(self, tokens: np.ndarray) -> np.ndarray:
        """int64 symbols of `tokens`; ValueError if one lies outside the alphabet."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if self._index is None:
            return tokens
        inside = (tokens >= 0) & (tokens < len(self._index))
        symbols = np.where(inside, self._index[np.where(inside, tokens, 0)], -1)
        if (symbols < 0).any():
            raise ValueError("a token outside the coding alphabet was passed to the coder")
        return symbols

    def tokens(self, symbols: np.ndarray) -> np.ndarray:
        """int64 token ids of `symbols` (indices the decoder got from the coder)."""
        symbols = np.asarray(symbols, dtype=np.int64)
        return symbols if self._tokens is None else self._tokens[symbols]
