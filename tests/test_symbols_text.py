"""TextSymbolizer (compress/core/symbols.py) on the byte-level BPE vocabulary of the committed tiny
model (tests/golden/tiny-llama, the one the golden containers were coded with): the decode table,
exact round trips of any bytes (invalid UTF-8 included), the byte escape, and what it refuses.
The SentencePiece-style vocabulary has its own tests (tests/test_symbols_sentencepiece.py)."""

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from compress.core.errors import ContainerError, ModelLoadError
from compress.core.symbols import TextSymbolizer, bytes_to_unicode

GOLDEN = Path(__file__).resolve().parent / "golden"
# the decode table's identity, as the golden containers' headers record it
TABLE_SHA256 = "acd540a65ca43ba1d592c71d2a8165a4333305ee7bc4968ddb641eaf40df8132"


@pytest.fixture(scope="module")
def sym():
    from compress.core import models
    from compress.core.engine import model_vocab

    lm = models.load(str(GOLDEN / "tiny-llama"))
    return TextSymbolizer(lm.tokenizer, model_vocab(lm.model))


def ids_of(sym, data: bytes) -> list[int]:
    return [i for unit in sym.encode_units(data) for i in unit]


def test_the_table_is_the_golden_containers(sym):
    from compress.core import container

    header = container.read_header((GOLDEN / "text.lmc").read_bytes())
    assert sym.table_sha256() == header["tokenizer_sha256"] == TABLE_SHA256
    assert sym.byte_level and sym.vocab_size == 320
    special = set(sym.tokenizer.all_special_ids)
    assert sym.esc_id in special  # the escape is a special token: the tokenizer never emits it for text
    assert [i for i, raw in enumerate(sym.table) if raw is None] == sorted(special)
    vocab = sym.tokenizer.get_vocab()
    assert sym.table[vocab["Ġ"]] == b" " and sym.table[vocab["The"]] == b"The"
    assert sym.table[vocab[bytes_to_unicode()[0xFF]]] == b"\xff"
    # byte-level BPE: every byte has a token of its own, so nothing needs the escape
    assert sorted(sym.byte_token) == list(range(256))
    assert all(sym.table[t] == bytes([b]) for b, t in sym.byte_token.items())
    assert [sym.table[t] for t in sym.hex_ids] == [c.encode() for c in "0123456789abcdef"]


def test_bytes_to_unicode_is_a_bijection_onto_printable_characters():
    m = bytes_to_unicode()
    assert sorted(m) == list(range(256)) and len(set(m.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in m.values())


def test_text_is_tokens_invalid_utf8_is_byte_tokens(sym):
    data = b"The quick \xff\xfe brown fox"
    units = sym.encode_units(data)
    assert all(len(u) == 1 for u in units)
    assert b"".join(sym.table[u[0]] for u in units) == data
    assert [sym.table[u[0]] for u in units][:4] == [b"The", b" ", b"qu", b"ic"]
    assert units[6:8] == [[sym.byte_token[0xFF]], [sym.byte_token[0xFE]]]  # one token per invalid byte


def test_special_token_text_is_coded_as_text(sym):
    data = b"<|endoftext|><s> end"
    ids = ids_of(sym, data)
    assert not set(ids) & set(sym.tokenizer.all_special_ids)
    assert sym.decode(ids) == data


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200)
       | st.text(max_size=80).map(lambda s: s.encode("utf-8", errors="surrogatepass"))
       | st.lists(st.sampled_from([b"The ", b"quick", b"\xff", b"\xc3", b"\xa9", b"\xed\xa0\x80", b"<s>",
                                   b"<|endoftext|>", b"\r\n", b"\x00", "é©".encode()]), max_size=20)
       .map(b"".join))
def test_hyp_round_trip_of_any_bytes(sym, data):
    units = sym.encode_units(data)
    assert all(len(u) == 1 and u[0] != sym.esc_id for u in units)
    assert sym.decode(ids_of(sym, data)) == data


def test_bytes_without_a_token_are_escaped(sym, monkeypatch):
    # a vocabulary without a single-byte token for 0xFF (byte-level BPE always has one, a
    # SentencePiece vocabulary without byte fallback does not): ESC + two hex-digit tokens
    monkeypatch.delitem(sym.byte_token, 0xFF)
    data = b"fox \xff\xfe"
    units = sym.encode_units(data)
    esc = [sym.esc_id, sym.hex_ids[0xF], sym.hex_ids[0xF]]
    assert esc in units and [sym.byte_token[0xFE]] in units
    assert sym.decode(ids_of(sym, data)) == data


def test_text_the_table_does_not_reproduce_falls_back_to_bytes(sym, monkeypatch):
    # a tokenizer that normalises (or drops) text: its tokens would not give the bytes back, so the
    # run is coded byte by byte instead
    real = sym.tokenizer

    class Normalising:
        def __call__(self, text, **kwargs):
            return real(text.lower(), **kwargs)

    monkeypatch.setattr(sym, "tokenizer", Normalising())
    data = b"The Fox"
    assert sym.encode_units(data) == [[sym.byte_token[b]] for b in data]
    assert sym.decode(ids_of(sym, data)) == data


def test_corrupt_token_streams_are_refused(sym):
    h = sym.hex_ids
    cases = {
        "broken byte escape": [[sym.esc_id], [sym.esc_id, h[1]], [sym.esc_id, h[1], sym.esc_id],
                               [sym.esc_id, sym.byte_token[ord("g")], h[0]]],
        "stands for no bytes": [[special] for special in sym.tokenizer.all_special_ids if special != sym.esc_id]
                               + [[sym.vocab_size], [-1], [10**9]],
    }
    for words, streams in cases.items():
        for ids in streams:
            with pytest.raises(ContainerError, match=words):
                sym.decode([sym.byte_token[ord("a")]] + ids)
    assert sym.decode([sym.esc_id, h[0xA], h[0x9]]) == b"\xa9"  # an escape is any byte, canonical or not


class _Vocab:
    """The least a tokenizer offers TextSymbolizer: a vocabulary, special ids and an eos id."""

    def __init__(self, pieces, special=(), eos=None):
        self.vocab = {p: i for i, p in enumerate(pieces)}
        self.all_special_ids = [self.vocab[p] for p in special]
        self.eos_token_id = None if eos is None else self.vocab[eos]

    def get_vocab(self):
        return dict(self.vocab)


def test_vocabularies_it_cannot_use_are_refused():
    digits = list("0123456789abcdef")
    with pytest.raises(ModelLoadError, match="no token for 'f'"):
        TextSymbolizer(_Vocab(["<eos>"] + digits[:-1], special=["<eos>"], eos="<eos>"))
    with pytest.raises(ModelLoadError, match="no special token"):
        TextSymbolizer(_Vocab(digits))
    # no eos: the first special token is the escape
    s = TextSymbolizer(_Vocab(digits + ["<pad>"], special=["<pad>"]))
    assert s.esc_id == 16 and s.table[16] is None and s.decode([16, 1, 15]) == b"\x1f"
