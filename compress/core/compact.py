"""The compact container header (form `c`): the JSON header's bit-relevant fields in ~50 bytes.

Why: the JSON header (format version 1) costs ~220 bytes, most of it four sha256 digests, library
versions and the model's path; on a 4 KB text that is 0.44 bits per byte. The compact form keeps
every setting that changes the bits and drops or shortens only what does not:

- known values (the embedded model's alias and digest, its tokenizer table digest, stepper kinds,
  adaptations, quantizer, dtype, device kind, modality) are one-byte ids into the append-only
  registry below: an id, once given, never changes meaning (old containers must keep decoding);
- digests that are not in the registry are their first DIGEST_BYTES bytes (docs/format.md says
  what each protects against and why 64 bits suffice);
- integers are unsigned LEB128 varints (at most MAX_VARINT_BYTES bytes, minimal encoding only);
- a model is named only by a registered alias; a path, hub id or checkpoint directory is never
  stored (decoding such a container needs `-m`, as it always did), nor are library versions
  (diagnostic only).

A text segment table that is an even split of its tokens (`even_rows`: what the carried stepper's
rows are whenever no escape triple straddles a row's end, i.e. nearly always) is written as its
token total and row count (FLAG_EVEN_ROWS) instead of one varint per row: on the medical test part's
six rows 3 bytes instead of 13. Containers written before the flag existed hold the list form and
keep decoding; the encoder writes the even form whenever it applies (two rows or more).

Text headers carry one front-end extra, as a flag: CRLF line ends coded as LF (FLAG_CRLF; the
payload length, which then differs from the file's, follows the original digest). Other modalities
(form `c` since the audio front end registered its codec) add, after the text layout: the payload
length (it differs from the file's), the segment table as runs of equal lengths (a carried-context
audio container's 32 equal rows are 3 bytes instead of 64) and the front end's extras in that front
end's own compact codec, registered here with `register_extras` (the audio codec:
compress/media/audio_compact.py). The core never imports a front end: a modality without a
registered codec is written in the JSON form. A front end that rebuilds the file layout instead of
replaying it (a PNG whose deflate stream does not replay: every Kodak image) registers with
`checked=True`: its header's checked_sha256, the digest the end-to-end check compares then, is kept
as its first 8 bytes (FLAG_CHECKED) and compared by prefix, like every other digest here.

`decode` expands the bytes into a header dict of the same shape as the JSON form's and the caller
sends it through the one validator (`container.check_header`, then the front end's): this module
checks only what it must to parse safely (varint lengths, known ids, counts bounded by the bytes
that remain, so nothing is allocated from an unchecked field). `encode` returns None for a header
it cannot represent (another modality, an unregistered stepper, ...); the encoder then writes the
JSON form. `reduced(header)` is exactly the dict `decode(encode(header))` gives back.

The parser is hand-written rather than built on a serialization library (CBOR, protobuf,
msgpack): the format is pinned byte by byte (golden containers), its encoding must be canonical
(one byte string per header), and every length must be bounded before use; a generic decoder gives
none of these without as much code around it, and adds a dependency to the decode path.
"""

from __future__ import annotations

import struct
import zlib

from compress.core.errors import ContainerError
from compress.core.limits import MAX_HEADER

PRELUDE = b"\x89LMc"          # shares "\x89LM" with the JSON form's magic; byte 3 names the form
DIGEST_BYTES = 8              # unregistered digests: the first 8 bytes (16 hex digits) of the sha256
MAX_VARINT_BYTES = 5          # 35 bits: every field's range fits (the schema then checks it)
MAX_DEVICE_BYTES = 64         # an unregistered device kind stored inline (a GPU's name)
FLAG_ADAPTER = 1
FLAG_CRLF = 2                 # text only: frontend {"newlines": "crlf"} (compress/core/frontends.py)
FLAG_EVEN_ROWS = 4            # text only: the segment table is even_rows(tokens, rows), two varints
FLAG_TUNE = 8                 # an online tuning id follows the stepper (compress/core/online.py)
FLAG_CHECKED = 16             # the first 8 bytes of checked_sha256 follow the original digest
                              # (only for modalities registered with checked=True: images)
FLAG_MIX = 32                 # a pixel mixing id follows the tuning's place (compress/core/pixmix.py)
FLAGS = FLAG_ADAPTER | FLAG_CRLF | FLAG_EVEN_ROWS | FLAG_TUNE | FLAG_CHECKED | FLAG_MIX

