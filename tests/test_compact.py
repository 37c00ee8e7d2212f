"""The compact header (form `c`) and the stored form (`s`): issue #18 item 7, small files stay small.

Round trips of the header codec (dict -> bytes -> dict) with hypothesis, every way a compact or
stored container can be damaged, the 12-byte case, and the command line on both forms."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clirun
from compress.core import compact, container
from compress.core.engine import Compressor
from compress.core.errors import ChecksumError, ContainerError, MismatchError

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
TEXT = b"Patients with diabetes were treated with insulin. " * 4
HEX = "0123456789abcdef"


def reframe(body: bytes, payload: bytes = b"") -> bytes:
    """A compact container around `body` with a valid length and header CRC (as an attacker can)."""
    head = compact.PRELUDE + compact.varint(len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def body_of(blob: bytes) -> bytes:
    start, end = compact.header_span(blob)
    return blob[start:end]


def truncations_are_refused(blob: bytes) -> None:
    """Every third prefix of a container is refused with a ContainerError (the front ends' tests)."""
    from compress.core import frontends

    for n in range(0, len(blob) - 1, 3):
        with pytest.raises(ContainerError):
            frontends.parse(blob[:n])


def golden_header(name: str) -> tuple[dict, bytes]:
    """tests/golden/<name>.head and the header it stands for (<name>.header.json): the bytes must
    keep decoding to that header, end where the file does, pass the container's and the front
    end's checks, and the encoder must keep writing exactly them. Returns (header, bytes)."""
    from compress.core import frontends

    head = (GOLDEN / f"{name}.head").read_bytes()
    expected = json.loads((GOLDEN / f"{name}.header.json").read_text())
    decoded, end = compact.decode(head)
    assert decoded == expected and end == len(head)
    container.check_header(decoded)
    frontends.check_extras(decoded)
    assert compact.encode(expected) == head
    return decoded, head


def forge_each_field(blob: bytes, wanted, values, new_bytes) -> set:
    """Each compact field whose name `wanted(name)` accepts, replaced by `new_bytes(name, value)` for
    each of `values`: a ContainerError, or a header the front end's check_extras accepts (never a
    crash or an allocation the header did not pay for). Returns the names of the fields forged."""
    from compress.core import frontends

    start, end = compact.header_span(blob)
    body, payload, spans = blob[start:end], blob[end + 4:], []
    compact.decode(blob, spans)
    fields = [(n, a - start, b - start) for n, a, b in spans if wanted(n)]
    for name, a, b in fields:
        for value in values:
            try:
                parsed = frontends.parse(reframe(body[:a] + new_bytes(name, value) + body[b:], payload))
            except ContainerError:
                continue
            frontends.check_extras(parsed.header)  # what the validator accepts must check out
    return {n for n, _, _ in fields}


# -- the header codec ------------------------------------------------------------------------
digests = st.text(HEX, min_size=64, max_size=64)


@st.composite
def headers(draw):
    """Valid text headers of every shape the compact form can hold."""
    n_seg = draw(st.integers(0, 12))
    segments = draw(st.lists(st.integers(1, 2**20 - 1), min_size=n_seg, max_size=n_seg))
    if n_seg >= 2 and draw(st.booleans()):  # a carried layout: the even-rows table
        segments = compact.even_rows(draw(st.integers(n_seg, 2**20)), n_seg)
    batch = draw(st.integers(1, 2**16))
    n_batches = len(container.segment_ranges(n_seg, batch))
    carried = draw(st.booleans())
    name = draw(st.sampled_from(["smollm2-135m", "gemma3-270m", "/some/checkpoint", "org/model"]))
    h = {
        "format": "lmcompress", "modality": "text", "frontend": {}, "symbolizer": "text-table/v1",
        "original_length": (n := draw(st.integers(0, 2**30))), "payload_length": n,
        "original_sha256": draw(digests), "checked_sha256": None,
        "model": {"id": name, "base_id": draw(st.sampled_from([name, "smollm2-135m"])),
                  "sha256": draw(st.sampled_from(compact.MODEL_DIGESTS) | digests)},
        "adapter": draw(st.none() | st.builds(lambda d: {"sha256": d}, digests)),
        "tokenizer_sha256": draw(st.sampled_from(compact.TOKENIZER_DIGESTS) | digests),
        "vocab_size": draw(st.integers(2, 2**24)), "prefix_id": draw(st.integers(0, 2**24 - 1)),
        "context": draw(st.integers(4, 2**20)), "batch": batch,
        "dtype": draw(st.sampled_from(compact.DTYPES)),
        "device": draw(st.sampled_from(compact.DEVICES) | st.text(min_size=0, max_size=16)),
        "threads": draw(st.integers(1, 256)), "quantizer": "constriction-leaky24/1",
        "stepper": "kv-carried/3" if carried else draw(st.sampled_from(["kv-static/1", "kv-growing/2", "kv-primed/1"])),
        "libraries": {"torch": "2.13.0", "lmcompress": "0.1.0"},
        "segments": segments,
        "batches": draw(st.lists(st.integers(0, 2**32 - 1), min_size=n_batches, max_size=n_batches)),
        "batch_crc32": draw(st.lists(st.integers(0, 2**32 - 1), min_size=n_batches, max_size=n_batches)),
    }
    if carried:
        h["keep"] = draw(st.integers(0, 2**20 - 2))
        h["adapt"] = draw(st.sampled_from([None, "ngram-mix/1"]))
    if n and draw(st.booleans()):  # CRLF line ends coded as LF: the flag and the payload's length
        h["frontend"] = {"newlines": "crlf"}
        h["payload_length"] = draw(st.integers(0, n - 1))
    return h


def compact_round_trip(h: dict) -> dict:
    """The compact form's round trip of header `h` (every modality's tests run it): written, read
    back as exactly `reduced(h)`, written again to the same bytes. Returns the decoded header."""
    head = compact.encode(h)
    assert head is not None
    decoded, end = compact.decode(head)
    assert decoded == compact.reduced(h) and end == len(head)
    assert compact.encode(decoded) == head  # canonical: one byte string per header
    assert compact.reduced(decoded) == decoded
    return decoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers())
