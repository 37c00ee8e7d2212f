"""Damaged or foreign containers fail with a specific error before producing any output."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compress.core import container
from compress.core.errors import ChecksumError, ContainerError, LMCompressError, MismatchError

DATA = b"The Commission shall adopt implementing acts in accordance with Article 5.\n" * 4


@pytest.fixture(scope="module")
def blob(tiny_compressor):
    return tiny_compressor.compress(DATA)


def test_truncation_anywhere_is_refused(tiny_compressor, blob):
    hlen = container.stored_header_length(blob)
    cuts = sorted(set(list(range(0, hlen + 8)) + list(range(hlen, len(blob), 7)) + [len(blob) - 1]))
    for n in cuts:
        with pytest.raises(ContainerError):
            container.unpack(blob[:n])


def test_wrong_magic(blob):
    with pytest.raises(ContainerError, match="bad magic"):
        container.unpack(b"\x89PNG\r\n\x1a\n" + blob[8:])
    with pytest.raises(ContainerError, match="bad magic"):
        container.unpack(b"hello")


def test_newer_format_version_is_named(blob):
    parsed = container.unpack(blob)
    blob = container.pack(parsed.header, parsed.streams)  # the JSON form (the version field is its)
    newer = blob[:8] + struct.pack("<H", container.FORMAT_VERSION + 1) + blob[10:]
    with pytest.raises(ContainerError, match="newer"):
        container.unpack(newer)


def test_garbage_after_payload(blob):
    with pytest.raises(ContainerError, match="after the payload"):
        container.unpack(blob + b"\x00")


def test_header_bit_flip_caught_by_header_crc(blob):
    damaged = bytearray(blob)
    damaged[20] ^= 0x04
    with pytest.raises(ContainerError, match="header checksum"):
        container.unpack(bytes(damaged))


def test_payload_bit_flips_caught_by_checksums(tiny_compressor, blob):
    """A flipped payload bit is refused by a checksum, or changes no decoded symbol at all: the low
    bits of a stream's last word are slack the range decoder never reads into a decision (with the
    whole input in one carried-context stream of a few words, the sampled positions reach them).
    Never wrong bytes: the sha256 of the output is checked either way."""
    start = container.stored_header_length(blob)
    caught = 0
    positions = range(start, len(blob), max(1, (len(blob) - start) // 12))
    for pos in positions:
        damaged = bytearray(blob)
        damaged[pos] ^= 0x10
        try:
            out = tiny_compressor.decompress(bytes(damaged))
        except ChecksumError as exc:
            assert "batch" in str(exc) or "checksum" in str(exc)
            caught += 1
        else:
            assert out == DATA
            assert pos >= len(blob) - 4  # only in the last word
    assert caught >= len(positions) - 1


def test_other_model_is_refused_before_decoding(blob, other_tiny_model_dir):
    from compress.core.engine import Compressor

    with pytest.raises(MismatchError, match="model mismatch"):
        Compressor(str(other_tiny_model_dir)).decompress(blob, model=str(other_tiny_model_dir))


def test_forged_header_with_huge_lengths_is_refused(blob):
    header = container.read_header(blob)
    for field, value in [("segments", [10**9]), ("batch", 0), ("context", 1), ("original_length", -1)]:
        forged = dict(header, **{field: value})
        with pytest.raises(ContainerError):
            container.unpack(container.pack(forged, container.unpack(blob).streams))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_never_return_wrong_bytes(tiny_compressor, blob, data):
    damaged = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(damaged) - 1))
        damaged[pos] ^= data.draw(st.integers(1, 255))
    try:
        out = tiny_compressor.decompress(bytes(damaged))
    except LMCompressError:
        return
    assert out == DATA  # a flip that changes nothing decodable must still give the exact input


def test_context_beyond_the_models_positions_is_refused(tiny_compressor, blob):
    header = dict(container.read_header(blob), context=4096)  # tiny model: 512 positions
    forged = container.pack(header, container.unpack(blob).streams)
    with pytest.raises(MismatchError, match="positions"):
        tiny_compressor.decompress(forged)


def test_more_tokens_than_payload_is_refused(blob):
    header = container.read_header(blob)
    forged = dict(header, segments=[15] * len(header["segments"]), payload_length=1)
    with pytest.raises(ContainerError):
        container.unpack(container.pack(forged, container.unpack(blob).streams))