# -- the registry: append only; id = index + 1 (0 means "not registered, stored inline") ----------
MODALITIES = ("text", "audio", "video", "image")  # text: frontend {}, symbolizer text-table/v1, payload = the file
# each registered modality's symbolizer (one per modality: the id implies it)
SYMBOLIZER_OF = {"text": "text-table/v1", "audio": "bytes-charmap/v1", "video": "bytes-charmap/v1",
                 "image": "bytes-charmap/v1"}
MAX_RUN_SEGMENTS = 1 << 16    # segments a run-length table may expand to (bounded before allocating)
MODEL_NAMES = ("smollm2-135m", "gemma3-270m")
MODEL_DIGESTS = (
    # smollm2-135m, float32, as loaded by transformers 5.24 / torch 2.13 (models.sha256_parameters)
    "eb1a606a60cd78fd5bdc7adc0e0fde83dcbf4abf55c57020826f2e2712f81a07",
)
TOKENIZER_DIGESTS = (
    # smollm2-135m's text-table/v1 decode table (symbols.TextSymbolizer.table_sha256)
    "54f39b2ca252a702739a19539ff6e8ea7bd83295a20360a83fbd6acfd49a8990",
    # the byte models' bytes-charmap/v1 table (symbols.ByteSymbolizer.table_sha256 of the 259-token
    # byte tokenizer every model from train/lora.py's byte recipes has: audio, image, video)
    "df88c2e6d3d2b65ee9de71828ed6dd26422dc04fab9d7a8296c7820037133339",
)
DTYPES = ("float32", "bfloat16", "float16", "bf16-linear")
DEVICES = ("cpu:x86_64", "cpu:aarch64", "cpu:arm64", "cpu:AMD64", "cpu:x86_64+amx",
           "cpu:x86_64+avx512-bf16")
QUANTIZERS = ("constriction-leaky24/1",)
STEPPERS = ("kv-static/1", "kv-growing/2", "kv-carried/3", "kv-primed/1")
CARRIED = "kv-carried/3"
ADAPTS = ("ngram-mix/1", "ngram-mix/2")  # 0: no adaptation (null)
# written only with FLAG_TUNE (absent: no online tuning)
TUNES = ("adam/1", "adam/2", "adam/3", "adam/4", "adam/5", "adam/6", "adam/7")
# written only with FLAG_MIX (absent: no pixel mixing)
MIXES = ("pixel-mix/1",)

_TEXT = {"format": "lmcompress", "symbolizer": "text-table/v1"}
_CRLF = {"newlines": "crlf"}
# modality -> (encode(extras) -> bytes, raising Unrepresentable; decode(Reader) -> extras dict)
_EXTRAS_CODECS: dict = {}
_CHECKED: set = set()  # modalities whose front end may re-encode the file (a checked_sha256 digest)


def register_extras(modality: str, encode, decode, *, checked: bool = False) -> None:
    """A front end's codec for its extras in the compact form (the modality must be registered
    above: its id is part of the format). `checked`: its headers may hold checked_sha256 (the
    digest of what the end-to-end check covers when the file layout is rebuilt, a re-encoded
    PNG's), written as its first DIGEST_BYTES bytes (FLAG_CHECKED)."""
    if modality not in MODALITIES or modality == "text":
        raise ValueError(f"no compact modality id for {modality!r}")
    _EXTRAS_CODECS[modality] = (encode, decode)
    if checked:
        _CHECKED.add(modality)


KEYS = frozenset({"format", "modality", "frontend", "symbolizer", "original_length", "original_sha256",
                  "payload_length", "model", "adapter", "tokenizer_sha256", "vocab_size", "context",
                  "batch", "dtype", "device", "threads", "prefix_id", "quantizer", "stepper", "segments",
                  "batches", "batch_crc32"})
CARRIED_KEYS = frozenset({"keep", "adapt"})
DROPPED = frozenset({"libraries"})  # diagnostic


def _short(digest: str, registry: tuple) -> str:
    return digest if digest in registry else digest[: 2 * DIGEST_BYTES]