def test_header_round_trips_through_the_compact_form(h):
    compact_round_trip(h)


@settings(max_examples=200, deadline=None)
@given(headers(), st.data())
def test_unrepresentable_headers_fall_back(h, data):
    change = data.draw(st.sampled_from([
        ("modality", "audio"), ("frontend", {"x": 1}),
        ("frontend", {"newlines": "lf"}), ("stepper", "kv-paged/9"), ("quantizer", "q/2"),
        ("adapt", "ngram-mix/9"), ("dtype", "int8"), ("device", "x" * 65), ("checked_sha256", "0" * 64),
        ("payload_length", -1), ("threads", 2**40), ("symbolizer", "bytes-charmap/v1")]))
    h[change[0]] = change[1]
    assert compact.encode(h) is None


def test_registry_ids_are_append_only():
    """An id, once written, means the same forever: these are the values golden containers hold."""
    assert compact.MODALITIES[0] == "text" and compact.MODEL_NAMES[0] == "smollm2-135m"
    assert compact.STEPPERS == ("kv-static/1", "kv-growing/2", "kv-carried/3", "kv-primed/1")
    assert compact.DTYPES == ("float32", "bfloat16", "float16", "bf16-linear") == container.DTYPES
    assert compact.QUANTIZERS == ("constriction-leaky24/1",) and compact.ADAPTS[:2] == ("ngram-mix/1", "ngram-mix/2")
    assert compact.DEVICES[0] == "cpu:x86_64" and compact.DEVICES[4] == "cpu:x86_64+amx"
    assert compact.DEVICES[5] == "cpu:x86_64+avx512-bf16"


