"""The one quantizer shared by encoder and decoder: float probabilities -> an exactly invertible
integer model, via constriction's leaky Categorical (perfect=False).

constriction's range coder works at 24-bit precision and its leaky Categorical gives every symbol at
least the smallest representable probability (2^-24), even where the float probability is 0, so any
token of the full vocabulary can be coded. The quantization is deterministic given bit-identical
float64 inputs, which the stepper guarantees. Changing anything here changes the bits on disk:
bump QUANTIZER_VERSION, which every container records and the decoder checks.
"""

from __future__ import annotations

import constriction
import numpy as np

QUANTIZER_VERSION = "constriction-leaky24/1"  # Categorical(perfect=False), 24-bit range coder

_FAMILY = constriction.stream.model.Categorical(perfect=False)


def family():
    """The model family; probabilities are passed per symbol at encode/decode time."""
    return _FAMILY


def as_table(probabilities: np.ndarray) -> np.ndarray:
    """The exact array layout both ends hand to constriction (C-contiguous float64)."""
    return np.ascontiguousarray(probabilities, dtype=np.float64)