def reduced(header: dict) -> dict:
    """The header as the compact form records it: library versions dropped, a model name kept only
    when it is a registered alias, unregistered digests cut to DIGEST_BYTES. What `decode` returns
    for `encode(header)`."""
    out = {k: v for k, v in header.items() if k not in DROPPED}
    model = header["model"]
    name = model["id"] if model["id"] == model["base_id"] and model["id"] in MODEL_NAMES else ""
    out["model"] = {"id": name, "base_id": name, "sha256": _short(model["sha256"], MODEL_DIGESTS)}
    if header["adapter"] is not None:
        out["adapter"] = {"sha256": _short(header["adapter"]["sha256"], ())}
    out["tokenizer_sha256"] = _short(header["tokenizer_sha256"], TOKENIZER_DIGESTS)
    out["original_sha256"] = header["original_sha256"][: 2 * DIGEST_BYTES]
    if out.get("checked_sha256") is None:  # null unless a front end re-encodes the file (a PNG)
        out.pop("checked_sha256", None)
    else:
        out["checked_sha256"] = out["checked_sha256"][: 2 * DIGEST_BYTES]
    return out


# -- writing ----------------------------------------------------------------------------------
class Unrepresentable(Exception):
    """A header (or front-end extras) the compact form cannot hold: the JSON form is written."""


def varint(value) -> bytes:
    """Unsigned LEB128, at most MAX_VARINT_BYTES bytes; Unrepresentable otherwise."""
    if type(value) is not int or not 0 <= value < 1 << (7 * MAX_VARINT_BYTES):
        raise Unrepresentable
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(raw: bytes) -> bytes:
    """A length-prefixed byte field (varint length, then the bytes): the front ends' codecs' one
    writer for it; `Reader.field` reads it back."""
    return varint(len(raw)) + raw


def latin1_field(value) -> bytes:
    """`field` of a latin-1 text value; Unrepresentable for anything else (the JSON form keeps it)."""
    if not isinstance(value, str):
        raise Unrepresentable
    try:
        return field(value.encode("latin-1"))
    except UnicodeEncodeError:
        raise Unrepresentable from None


def _id(value, table: tuple, *, none_is_zero: bool = False) -> bytes:
    if none_is_zero and value is None:
        return b"\x00"
    if value not in table:
        raise Unrepresentable
    return bytes([table.index(value) + 1])


def _digest(value, registry: tuple) -> bytes:
    if value in registry:
        return bytes([registry.index(value) + 1])
    if not isinstance(value, str) or len(value) not in (2 * DIGEST_BYTES, 64):
        raise Unrepresentable
    try:
        return b"\x00" + bytes.fromhex(value[: 2 * DIGEST_BYTES])
    except ValueError:
        raise Unrepresentable from None


def _device(value) -> bytes:
    if value in DEVICES:
        return _id(value, DEVICES)
    if not isinstance(value, str):
        raise Unrepresentable
    raw = value.encode("utf-8")
    if len(raw) > MAX_DEVICE_BYTES:
        raise Unrepresentable
    return b"\x00" + varint(len(raw)) + raw