# -- containers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def comp(tiny_model_dir):
    """The default: the stored form whenever it is smaller."""
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1)


@pytest.fixture(scope="module")
def blob(comp):
    return comp.compress(TEXT)


def test_encoder_writes_the_compact_form_for_text(blob, comp, tiny_model_dir):
    assert container.form(blob) == "compact"
    h = container.read_header(blob)
    assert "libraries" not in h and h["model"]["id"] == "" and len(h["original_sha256"]) == 16
    assert container.stored_header_length(blob) <= 64
    assert comp.decompress(blob) == TEXT
    # the model is not named in the container: a decoder without -m is told to pass it
    with pytest.raises(MismatchError, match="does not name its model"):
        Compressor(threads=1).decompress(blob)


def test_a_modality_without_a_compact_codec_keeps_the_json_form(tiny_model_dir, monkeypatch):
    # every front end registers a codec today (images since 2026-12-06); without one, the JSON form.
    # allow_stored=False: a coded image container (the tiny random model would lose to the stored form)
    coder = Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)
    ppm = b"P6\n30 30\n255\n" + b"\x10\x20\x30" * 900
    assert container.form(coder.compress(ppm, modality="image")) == "compact"
    monkeypatch.delitem(compact._EXTRAS_CODECS, "image")
    out = coder.compress(ppm, modality="image")
    assert container.form(out) == "json" and coder.decompress(out) == ppm


def test_truncation_anywhere_is_refused(blob):
    for n in range(len(blob)):
        with pytest.raises(ContainerError):
            container.unpack(blob[:n])
    with pytest.raises(ContainerError, match="unexpected bytes after the payload"):
        container.unpack(blob + b"\0")


def test_bad_header_crc_is_refused(blob):
    start, end = compact.header_span(blob)
    for i in range(len(compact.PRELUDE), end + 4):
        damaged = bytearray(blob)
        damaged[i] ^= 0x10
        with pytest.raises(ContainerError):
            container.unpack(bytes(damaged))
    damaged = bytearray(blob)
    damaged[start + 3] ^= 1
    with pytest.raises(ContainerError, match="header checksum mismatch"):
        container.unpack(bytes(damaged))


def test_unknown_form_and_ids_are_named(blob):
    with pytest.raises(ContainerError, match="unknown container form 0x64"):
        container.unpack(b"\x89LMd" + blob[4:])
    body = bytearray(body_of(blob))
    for offset, name in ((0, "modality"), (2, "model")):
        forged = bytearray(body)
        forged[offset] = 0x7F
        with pytest.raises(ContainerError, match=f"unknown {name} id 127"):
            container.unpack(reframe(bytes(forged)))
    forged = bytearray(body)
    forged[1] = 0x80
    with pytest.raises(ContainerError, match="unsupported compact flags 0x80"):
        container.unpack(reframe(bytes(forged)))


def _field(blob: bytes, name: str) -> tuple[int, int]:
    spans = []
    compact.decode(blob, spans)
    start = compact.header_span(blob)[0]
    a, b = next((a, b) for n, a, b in spans if n == name)
    return a - start, b - start


def test_varint_overflow_and_overlong_encodings_are_refused(blob):
    body = body_of(blob)
    a, b = _field(blob, "threads")
    for bad, what in ((b"\xff" * 6, "varint overflow"), (b"\x81\x00", "not minimally encoded"),
                      (b"\xff\xff", "runs past the header")):
        forged = body[:a] + bad + (body[b:] if what != "runs past the header" else b"")
        with pytest.raises(ContainerError, match=what):
            container.unpack(reframe(forged))
    with pytest.raises(ContainerError, match="bad compact header length"):
        container.unpack(compact.PRELUDE + b"\xff" * 8)


def test_counts_are_bounded_by_the_bytes_that_remain(blob):
    body = body_of(blob)
    a, b = _field(blob, "segment count")
    forged = body[:a] + compact.varint(2**34) + body[b:]
    with pytest.raises(ContainerError, match="counts more entries than the header holds"):
        container.unpack(reframe(forged))


