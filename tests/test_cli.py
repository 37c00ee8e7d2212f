"""The command line: gzip-style behaviour, exit codes, and that failures never harm inputs."""

import json
import os
from pathlib import Path

import pytest

from clirun import lmc


@pytest.fixture()
def sample(tmp_path):
    f = tmp_path / "note.txt"
    f.write_bytes(b"Patients with diabetes were treated with insulin.\n" * 3 + b"\xff\xfe tail")
    return f


def opts(model):
    return ["-m", model, "--context", "16", "--batch", "3", "--threads", "1", "-q"]


def test_keep_is_the_default_and_rm_the_only_way_to_remove():
    from compress.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["f"]).rm is False and parse(["-k", "f"]).rm is False and parse(["--keep", "f"]).rm is False
    assert parse(["--rm", "f"]).rm is True
    assert not hasattr(parse(["-k", "f"]), "keep")  # -k writes `rm`: no flag that nothing reads
    with pytest.raises(SystemExit):
        parse(["-k", "--rm", "f"])


def test_compress_decompress_keeps_inputs(tiny_model_dir, sample, tmp_path):
    original = sample.read_bytes()
    r = lmc(*opts(tiny_model_dir), sample)
    assert r.returncode == 0, r.stderr
    packed = Path(str(sample) + ".lmc")
    assert packed.exists() and sample.read_bytes() == original
    sample.unlink()
    r = lmc("-d", *opts(tiny_model_dir), packed)
    assert r.returncode == 0, r.stderr
    assert sample.read_bytes() == original and packed.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_stdin_stdout_and_test_mode(tiny_model_dir, sample):
    r = lmc(*opts(tiny_model_dir), "-c", "-", stdin=sample.read_bytes())
    assert r.returncode == 0, r.stderr
    blob = r.stdout
    t = lmc("-t", *opts(tiny_model_dir), "-", stdin=blob)
    assert t.returncode == 0, t.stderr
    d = lmc("-d", *opts(tiny_model_dir), "-", stdin=blob)
    assert d.returncode == 0 and d.stdout == sample.read_bytes()


def test_list_needs_no_model(tiny_model_dir, sample, tmp_path):
    out = tmp_path / "x.lmc"
    assert lmc(*opts(tiny_model_dir), "-o", out, sample).returncode == 0
    shutil_dir = tmp_path / "moved-away"
    os.rename(tiny_model_dir, shutil_dir)  # the model is gone: -l must still work
    try:
        r = lmc("-l", "--json", out)
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["original_bytes"] == len(sample.read_bytes())
        assert info["header"]["context"] == 16
        r = lmc("-l", out)
        assert r.returncode == 0 and b"ratio" in r.stdout
    finally:
        os.rename(shutil_dir, tiny_model_dir)


def test_refuses_to_overwrite_without_force(tiny_model_dir, sample):
    target = Path(str(sample) + ".lmc")
    target.write_bytes(b"precious")
    r = lmc(*opts(tiny_model_dir), sample)
    assert r.returncode == 1
    assert r.stderr.decode().count("\n") == 1 and b"already exists" in r.stderr
    assert target.read_bytes() == b"precious"
    r = lmc(*opts(tiny_model_dir), "-f", sample)
    assert r.returncode == 0 and target.read_bytes() != b"precious"


def test_rm_removes_input_only_after_success(tiny_model_dir, sample):
    r = lmc(*opts(tiny_model_dir), "--rm", sample)
    assert r.returncode == 0 and not sample.exists() and Path(str(sample) + ".lmc").exists()


@pytest.mark.parametrize("make_input, message", [
    (lambda d: d / "missing.txt", b"no such file"),
    (lambda d: d, b"is a directory"),
])
def test_bad_inputs_exit_1_with_one_line(tiny_model_dir, tmp_path, make_input, message):
    r = lmc(*opts(tiny_model_dir), make_input(tmp_path))
    assert r.returncode == 1 and message in r.stderr
    assert r.stderr.decode().strip().count("\n") == 0


def test_decompress_needs_lmc_suffix(tiny_model_dir, sample):
    r = lmc("-d", *opts(tiny_model_dir), sample)
    assert r.returncode == 1 and b"unknown suffix" in r.stderr


def test_unreachable_hub_model_is_one_line(sample):
    r = lmc("-m", "no-such-org/no-such-model", "-q", "-c", sample)
    assert r.returncode == 1
    err = r.stderr.decode().strip()
    assert err.startswith(f"lmcompress: {sample}: cannot load model") and "\n" not in err
    assert not Path(str(sample) + ".lmc").exists()


def test_list_shows_what_the_front_end_did(tiny_compressor, tmp_path):
    """-l names the front end's transform: LPC residuals for audio, pixel residuals for images."""
    import struct

    samples = struct.pack("<200h", *[(i * 37) % 2000 - 1000 for i in range(200)])
    wav = (b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(samples)) + samples)
    ppm = b"P6\n4 3\n255\n" + bytes(range(36))
    (tmp_path / "a.wav.lmc").write_bytes(tiny_compressor.compress(wav, modality="audio", predictor="lpc"))
    (tmp_path / "b.ppm.lmc").write_bytes(
        tiny_compressor.compress(ppm, modality="image", order="strips", strip=2, predictor="med-green"))
    r = lmc("-l", tmp_path / "a.wav.lmc", tmp_path / "b.ppm.lmc")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "WAV PCM 16-bit, 1 ch, 8000 Hz" in out and "linear-prediction residuals (lpc/1, order 16" in out
    assert "PPM 4x3, 3 channel(s) of 8 bits, payload order strips of 2 pixels" in out
    assert "pixel prediction residuals (med-green)" in out
