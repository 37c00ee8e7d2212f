"""Text symbolizer: any bytes <-> token ids of the model's own vocabulary, exactly invertible.

Decoding never calls the tokenizer's `decode` (which normalises, drops invalid UTF-8 and merges
spaces). Instead every token id maps to a fixed byte string through a table built from the
vocabulary (byte-level BPE characters, or `<0xNN>` byte-fallback pieces), and decoding is table
lookup. Encoding tokenizes each valid UTF-8 run, checks that the table reproduces it byte for byte,
and falls back to byte tokens for anything that does not (invalid UTF-8, binary, normalisation).
A byte with no single-byte token in the vocabulary is written as ESC + two hex-digit tokens, where
ESC is a special token the tokenizer never emits for text (special tokens are split as text).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from compress.core.errors import ContainerError, ModelLoadError

SYMBOLIZER_VERSION = "text-table/v1"
_HEX = "0123456789abcdef"
_SENTENCEPIECE_SPACE = "\u2581"
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by every byte-level BPE vocab."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _is_byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    return "ByteLevel" in repr(backend.decoder) or "ByteLevel" in repr(backend.pre_tokenizer)


def _vocab_size(tokenizer) -> int:
    return max(tokenizer.get_vocab().values()) + 1


class TextSymbolizer:
    """Bytes <-> ids for one tokenizer; `table[id]` is the exact bytes a token stands for."""

    def __init__(self, tokenizer, vocab_size: int | None = None):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocab()
        self.vocab_size = vocab_size or _vocab_size(tokenizer)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        self.byte_level = _is_byte_level(tokenizer)
        inverse = {c: b for b, c in bytes_to_unicode().items()}
        table: list[bytes | None] = [None] * self.vocab_size
        for piece, idx in vocab.items():
            if idx >= self.vocab_size or idx in special:
                continue
            table[idx] = self._piece_bytes(piece, inverse, self.byte_level)
        self.table = table
        # single-byte tokens, preferring the canonical piece for each byte
        byte_token: dict[int, int] = {}
        for b in range(256):
            piece = bytes_to_unicode()[b] if self.byte_level else f"<0x{b:02X}>"
            idx = vocab.get(piece)
            if idx is not None and idx < self.vocab_size and table[idx] == bytes([b]):
                byte_token[b] = idx
        for idx, raw in enumerate(table):  # any other single-byte token fills a gap
            if raw is not None and len(raw) == 1 and raw[0] not in byte_token:
                byte_token[raw[0]] = idx
        self.byte_token = byte_token
        hex_ids = []
        for ch in _HEX:
            idx = byte_token.get(ord(ch))
            if idx is None:
                raise ModelLoadError(f"tokenizer has no token for '{ch}'; cannot build byte escape")
            hex_ids.append(idx)
        self.hex_ids = hex_ids
        self.hex_value = {idx: v for v, idx in enumerate(hex_ids)}
        esc = getattr(tokenizer, "eos_token_id", None)
        if esc is None or esc >= self.vocab_size:
            esc = next(iter(sorted(special)), None)
        if esc is None:
            raise ModelLoadError("tokenizer has no special token to use as the byte escape")
        self.esc_id = int(esc)
        self.table[self.esc_id] = None

    @staticmethod
    def _piece_bytes(piece: str, inverse: dict[str, int], byte_level: bool = True) -> bytes:
        """The bytes a vocabulary piece stands for. Byte-level BPE (GPT-2 style) spells each byte as
        one bytes_to_unicode character; a SentencePiece vocabulary (Gemma, LLaMA 2) holds UTF-8
        text with U+2581 for a space and `<0xNN>` byte-fallback pieces, where "©" is the two bytes
        of its UTF-8 and "<0xA0>" is one byte, not six: only byte-level pieces use the inverse map."""
        if byte_level and all(c in inverse for c in piece):
            return bytes(inverse[c] for c in piece)
        m = _BYTE_PIECE.match(piece)
        if m:
            return bytes([int(m.group(1), 16)])
        return piece.replace(_SENTENCEPIECE_SPACE, " ").encode("utf-8")

    # -- hashing -------------------------------------------------------------------------------
    def table_sha256(self) -> str:
        """Identity of the decode table (what decoding depends on), written into the header."""
        h = hashlib.sha256(SYMBOLIZER_VERSION.encode())
        h.update(self.vocab_size.to_bytes(4, "little"))
        h.update(self.esc_id.to_bytes(4, "little"))
        for raw in self.table:
            if raw is None:
                h.update(b"\xff\xff\xff\xff")
            else:
                h.update(len(raw).to_bytes(4, "little"))
                h.update(raw)
        return h.hexdigest()

    # -- encoding ------------------------------------------------------------------------------
    def _byte_units(self, data: bytes) -> list[list[int]]:
        units = []
        for b in data:
            idx = self.byte_token.get(b)
            if idx is not None:
                units.append([idx])
            else:
                units.append([self.esc_id, self.hex_ids[b >> 4], self.hex_ids[b & 15]])
        return units

    def _text_units(self, text: str, raw: bytes) -> list[list[int]]:
        ids = self.tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        table = self.table
        if all(0 <= i < self.vocab_size and table[i] is not None for i in ids):
            if b"".join(table[i] for i in ids) == raw:
                return [[i] for i in ids]
        return self._byte_units(raw)

    def encode_units(self, data: bytes) -> list[list[int]]:
        """Token units for `data`: a unit is one token, or an escape triple that must stay whole."""
        text = data.decode("utf-8", errors="surrogateescape")
        units: list[list[int]] = []
        pos = 0
        # split into valid-UTF-8 runs and single undecodable bytes (surrogate escapes)
        for m in re.finditer(r"[\udc80-\udcff]+", text):
            if m.start() > pos:
                chunk = text[pos : m.start()]
                units += self._text_units(chunk, chunk.encode("utf-8"))
            units += self._byte_units(m.group().encode("utf-8", errors="surrogateescape"))
            pos = m.end()
        if pos < len(text):
            chunk = text[pos:]
            units += self._text_units(chunk, chunk.encode("utf-8"))
        return units

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, ids) -> bytes:
        """Exact bytes for a token id sequence; ContainerError if it is not a valid sequence."""
        out = bytearray()
        table = self.table
        ids = list(ids)
        i = 0
        n = len(ids)
        while i < n:
            t = ids[i]
            if t == self.esc_id:
                if i + 2 >= n or ids[i + 1] not in self.hex_value or ids[i + 2] not in self.hex_value:
                    raise ContainerError("corrupt token stream: broken byte escape")
                out.append(self.hex_value[ids[i + 1]] * 16 + self.hex_value[ids[i + 2]])
                i += 3
                continue
            raw = table[t] if 0 <= t < len(table) else None
            if raw is None:
                raise ContainerError(f"corrupt token stream: token {t} stands for no bytes")
            out += raw
            i += 1
        return bytes(out)


BYTEMAP_VERSION = "bytes-charmap/v1"


def charmap_candidates():
    """Code points from U+0021 upward that may stand for a byte: printable and not whitespace, in
    order. byte_charmap keeps the first 256 the tokenizer gives single tokens of their own;
    compress.core.bytemodel builds its tokenizer from the first 256, so both agree by construction."""
    for code in range(0x21, 0x3000):
        c = chr(code)
        if c.isprintable() and not c.isspace():
            yield c


def byte_charmap(tokenizer, vocab_size: int) -> tuple[list[str], list[int]]:
    """A fixed bijection byte -> character such that the tokenizer turns each character into
    exactly one token of its own: the first 256 code points from U+0021 upward that qualify.

    Audio samples and pixels become strings of these characters (the LMCompress recipe), and the
    coder restricts every distribution to these 256 tokens, so no bits go to impossible tokens.
    Training and coding use the per-character token ids directly: re-tokenizing the whole string
    with BPE would merge neighbouring characters into multi-character tokens.
    """
    chars: list[str] = []
    ids: list[int] = []
    seen: set[int] = set()
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    for c in charmap_candidates():
        if len(chars) == 256:
            break
        got = tokenizer(c, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        if len(got) != 1 or got[0] in seen or got[0] in special or got[0] >= vocab_size:
            continue
        chars.append(c)
        ids.append(got[0])
        seen.add(got[0])
    if len(chars) < 256:
        raise ModelLoadError(
            f"tokenizer has only {len(chars)} single-token characters; need 256 for the byte map"
        )
    return chars, ids


class ByteSymbolizer:
    """Raw bytes (PCM samples, pixels) <-> one token per byte, over a 256-token alphabet.

    `alphabet[b]` is the token id standing for byte value b; the coder renormalises the model's
    distribution over exactly these ids.
    """

    name = BYTEMAP_VERSION

    def __init__(self, tokenizer, vocab_size: int):
        import numpy as np
        import torch

        self.chars, ids = byte_charmap(tokenizer, vocab_size)
        self.ids = np.array(ids, dtype=np.int64)
        self.alphabet = torch.tensor(ids, dtype=torch.long)
        self.value = {t: b for b, t in enumerate(ids)}
        self._lookup = np.full(vocab_size, -1, dtype=np.int64)
        self._lookup[self.ids] = np.arange(256)

    def table_sha256(self) -> str:
        h = hashlib.sha256(BYTEMAP_VERSION.encode())
        for c, t in zip(self.chars, self.ids.tolist(), strict=True):
            h.update(c.encode("utf-8") + b"\x00" + t.to_bytes(4, "little"))
        return h.hexdigest()

    def encode_ids(self, data: bytes):
        import numpy as np

        return self.ids[np.frombuffer(data, dtype=np.uint8)]

    def encode_units(self, data: bytes) -> list[list[int]]:
        return [[t] for t in self.encode_ids(data).tolist()]

    def decode(self, ids) -> bytes:
        import numpy as np

        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self._lookup)):
            raise ContainerError("corrupt token stream: token outside the byte alphabet")
        values = self._lookup[arr] if arr.size else arr
        if arr.size and (values < 0).any():
            raise ContainerError("corrupt token stream: token outside the byte alphabet")
        return values.astype(np.uint8).tobytes()