def encode(header: dict) -> bytes | None:
    """Prelude + length + body + CRC-32 for `header` (with its final `batches`), or None when the
    compact form cannot represent it (the caller then writes the JSON form)."""
    try:
        body = _body(header)
    except (Unrepresentable, KeyError, TypeError, AttributeError):
        return None
    head = PRELUDE + varint(len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


def even_row_ends(tokens: int, rows: int) -> list[int]:
    """Where each of `rows` contiguous rows of nearly equal length ends in `tokens` tokens: row k
    at ceil(tokens * (k + 1) / rows). compress.core.segments.stretches cuts the carried rows at
    these boundaries (exactly, when every unit is one token)."""
    return [-(-tokens * (k + 1) // rows) for k in range(rows)]


def even_rows(tokens: int, rows: int) -> list[int]:
    """Row lengths between the `even_row_ends` boundaries."""
    ends = even_row_ends(tokens, rows)
    return [b - a for a, b in zip([0] + ends[:-1], ends, strict=True)]


def _is_even(seg) -> bool:
    """Whether `seg` is written as even rows: within the decoder's bounds (else the list form, so
    nothing written can fail to read back)."""
    return (2 <= len(seg) <= MAX_RUN_SEGMENTS and all(type(n) is int and n > 0 for n in seg)
            and seg == even_rows(sum(seg), len(seg)))


def _body(h: dict) -> bytes:
    carried = h.get("stepper") == CARRIED
    keys = set(h) - DROPPED - {"checked_sha256"}
    tuned = "tune" in h and not carried
    mixed = "mix" in h and not carried
    checked = h.get("checked_sha256")
    text, crlf = h["modality"] == "text", False
    if keys != KEYS | (CARRIED_KEYS if carried else set()) | ({"tune"} if tuned else set()) \
            | ({"mix"} if mixed else set()) \
            or (checked is not None and h["modality"] not in _CHECKED):
        raise Unrepresentable
    if text:
        crlf = h["frontend"] == _CRLF
        if any(h[k] != v for k, v in _TEXT.items()) or not (crlf or h["frontend"] == {}) \
                or (h["payload_length"] != h["original_length"]) != crlf:
            raise Unrepresentable
    elif (h["format"] != _TEXT["format"] or h["modality"] not in _EXTRAS_CODECS
          or h["symbolizer"] != SYMBOLIZER_OF[h["modality"]] or not isinstance(h["frontend"], dict)):
        raise Unrepresentable
    if not isinstance(h["model"], dict) or set(h["model"]) != {"id", "base_id", "sha256"}:
        raise Unrepresentable
    adapter = h["adapter"]
    if adapter is not None and (not isinstance(adapter, dict) or set(adapter) != {"sha256"}):
        raise Unrepresentable
    name = h["model"]["id"] if h["model"]["id"] == h["model"]["base_id"] else ""
    seg, words, crcs = h["segments"], h["batches"], h["batch_crc32"]
    if not all(isinstance(x, list) for x in (seg, words, crcs)) or len(words) != len(crcs):
        raise Unrepresentable
    even = text and _is_even(seg)
    parts = [
        _id(h["modality"], MODALITIES),
        bytes([(FLAG_ADAPTER if adapter is not None else 0) | (FLAG_CRLF if crlf else 0)
               | (FLAG_EVEN_ROWS if even else 0) | (FLAG_TUNE if tuned else 0)
               | (FLAG_CHECKED if checked is not None else 0) | (FLAG_MIX if mixed else 0)]),
        _id(name, MODEL_NAMES) if name in MODEL_NAMES else b"\x00",
        _digest(h["model"]["sha256"], MODEL_DIGESTS),
        b"" if adapter is None else _digest(adapter["sha256"], ()),
        _digest(h["tokenizer_sha256"], TOKENIZER_DIGESTS),
        varint(h["vocab_size"]), varint(h["prefix_id"]),
        _id(h["dtype"], DTYPES), _device(h["device"]), varint(h["threads"]),
        _id(h["quantizer"], QUANTIZERS), _id(h["stepper"], STEPPERS),
    ]
    if carried:
        parts += [varint(h["keep"]), _id(h["adapt"], ADAPTS, none_is_zero=True)]
    if tuned:
        parts.append(_id(h["tune"], TUNES))
    if mixed:
        parts.append(_id(h["mix"], MIXES))
    parts += [varint(h["context"]), varint(h["batch"]), varint(h["original_length"]),
              _digest(h["original_sha256"], ())[1:]]
    if checked is not None:
        parts.append(_digest(checked, ())[1:])
    if crlf:
        parts.append(varint(h["payload_length"]))
    if even:
        parts += [varint(sum(seg)), varint(len(seg))]
    elif text:
        parts += [varint(len(seg))] + [varint(n) for n in seg]
    else:
        parts += [varint(h["payload_length"]), _runs(seg)]
    parts.append(varint(len(words)))
    for n, crc in zip(words, crcs, strict=True):
        if type(crc) is not int or not 0 <= crc < 1 << 32:
            raise Unrepresentable
        parts += [varint(n), struct.pack("<I", crc)]
    if not text:
        parts.append(_EXTRAS_CODECS[h["modality"]][0](h["frontend"]))
    return b"".join(parts)


def _runs(seg: list) -> bytes:
    """The segment table as (length, repeat) runs: run count, then length and repeat varints."""
    if len(seg) > MAX_RUN_SEGMENTS:
        raise Unrepresentable
    runs: list[list[int]] = []
    for n in seg:
        if runs and runs[-1][0] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    return varint(len(runs)) + b"".join(varint(n) + varint(k) for n, k in runs)


# -- reading ----------------------------------------------------------------------------------
class Reader:
    """Bounded reads over blob[pos:end]; every failure is a one-line ContainerError. `spans`, when
    given, collects (field, start, end) for each field read (bench/fuzz.py mutates by field)."""

    def __init__(self, blob: bytes, pos: int, end: int, spans: list | None = None):
        self.blob, self.pos, self.end, self.spans = blob, pos, end, spans

    def _mark(self, name: str, start: int) -> None:
        if self.spans is not None:
            self.spans.append((name, start, self.pos))

    def take(self, n: int, name: str) -> bytes:
        if n > self.end - self.pos:
            raise ContainerError(f"corrupt header: compact field '{name}' runs past the header")
        start, self.pos = self.pos, self.pos + n
        self._mark(name, start)
        return bytes(self.blob[start:self.pos])

    def varint(self, name: str) -> int:
        start, value = self.pos, 0
        for i in range(MAX_VARINT_BYTES):
            if self.pos >= self.end:
                raise ContainerError(f"corrupt header: compact field '{name}' runs past the header")
            byte = self.blob[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if byte == 0 and i:
                    raise ContainerError(f"corrupt header: compact field '{name}' is not minimally encoded")
                self._mark(name, start)
                return value
        raise ContainerError(f"corrupt header: compact field '{name}' is longer than "
                             f"{MAX_VARINT_BYTES} bytes (varint overflow)")

    def field(self, name: str) -> bytes:
        """A length-prefixed byte field (`compact.field`): spans '<name> length', then '<name>'."""
        return self.take(self.varint(f"{name} length"), name)

    def choice(self, name: str, table: tuple, *, zero=None, zero_ok: bool = False):
        (i,) = self.take(1, name)
        if i == 0 and zero_ok:
            return zero
        if not 1 <= i <= len(table):
            raise ContainerError(f"corrupt header: unknown {name} id {i} in the compact header "
                                 "(made by a newer lmcompress?)")
        return table[i - 1]

    def digest(self, name: str, registry: tuple) -> str:
        value = self.choice(name, registry, zero=None, zero_ok=True)
        return self.take(DIGEST_BYTES, name).hex() if value is None else value

    def count(self, name: str, min_bytes: int) -> int:
        """A count of items that take at least `min_bytes` each: bounded by what remains."""
        n = self.varint(name)
        if n * min_bytes > self.end - self.pos:
            raise ContainerError(f"corrupt header: compact field '{name}' counts more entries than "
                                 "the header holds")
        return n


def header_span(blob: bytes) -> tuple[int, int]:
    """(start, end) of the compact body: after the length varint, before the CRC; checks the
    length against the blob and the CRC-32 over prelude + length + body."""
    r = Reader(blob, len(PRELUDE), len(blob))
    try:
        length = r.varint("header length")
    except ContainerError:
        raise ContainerError("truncated container: the compact header length is cut short"
                             if len(blob) < len(PRELUDE) + MAX_VARINT_BYTES else
                             "corrupt container: bad compact header length") from None
    if length > MAX_HEADER:
        raise ContainerError(f"corrupt container: header length {length} is implausible")
    start, end = r.pos, r.pos + length
    if end + 4 > len(blob):
        raise ContainerError("truncated container: header is cut short")
    (crc,) = struct.unpack_from("<I", blob, end)
    if zlib.crc32(bytes(blob[:end])) != crc:
        raise ContainerError("corrupt container: header checksum mismatch")
    return start, end


def decode(blob: bytes, spans: list | None = None) -> tuple[dict, int]:
    """(header dict, offset of the payload) of a compact container. Not yet validated: the caller
    runs container.check_header on it (the one validation layer)."""
    start, end = header_span(blob)
    r = Reader(blob, start, end, spans)
    h = {"format": "lmcompress", "modality": r.choice("modality", MODALITIES)}
    text = h["modality"] == "text"
    if not text and h["modality"] not in _EXTRAS_CODECS:  # its front end is not loaded
        raise ContainerError(f"corrupt header: no compact {h['modality']} codec in this lmcompress")
    h.update(frontend={}, symbolizer=SYMBOLIZER_OF[h["modality"]])
    flags = r.take(1, "flags")[0]
    if flags & ~FLAGS or (flags & (FLAG_CRLF | FLAG_EVEN_ROWS) and not text) \
            or (flags & FLAG_CHECKED and h["modality"] not in _CHECKED):
        raise ContainerError(f"corrupt header: unsupported compact flags 0x{flags:02x}")
    name = r.choice("model", MODEL_NAMES, zero="", zero_ok=True)
    h["model"] = {"id": name, "base_id": name, "sha256": r.digest("model digest", MODEL_DIGESTS)}
    h["adapter"] = {"sha256": r.digest("adapter digest", ())} if flags & FLAG_ADAPTER else None
    h["tokenizer_sha256"] = r.digest("tokenizer digest", TOKENIZER_DIGESTS)
    h["vocab_size"] = r.varint("vocab_size")
    h["prefix_id"] = r.varint("prefix_id")
    h["dtype"] = r.choice("dtype", DTYPES)
    device = r.choice("device", DEVICES, zero=None, zero_ok=True)
    if device is None:
        size = r.varint("device length")
        if size > MAX_DEVICE_BYTES:
            raise ContainerError("corrupt header: compact field 'device' is implausibly long")
        try:
            device = r.take(size, "device").decode("utf-8")
        except UnicodeDecodeError:
            raise ContainerError("corrupt header: compact field 'device' is not UTF-8") from None
    h["device"] = device
    h["threads"] = r.varint("threads")
    h["quantizer"] = r.choice("quantizer", QUANTIZERS)
    h["stepper"] = r.choice("stepper", STEPPERS)
    if h["stepper"] == CARRIED:
        h["keep"] = r.varint("keep")
        h["adapt"] = r.choice("adapt", ADAPTS, zero=None, zero_ok=True)
    if flags & FLAG_TUNE:  # with a carried stepper the validator refuses it (container.check_header)
        h["tune"] = r.choice("tune", TUNES)
    if flags & FLAG_MIX:  # likewise refused with a carried stepper, and off an 8-bit image by the engine
        h["mix"] = r.choice("mix", MIXES)
    h["context"] = r.varint("context")
    h["batch"] = r.varint("batch")
    h["original_length"] = h["payload_length"] = r.varint("original_length")
    h["original_sha256"] = r.take(DIGEST_BYTES, "original digest").hex()
    if flags & FLAG_CHECKED:
        h["checked_sha256"] = r.take(DIGEST_BYTES, "checked digest").hex()
    if flags & FLAG_CRLF:
        h["frontend"] = dict(_CRLF)
        h["payload_length"] = r.varint("payload_length")
    if flags & FLAG_EVEN_ROWS:
        tokens, rows = r.varint("segment tokens"), r.varint("segment rows")
        if not 2 <= rows <= min(tokens, MAX_RUN_SEGMENTS):
            raise ContainerError(f"corrupt header: {rows} even rows of {tokens} tokens (2 rows at "
                                 f"least, at most one per token and {MAX_RUN_SEGMENTS} in all)")
        h["segments"] = even_rows(tokens, rows)
    elif text:
        n = r.count("segment count", 1)
        h["segments"] = [r.varint("segments") for _ in range(n)]
    else:
        h["payload_length"] = r.varint("payload_length")
        h["segments"] = _read_runs(r)
    n = r.count("batch count", 5)
    h["batches"], h["batch_crc32"] = [], []
    for _ in range(n):
        h["batches"].append(r.varint("batches"))
        h["batch_crc32"].append(struct.unpack("<I", r.take(4, "batch_crc32"))[0])
    if not text:
        h["frontend"] = _EXTRAS_CODECS[h["modality"]][1](r)
    if r.pos != end:
        raise ContainerError(f"corrupt header: {end - r.pos} unexpected bytes at the end of the "
                             "compact header")
    return h, end + 4


def _read_runs(r: Reader) -> list[int]:
    """Inverse of `_runs`; the expanded length is bounded (MAX_RUN_SEGMENTS) before allocating,
    and a run is canonical (repeat >= 1, no two adjacent runs of one length)."""
    runs, total, last = [], 0, None
    for _ in range(r.count("segment runs", 2)):
        n, k = r.varint("segment length"), r.varint("segment repeat")
        total += k
        if k == 0 or n == last or total > MAX_RUN_SEGMENTS:
            raise ContainerError("corrupt header: compact segment runs are empty, not canonical or "
                                 f"expand past {MAX_RUN_SEGMENTS} segments")
        runs.append((n, k))
        last = n
    return [n for n, k in runs for _ in range(k)]