def test_every_field_goes_through_the_one_validator(blob):
    """Fields the compact parser reads without judging them are checked by check_header."""
    body = body_of(blob)
    for name, value, what in (("threads", 1000, "field 'threads' is out of range"),
                              ("context", 2, "field 'context' is out of range"),
                              ("batch", 0, "field 'batch' is out of range"),
                              ("keep", 10**7, "field 'keep' is out of range"),
                              ("keep", 15, "'keep' leaves no room")):
        a, b = _field(blob, name)
        with pytest.raises(ContainerError, match=what):
            container.unpack(reframe(body[:a] + compact.varint(value) + body[b:]))
    a, b = _field(blob, "batch count")
    with pytest.raises(ContainerError):  # a batch table that does not match the segments
        container.unpack(reframe(body[:a] + b"\x00"))


def test_a_wrong_model_is_refused_by_its_short_digest(blob, other_tiny_model_dir):
    with pytest.raises(MismatchError, match="model mismatch"):
        Compressor(str(other_tiny_model_dir), threads=1).decompress(blob)


def test_a_damaged_payload_never_decodes_to_other_bytes(blob, comp):
    head = container.stored_header_length(blob)
    for i in range(head, len(blob), 3):
        damaged = bytearray(blob)
        damaged[i] ^= 0x04
        try:
            assert comp.decompress(bytes(damaged)) == TEXT
        except (ChecksumError, ContainerError):
            pass


# -- the stored form ---------------------------------------------------------------------------
def test_the_crlf_flag_is_text_only_and_unknown_flags_are_refused(tiny_compressor):
    blob = tiny_compressor.compress(b"Patients with diabetes.\r\nThe dose was adjusted.\r\n" * 3)
    body = bytearray(body_of(blob))
    assert body[1] & compact.FLAG_CRLF
    body[0] = compact.MODALITIES.index("audio") + 1  # the CRLF flag on another modality
    with pytest.raises(ContainerError, match="unsupported compact flags"):
        compact.decode(reframe(bytes(body)))
    body[0], body[1] = 1, body[1] | 0x80  # text again, with a flag no version defines
    with pytest.raises(ContainerError, match="unsupported compact flags"):
        compact.decode(reframe(bytes(body)))


def test_even_rows_replace_the_list_and_are_bounded(tiny_model_dir):
    """A carried text container's rows are an even split of its tokens: two varints, not one per
    row; the decoder refuses an even table of fewer than 2 rows, more rows than tokens, or
    on another modality, before expanding it."""
    coder = Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, rows=3, allow_stored=False)
    blob = coder.compress(TEXT * 3)
    h = container.read_header(blob)
    assert len(h["segments"]) >= 2 and h["segments"] == compact.even_rows(sum(h["segments"]),
                                                                           len(h["segments"]))
    assert body_of(blob)[1] & compact.FLAG_EVEN_ROWS and coder.decompress(blob) == TEXT * 3
    body = body_of(blob)
    a, _ = _field(blob, "segment tokens")
    _, b = _field(blob, "segment rows")
    for tokens, rows in ((10, 1), (10, 0), (3, 4), (2**30, compact.MAX_RUN_SEGMENTS + 1)):
        forged = body[:a] + compact.varint(tokens) + compact.varint(rows) + body[b:]
        with pytest.raises(ContainerError, match="even rows"):
            compact.decode(reframe(forged))
    audio = bytearray(body)
    audio[0] = compact.MODALITIES.index("audio") + 1
    with pytest.raises(ContainerError, match="unsupported compact flags"):
        compact.decode(reframe(bytes(audio)))
    # a table the even rule does not give keeps the list form
    uneven = dict(h, segments=[h["segments"][0] + 1] + h["segments"][1:])
    assert compact.decode(compact.encode(uneven))[0]["segments"] == uneven["segments"]
    # an even table past the decoder's row bound is written in the list form, which reads back
    many = dict(h, segments=[1] * (compact.MAX_RUN_SEGMENTS + 1))
    many["batches"], many["batch_crc32"] = [0] * len(many["segments"]), [0] * len(many["segments"])
    assert compact.decode(compact.encode(many))[0]["segments"] == many["segments"]


