"""The coder without a model, pinned word for word (as constriction's own tests pin words).

Fixed float64 probability tables go through the project's one quantizer (compress/core/quantize.py)
and the coder's own steps (compress/core/coder.py `_encode_step` / `_decode_step`, the calls every
encoder and decoder loop makes into constriction). The literals were produced by running this code
once: a change to the quantizer, the table layout, the coder or the constriction version moves them
here, in a second and without a model, before it moves a golden container (tests/test_golden.py).
"""

import constriction
import numpy as np
import pytest
import torch

from compress.core import coder, quantize
from compress.core.alphabet import SymbolMap, restrict

PRECISION = 24  # constriction's range coder: probabilities are integers out of 2**24

# rows over a 6-symbol alphabet: dyadic, a near-zero probability, exact zeros, one peaked row
TABLE = np.array([
    [0.5, 0.25, 0.125, 0.0625, 0.0625, 0.0],
    [0.3, 0.3, 0.2, 0.1, 0.1 - 1e-12, 1e-12],
    [0.1, 0.2, 0.3, 0.4, 0.0, 0.0],
    [1e-9, 1e-9, 1e-9, 1e-9, 1e-9, 1.0 - 5e-9],
], dtype=np.float64)


def encode(steps):
    """(words, ideal bits) of [(rows of TABLE, symbols)], one step after the other in one stream."""
    encoder = constriction.stream.queue.RangeEncoder()
    bits = 0.0
    for rows, symbols in steps:
        bits += coder._encode_step(encoder, quantize.as_table(TABLE[rows]), np.array(symbols))
    return encoder.get_compressed(), bits


def decode(words, steps):
    decoder = constriction.stream.queue.RangeDecoder(words)
    return [coder._decode_step(decoder, quantize.as_table(TABLE[rows])).tolist() for rows, _ in steps]


def test_one_step_words_are_pinned():
    # symbol 5 of row 1 has probability 1e-12, symbol 4 of row 2 probability 0 (the leaky floor
    # codes it anyway), symbol 5 of row 3 almost 1
    steps = [([0, 1, 2, 3], [0, 5, 4, 5])]
    words, bits = encode(steps)
    assert words.dtype == np.uint32
    assert words.tolist() == [2147483135, 4261543941]
    # the ideal length is taken from the float table (a zero probability counts as 1e-300)
    assert bits == float.fromhex("0x1.035c429c69b86p+10")
    assert decode(words, steps) == [[0, 5, 4, 5]]


def test_steps_of_shrinking_batches_share_one_stream():
    # as in coder.encode_batch: rows that finished drop out of the later steps' tables
    steps = [([0, 1, 2, 3], [1, 2, 3, 5]), ([0, 1, 3], [0, 5, 0]), ([1], [3])]
    words, bits = encode(steps)
    assert words.tolist() == [2963526595, 3565241372]
    assert bits == float.fromhex("0x1.3ee7b4722f968p+6")
    assert decode(words, steps) == [[1, 2, 3, 5], [0, 5, 0], [3]]


def test_the_table_layout_does_not_matter():
    # as_table hands constriction one layout: a transposed (Fortran-order) view codes the same words
    steps = [([0, 1, 2, 3], [0, 5, 4, 5])]
    words, _ = encode(steps)
    view = np.asfortranarray(TABLE)
    encoder = constriction.stream.queue.RangeEncoder()
    coder._encode_step(encoder, quantize.as_table(view), np.array([0, 5, 4, 5]))
    assert encoder.get_compressed().tolist() == words.tolist()


def test_words_that_are_no_stream_are_a_value_error():
    # the point lies past the last quantile: constriction asserts, the coder says ValueError (which
    # the engine reports as a damaged payload)
    decoder = constriction.stream.queue.RangeDecoder(np.array([0xFFFFFFFF, 0xFFFFFFFF], dtype=np.uint32))
    with pytest.raises(ValueError, match="invalid"):
        coder._decode_step(decoder, quantize.as_table(TABLE))


def _symbol_at(row: np.ndarray, quantile: int) -> int:
    """The symbol the decoder finds at `quantile` (0 <= quantile < 2**24). A fresh decoder's range is
    2**64 - 1 and its point the first two words, so the words [quantile << 8, 0] put the point at
    exactly that quantile of the quantized distribution."""
    decoder = constriction.stream.queue.RangeDecoder(np.array([quantile << 8, 0], dtype=np.uint32))
    return int(coder._decode_step(decoder, quantize.as_table(row[None]))[0])


def integer_pmf(row: np.ndarray) -> list[int]:
    """The integer probabilities (out of 2**24) the quantizer made of `row`, read back from the
    decoder: each symbol's interval starts at the least quantile that decodes to it."""
    starts = [0]
    for s in range(1, len(row)):
        lo, hi = starts[-1], 1 << PRECISION
        while lo < hi:
            mid = (lo + hi) // 2
            if _symbol_at(row, mid) >= s:
                hi = mid
            else:
                lo = mid + 1
        starts.append(lo)
    return np.diff(starts + [1 << PRECISION]).tolist()


def test_the_quantizer_output_is_pinned():
    pmfs = [integer_pmf(row) for row in TABLE]
    assert pmfs == [
        [8388606, 4194303, 2097152, 1048577, 1048577, 1],
        [5033164, 5033164, 3355443, 1677722, 1677721, 2],
        [1677722, 3355443, 5033164, 6710885, 1, 1],
        [1, 1, 1, 1, 1, 16777211],
    ]
    for pmf in pmfs:  # what compress/core/quantize.py promises: a floor under every symbol
        assert sum(pmf) == 1 << PRECISION and min(pmf) >= 1
    assert quantize.QUANTIZER_VERSION == "constriction-leaky24/1"  # bump it when a literal moves


def test_symbol_map_and_restriction():
    alphabet = torch.tensor([7, 2, 9], dtype=torch.long)
    m = SymbolMap(alphabet)
    assert m.symbols(np.array([9, 7, 2, 2])).tolist() == [2, 0, 1, 1]
    assert m.tokens(np.array([2, 0, 1])).tolist() == [9, 7, 2]
    for outside in ([3], [-1], [10], [1 << 40]):
        with pytest.raises(ValueError, match="outside the coding alphabet"):
            m.symbols(np.array(outside))
    full = SymbolMap(None)  # the whole vocabulary: a token's symbol is its id
    assert full.symbols(np.array([5, 0])).tolist() == [5, 0] and full.tokens(np.array([3])).tolist() == [3]
    logits = torch.arange(20, dtype=torch.float32).view(2, 10)
    x = restrict(logits, alphabet)
    assert x.dtype == torch.float64 and x.tolist() == [[7, 2, 9], [17, 12, 19]]
    assert restrict(logits).tolist() == logits.double().tolist()
