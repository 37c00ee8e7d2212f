"""CRLF line ends coded as LF (compress/core/frontends.py TextFrontend): exact, recorded, refused
when a header's lengths cannot be right, switchable, and measured by the scoring pass too."""


import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from clirun import lmc
from compress.core import container, frontends
from compress.core.errors import ContainerError, InputError

CRLF_TEXT = b"Patients with diabetes were treated with insulin.\r\nThe dose was adjusted.\r\n" * 3


def no_bare_lf(data: bytes) -> bool:
    return all(i > 0 and data[i - 1] == 13 for i, b in enumerate(data) if b == 10)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64) | st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n"]), max_size=40).map(b"".join))
def test_split_join_is_exact_and_used_only_without_a_bare_lf(data):
    fe = frontends.get("text")
    payload, extras = fe.split(data)
    assert fe.join(payload, extras) == data
    transformed = b"\r\n" in data and no_bare_lf(data)
    assert extras == ({"newlines": "crlf"} if transformed else {})
    assert (payload == data) != transformed
    if transformed:
        assert b"\r\n" not in payload or data.count(b"\r\r\n")  # every CRLF's CR went, a CR before it stays
        assert len(payload) < len(data) <= 2 * len(payload)  # what check_extras requires
    kept, extras = frontends.get("text", newlines="keep").split(data)
    assert kept == data and extras == {}


def test_bytes_modality_is_never_transformed():
    assert frontends.get("bytes").split(CRLF_TEXT) == (CRLF_TEXT, {})
    with pytest.raises(TypeError):
        frontends.get("bytes", newlines="keep")
    with pytest.raises(InputError, match="unknown newlines option 'lf'"):
        frontends.get("text", newlines="lf")


@pytest.mark.parametrize("data", [CRLF_TEXT, b"\r\n", b"a\r\r\nb\r\n", CRLF_TEXT + b"\n",
                                  CRLF_TEXT.replace(b"\r\n", b"\n")])
def test_engine_round_trip_and_header(tiny_compressor, data):
    blob = tiny_compressor.compress(data)
    h = frontends.read_header(blob)
    crlf = b"\r\n" in data and no_bare_lf(data)
    assert container.form(blob) == "compact"
    assert h["frontend"] == ({"newlines": "crlf"} if crlf else {})
    assert h["payload_length"] == len(data) - (data.count(b"\r\n") if crlf else 0)
    assert h["original_length"] == len(data)
    assert tiny_compressor.decompress(blob) == data


@pytest.fixture(scope="module")
def crlf_blob(tiny_compressor) -> bytes:
    return tiny_compressor.compress(CRLF_TEXT)


def _as_json(blob: bytes, **changes) -> bytes:
    """The container in the JSON form, with `changes` made to its header (as an attacker can)."""
    parsed = container.unpack(blob)
    return container.pack(dict(parsed.header, libraries={}, checked_sha256=None, **changes), parsed.streams)


def test_the_json_form_carries_it_too(tiny_compressor, crlf_blob):
    again = _as_json(crlf_blob)
    assert container.form(again) == "json"
    assert tiny_compressor.decompress(again) == CRLF_TEXT


def test_fewer_tokens_and_the_scoring_pass_measures_the_same_payload(tiny_compressor, crlf_blob):
    tiny_compressor.compress(CRLF_TEXT)
    ideal = tiny_compressor.last.ideal_bits
    score = tiny_compressor.score(CRLF_TEXT)
    assert score.bytes == len(CRLF_TEXT) and score.bits == pytest.approx(ideal, rel=1e-6)
    kept = tiny_compressor.compress(CRLF_TEXT, newlines="keep")
    assert container.read_header(kept)["frontend"] == {} and tiny_compressor.decompress(kept) == CRLF_TEXT
    assert sum(container.read_header(crlf_blob)["segments"]) < sum(container.read_header(kept)["segments"])


@pytest.mark.parametrize("changes,message", [
    (lambda h: {"frontend": {"newlines": "lf"}}, "field 'frontend.newlines'"),
    (lambda h: {"frontend": {"newlines": "crlf", "x": 1}}, "frontend"),
    (lambda h: {"frontend": {}}, "payload is the whole file"),
    # at most one CR per payload byte: bounds what join allocates
    (lambda h: {"original_length": 2 * h["payload_length"] + 1}, "original length must exceed"),
    (lambda h: {"original_length": h["payload_length"]}, "original length must exceed"),
])
def test_a_header_that_cannot_be_right_is_refused_before_decoding(tiny_compressor, crlf_blob, changes, message):
    forged = _as_json(crlf_blob, **changes(container.unpack(crlf_blob).header))
    with pytest.raises(ContainerError, match=message):
        tiny_compressor.decompress(forged)


def test_cli_codes_lists_and_keeps_line_ends(tiny_model_dir, tmp_path):
    opts = ["-m", tiny_model_dir, "--context", "16", "--threads", "1", "-q"]
    src = tmp_path / "dos.txt"
    src.write_bytes(CRLF_TEXT * 4)
    r = lmc(*opts, "-c", src)
    assert r.returncode == 0, r.stderr
    packed = tmp_path / "dos.txt.lmc"
    packed.write_bytes(r.stdout)
    listing = lmc("-l", "-m", tiny_model_dir, packed)
    assert listing.returncode == 0 and b"line ends CRLF, coded as LF" in listing.stdout
    back = lmc("-d", *opts, "-c", packed)
    assert back.returncode == 0 and back.stdout == CRLF_TEXT * 4
    kept = lmc(*opts, "--keep-line-ends", "-c", src)
    assert kept.returncode == 0 and container.read_header(kept.stdout)["frontend"] == {}
    bad = lmc(*opts, "--keep-line-ends", "--modality", "bytes", "-c", src)
    assert bad.returncode != 0 and b"--keep-line-ends applies to text input only" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and src.read_bytes() == CRLF_TEXT * 4


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([b"ab", b"\r", b"\n", b"\r\n", "é".encode()]), max_size=30).map(b"".join))
def test_random_line_ends_round_trip(tiny_compressor, data):
    assert tiny_compressor.decompress(tiny_compressor.compress(data)) == data