def test_twelve_bytes_cost_at_most_eight_more(comp):
    data = b"hello world\n"
    out = comp.compress(data)
    assert container.form(out) == "stored" and len(out) == 20
    assert container.read_header(out) == {"format": "lmcompress", "mode": "stored",
                                          "original_length": 12, "original_crc32": zlib.crc32(data)}
    assert comp.decompress(out) == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=40))
def test_a_container_is_never_more_than_eight_bytes_larger(comp, data):
    out = comp.compress(data)
    assert len(out) <= len(data) + container.STORED_OVERHEAD
    assert comp.decompress(out) == data


def test_stored_damage_is_caught_by_its_checksum(comp):
    out = comp.compress(b"hello world\n")
    for i in range(4, len(out)):
        damaged = bytearray(out)
        damaged[i] ^= 1
        with pytest.raises(ChecksumError, match="CRC-32"):
            comp.decompress(bytes(damaged))
    for cut in range(len(out)):
        with pytest.raises((ChecksumError, ContainerError)):
            comp.decompress(out[:cut])
    with pytest.raises(ChecksumError):
        comp.decompress(out + b"!")


def test_the_encoder_keeps_the_smaller(comp):
    """The stored form only when coding would not be smaller; a long text is coded."""
    assert container.form(comp.compress(TEXT * 4)) == "compact"
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()  # incompressible for any model
    assert container.form(comp.compress(noise)) == "stored"


# -- the command line -------------------------------------------------------------------------
def lmc(*args, cwd=None):
    """The command line with a bare environment (nothing inherited but the checkout's path)."""
    return clirun.lmc(*args, cwd=cwd, env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


def test_cli_lists_tests_and_decodes_both_forms(tiny_model_dir, tmp_path):
    small, text = tmp_path / "small.txt", tmp_path / "text.txt"
    small.write_bytes(b"hello world\n")
    text.write_bytes(TEXT * 2)
    opts = ["-m", tiny_model_dir, "--threads", "1", "-q"]
    assert lmc(*opts, small, text).returncode == 0
    listed = lmc("-l", "--json", f"{small}.lmc", f"{text}.lmc")
    assert listed.returncode == 0
    text_out, docs, at = listed.stdout.decode(), [], 0
    while at < len(text_out.rstrip()):
        doc, at = json.JSONDecoder().raw_decode(text_out, at)
        docs.append(doc)
        at += 1
    assert [d["form"] for d in docs] == ["stored", "compact"]
    assert docs[0]["container_bytes"] == 20 and docs[1]["header_bytes"] <= 64
    plain = lmc("-l", f"{small}.lmc", f"{text}.lmc").stdout.decode()
    assert "stored: the input as is" in plain and "form         compact" in plain
    assert "(not recorded)" in plain
    small.unlink()
    assert lmc("-d", f"{small}.lmc").returncode == 0  # no -m: the stored form needs no model
    assert small.read_bytes() == b"hello world\n"
    assert lmc("-t", *opts, f"{text}.lmc").returncode == 0
    damaged = tmp_path / "bad.txt.lmc"
    damaged.write_bytes((Path(f"{small}.lmc").read_bytes())[:-1] + b"?")
    r = lmc("-t", damaged)
    assert r.returncode == 1 and r.stderr.decode().count("\n") == 1 and "CRC-32" in r.stderr.decode()
    r = lmc("-d", f"{text}.lmc", "-o", tmp_path / "out")  # no -m: one line, exit 1
    assert r.returncode == 1 and "pass that model with -m" in r.stderr.decode()
