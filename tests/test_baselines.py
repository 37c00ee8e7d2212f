"""evaluation/baselines.py: the system codecs really run and round-trip; an absent tool is 'missing'."""

import shutil

import pytest

from evaluation import baselines

DATA = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % (i % 37) for i in range(400))


@pytest.mark.parametrize("name", ["gzip -9", "bzip2 -9", "xz -9e"])
def test_always_present_codecs_run_and_round_trip(name):
    codec = next(c for c in baselines.CODECS if c.name == name)
    r = baselines.run_codec(codec, DATA)
    assert r.status == "ok" and r.roundtrip_ok is True
    assert 0 < r.compressed_bytes < len(DATA) / 4  # very repetitive input
    assert r.bits_per_byte == pytest.approx(8 * r.compressed_bytes / len(DATA))
    assert r.ratio == pytest.approx(len(DATA) / r.compressed_bytes)


@pytest.mark.parametrize("codec", [c for c in baselines.CODECS if c.tool not in ("gzip", "bzip2", "xz")],
                         ids=lambda c: c.tool)
def test_optional_codecs_round_trip_when_installed(codec):
    if shutil.which(codec.tool) is None:
        pytest.skip(f"{codec.tool} not installed")
    r = baselines.run_codec(codec, DATA)
    assert r.status == "ok" and r.roundtrip_ok is True and r.compressed_bytes < len(DATA)


def test_missing_tool_is_reported_as_missing():
    codec = baselines.Codec("nope -9", "lmc-no-such-compressor", ("x",), ("x",))
    r = baselines.run_codec(codec, DATA)
    assert r.status == "missing" and r.compressed_bytes is None and "not installed" in r.error
    rows = baselines.as_dicts(baselines.run_all(DATA, codecs=(codec, baselines.CODECS[0])))
    assert [x["status"] for x in rows] == ["missing", "ok"]


def test_failing_tool_is_reported_as_failed():
    codec = baselines.Codec("false", "false", ("false", "{src}"), ("false",))
    r = baselines.run_codec(codec, DATA)
    assert r.status == "failed"


def test_empty_input_round_trips():
    r = baselines.run_codec(baselines.CODECS[0], b"")
    assert r.status == "ok" and r.roundtrip_ok and r.bits_per_byte is None
