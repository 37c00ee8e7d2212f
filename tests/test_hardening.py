"""Hostile inputs (issue 14): each test pins one rule of the decoder's trust model (docs/format.md).

1 symmetry, 2 --rm, 3 a container never chooses what runs, 4 bounded cost, 5 every header field
checked, 6 output names, 7 file-system faults, 8 CLI conventions, 9 devices, 10 recipe overrides.
"""

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from bench import fuzz
from clirun import ENV, lmc
from compress import cli
from compress.core import container, frontends, models
from compress.core.engine import Compressor
from compress.core.errors import ContainerError, InputError, LMCompressError, MismatchError

ROOT = Path(__file__).resolve().parent.parent
TEXT = b"Patients with diabetes were treated with insulin. " * 4


def opts(model, *extra):
    return ["-m", model, "--batch", "3", "--threads", "1", "-q", *extra]


def repack(blob: bytes, change) -> bytes:
    """The container with `change(header)` applied and a valid header CRC (as an attacker can)."""
    parsed = container.unpack(blob)
    header = json.loads(json.dumps(parsed.header))
    change(header)
    return container.pack(header, parsed.streams)


@pytest.fixture(scope="module")
def comp(tiny_model_dir):
    # allow_stored=False: these tests attack coded containers (the stored form has no header fields)
    return Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)


@pytest.fixture(scope="module")
def text_blob(comp):
    return comp.compress(TEXT)


def wav_bytes(frames=200, channels=2):
    return fuzz.wav(channels, frames, seed=0)


def y4m_bytes(frames=3):
    rng = np.random.default_rng(0)
    out = b"YUV4MPEG2 W4 H2 F25:1 C420jpeg\n"
    for _ in range(frames):
        out += b"FRAME\n" + rng.integers(0, 256, 12, dtype=np.uint8).tobytes()
    return out


def png_bytes():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.arange(60).reshape(4, 5, 3) * 4).astype(np.uint8), "RGB").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def media(comp):
    """(container, original) per front end, made with the tiny model."""
    return {
        "audio": (comp.compress(wav_bytes(), modality="audio"), wav_bytes()),
        "audio-lpc": (comp.compress(wav_bytes(400, 1), modality="audio", predictor="lpc", lpc_block=64,
                                    lpc_order=4), wav_bytes(400, 1)),
        "image": (comp.compress(png_bytes(), modality="image"), png_bytes()),
        "ppm": (comp.compress(b"P6\n2 2\n255\n" + bytes(range(12)), modality="image"),
                b"P6\n2 2\n255\n" + bytes(range(12))),
        "video": (comp.compress(y4m_bytes(), modality="video"), y4m_bytes()),
    }


# -- 1. symmetry: the encoder refuses what the decoder would refuse ---------------------------------
def test_context_beyond_the_models_positions_is_refused_by_the_encoder(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    r = lmc("--rm", *opts(tiny_model_dir, "--context", "2000000"), src)
    assert r.returncode == 1 and src.read_bytes() == TEXT
    assert not (tmp_path / "x.txt.lmc").exists()
    line = r.stderr.decode().strip()
    assert "\n" not in line and "context" in line and str(src) in line
    with pytest.raises(InputError, match="exceeds the model's 512 positions"):
        Compressor(str(tiny_model_dir), context=600, threads=1).compress(TEXT)


def test_default_context_fits_a_512_position_model(tiny_model_dir, tmp_path):
    """The default context (1024) shrinks to the model's limit instead of writing a container
    the decoder then refuses."""
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT * 30)
    assert lmc("--rm", *opts(tiny_model_dir), src).returncode == 0
    packed = tmp_path / "x.txt.lmc"
    assert container.read_header(packed.read_bytes())["context"] == 512
    r = lmc("-d", *opts(tiny_model_dir), packed)
    assert r.returncode == 0, r.stderr
    assert src.read_bytes() == TEXT * 30


def test_encoder_runs_the_decoders_checks_on_its_output(comp, monkeypatch):
    """Whatever the decoder's schema refuses, the encoder refuses to write (here: a front end
    that writes extras the schema does not know)."""
    real = frontends.TextFrontend.split
    monkeypatch.setattr(frontends.TextFrontend, "split", lambda self, d: (real(self, d)[0], {"x": 1}))
    with pytest.raises(InputError, match="refusing to write a container the decoder would refuse"):
        comp.compress(TEXT)


# -- 2. --rm removes an input only after its output was read back and checked -----------------------
def test_rm_keeps_the_input_when_the_written_output_reads_back_different(tiny_model_dir, tmp_path,
                                                                         monkeypatch, capsys):
    from compress import fileio

    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    real = fileio.write_atomic

    def faulty_disk(path, data, **kw):  # the file system returns other bytes than were written
        real(path, data[:-1] + bytes([data[-1] ^ 1]), **kw)

    monkeypatch.setattr(fileio, "write_atomic", faulty_disk)
    assert cli.main(["--rm", *opts(str(tiny_model_dir)), str(src)]) == 1
    assert src.read_bytes() == TEXT
    assert "does not read back identical" in capsys.readouterr().err


def test_rm_removes_after_verification(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    assert lmc("--rm", *opts(tiny_model_dir), src).returncode == 0
    assert not src.exists()
    assert lmc("-d", "--rm", *opts(tiny_model_dir), str(src) + ".lmc").returncode == 0
    assert src.read_bytes() == TEXT and not Path(str(src) + ".lmc").exists()


# -- 3. a container never chooses what runs ----------------------------------------------------------
@pytest.mark.parametrize("named", ["evil-org/evil-model", "/etc", "{model}"])
def test_the_model_a_header_names_is_never_loaded(comp, text_blob, tiny_model_dir, monkeypatch, named):
    """Neither a hub id (no network request), nor an arbitrary path, nor even the right model's
    path: without -m, only the embedded alias is loaded because a header names it."""
    named = named.format(model=tiny_model_dir)
    blob = repack(text_blob, lambda h: h["model"].update(id=named, base_id=named))
    loads = []
    monkeypatch.setattr(models, "load", lambda *a, **k: loads.append(a) or pytest.fail("loaded"))
    with pytest.raises(MismatchError, match="pass that model with -m"):
        Compressor(threads=1).decompress(blob)
    assert loads == []


def test_header_model_path_is_refused_on_the_command_line(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    assert lmc(*opts(tiny_model_dir), src).returncode == 0  # header names tiny_model_dir
    src.unlink()
    r = lmc("-d", "-q", str(src) + ".lmc")
    assert r.returncode == 1 and b"pass that model with -m" in r.stderr and not src.exists()


def test_adapter_identity_is_checked_before_the_base_is_loaded(text_blob, tiny_model_dir, tmp_path,
                                                               monkeypatch):
    ckpt = tmp_path / "adapter"
    ckpt.mkdir()
    (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    (ckpt / "adapter_model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    monkeypatch.setattr(models, "load_base", lambda *a, **k: pytest.fail("base loaded"))
    with pytest.raises(MismatchError, match="adapter mismatch"):
        Compressor(threads=1).decompress(text_blob, model=str(ckpt))


# -- 4. bounded cost ----------------------------------------------------------------------------------
def raw_container(text: bytes, streams=b"") -> bytes:
    import struct
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=container.HEADER_DICTIONARY)
    raw = z.compress(text) + z.flush()
    return (struct.pack("<8sHHI", container.MAGIC, container.FORMAT_VERSION, 1, len(raw)) + raw
            + struct.pack("<I", zlib.crc32(raw)) + streams)


def test_header_deflate_bomb_is_refused_without_inflating_it():
    bomb = raw_container(b'{"a":"' + b"0" * (100 << 20) + b'"}')
    assert len(bomb) < 200_000
    tracemalloc.start()
    with pytest.raises(ContainerError, match="inflates past"):
        frontends.read_header(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 << 20  # the limit (16 MiB) and its bookkeeping, not the bomb's 100 MB


def test_deep_and_wide_json_is_refused_before_parsing():
    with pytest.raises(ContainerError, match="nests deeper"):
        frontends.read_header(raw_container(b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(ContainerError, match="more objects"):
        frontends.read_header(raw_container(b"[" + b"{}," * 3_000_000 + b"{}]"))


def test_empty_stream_claiming_many_tokens_costs_nothing(text_blob, comp):
    def claim(h):
        h.update(segments=[h["context"] - 1] * 4096, batch=4096, payload_length=4096 * (h["context"] - 1),
                 original_length=4096 * (h["context"] - 1), batch_crc32=[0])

    parsed = container.unpack(text_blob)
    header = json.loads(json.dumps(parsed.header))
    claim(header)
    blob = container.pack(header, [np.zeros(0, np.uint32)])
    started = time.perf_counter()
    with pytest.raises(ContainerError, match="more tokens than its stream can hold"):
        comp.decompress(blob)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("change", [
    lambda e: e.update(frames=10**15, order="temporal", group=2),
    lambda e: e.update(frame_lines=[["FRAME", 10**9]]),
    lambda e: e.update(frame_lines=[["FRAME", 1]] * 100_000),
    lambda e: e.update(width=2**40, planes=[[2**40, 2]]),
])
def test_hostile_video_geometry_is_refused_before_any_allocation(media, comp, change):
    blob = repack(media["video"][0], lambda h: change(h["frontend"]))
    started = time.perf_counter()
    with pytest.raises(ContainerError):
        comp.decompress(blob)
    assert time.perf_counter() - started < 10  # a check, not a loop over 10**15 frames


def test_image_dimensions_cannot_overflow(media, comp):
    blob = repack(media["image"][0], lambda h: h["frontend"].update(width=2**31 - 1, height=2**31 - 1,
                                                                    channels=4, sample_bytes=2))
    with pytest.raises(ContainerError, match="dimensions"):
        comp.decompress(blob)


# -- 5. every header field is type- and range-checked ------------------------------------------------
FIELD_CASES = [
    ("text", lambda h: h.update(frontend=None)),
    ("text", lambda h: h.update(frontend=[])),
    ("text", lambda h: h.update(libraries="x")),
    ("text", lambda h: h.update(libraries={"torch": 5})),
    ("text", lambda h: h["model"].update(id=7)),
    ("text", lambda h: h["model"].update(sha256=None)),
    ("text", lambda h: h.update(adapter=[])),
    ("text", lambda h: h.update(device=["cpu"])),
    ("text", lambda h: h.update(dtype="int8")),
    ("text", lambda h: h.update(symbolizer=5)),
    ("text", lambda h: h.update(quantizer=None)),
    ("text", lambda h: h.update(stepper=[])),
    ("text", lambda h: h.update(vocab_size=-3)),
    ("text", lambda h: h.update(prefix_id=2**40)),
    ("text", lambda h: h.update(threads=True)),
    ("text", lambda h: h.update(modality="nope")),
    ("text", lambda h: h.update(checked_sha256=5)),
    ("text", lambda h: h.update(unknown_field=1)),
    ("audio", lambda h: h["frontend"].update(layout=3)),
    ("audio", lambda h: h["frontend"].update(note=5)),
    ("audio", lambda h: h["frontend"].update(channels=0)),
    ("audio", lambda h: h["frontend"].update(head="!!")),
    ("audio", lambda h: h["frontend"].update(output_suffix=5)),
    ("audio", lambda h: h["frontend"].update(output_suffix="wav\x00")),
    ("audio", lambda h: h["frontend"].update(output_suffix="sh")),
    ("audio-lpc", lambda h: h["frontend"]["predictor"].update(order="x")),
    ("audio-lpc", lambda h: h["frontend"]["predictor"].update(coefs="AAAA")),
    ("image", lambda h: h["frontend"].pop("width")),
    ("image", lambda h: h["frontend"].update(height=0)),
    ("image", lambda h: h["frontend"].update(chunks=[["IHDR", "x"]])),
    ("image", lambda h: h["frontend"].update(zlib={"level": 99})),
    ("image", lambda h: h["frontend"].update(idat_sizes=[[1, 2**30]])),
    ("ppm", lambda h: h["frontend"].update(header="P6\n9 9\n255\n")),
    ("ppm", lambda h: h["frontend"].update(trailer="\u0100")),
    ("video", lambda h: h["frontend"].update(header="YUV4MPEG2 W4 H2 C999\n")),
    ("video", lambda h: h["frontend"].update(frame_lines=[[5, 3]])),
]


@pytest.mark.parametrize("which,change", FIELD_CASES)
def test_every_hostile_field_is_one_clear_error(media, text_blob, comp, tmp_path, which, change):
    blob = repack(text_blob if which == "text" else media[which][0], change)
    with pytest.raises(ContainerError):
        comp.decompress(blob)
    with pytest.raises(ContainerError):
        frontends.read_header(blob)  # what -l reads: same checks


def test_list_of_hostile_audio_note_is_one_line(media, tmp_path):
    f = tmp_path / "a.wav.lmc"
    f.write_bytes(repack(media["audio"][0], lambda h: h["frontend"].update(note=5)))
    r = lmc("-l", f)
    assert r.returncode == 1 and r.stderr.count(b"\n") == 1 and str(f).encode() in r.stderr


@pytest.mark.parametrize("name,content", [
    ("manifest.json", "{}"), ("manifest.json", "[]"), ("manifest.json", '{"base_model": 5}'),
    ("manifest.json", '{"base_model": {"id": "x"}, "recipe": {"data": {"frontend": [1]}}}'),
    ("adapter_config.json", "[]"), ("adapter_config.json", '{"base_model_name_or_path": 5}'),
    ("config.json", '{"model_type": "llama", "vocab_size": 2000000000, "hidden_size": 65536}'),
])
def test_hostile_model_directory_is_one_clear_error(tiny_model_dir, tmp_path, name, content):
    import shutil

    bad = tmp_path / "model"
    shutil.copytree(tiny_model_dir, bad)
    (bad / name).write_text(content)
    with pytest.raises(LMCompressError):
        Compressor(str(bad), threads=1).compress(TEXT)


# -- 6. output names ---------------------------------------------------------------------------------
def test_decompressed_name_is_the_containers_own_base_name(media, tiny_model_dir, tmp_path):
    """`-d flac.d/song.lmc` writes flac.d/song, never ./flac.wav; a FLAC container's allowed
    suffix replaces only the base name's extension."""
    from compress import fileio

    where = tmp_path / "flac.d"
    where.mkdir()
    blob, original = media["audio"]
    (where / "song.lmc").write_bytes(blob)
    (where / "take.flac.lmc").write_bytes(repack(blob, lambda h: h["frontend"].update(output_suffix="wav")))
    assert fileio.decompressed_name(str(where / "song.lmc"), None) == str(where / "song")
    assert fileio.decompressed_name(str(where / "take.flac.lmc"), "wav") == str(where / "take.wav")
    r = lmc("-d", *opts(tiny_model_dir), where / "song.lmc", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (where / "song").read_bytes() == original
    assert not (tmp_path / "flac.wav").exists()


def test_header_suffix_outside_the_allow_list_is_refused(media, tiny_model_dir, tmp_path):
    from compress import fileio

    f = tmp_path / "x.lmc"
    f.write_bytes(repack(media["audio"][0], lambda h: h["frontend"].update(output_suffix="sh")))
    r = lmc("-d", *opts(tiny_model_dir), f)
    assert r.returncode == 1 and not (tmp_path / "x.sh").exists()
    with pytest.raises(InputError):
        fileio.decompressed_name("x.lmc", "sh")


# -- 7. file-system faults ------------------------------------------------------------------------------
def test_missing_output_directory_is_one_line_naming_it(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    r = lmc(*opts(tiny_model_dir), "-o", tmp_path / "nodir" / "x.lmc", src)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and "nodir" in err and "Traceback" not in err


def test_file_size_limit_fails_one_input_and_the_others_go_on(tiny_model_dir, tmp_path):
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    # its container is far over the limit: random bytes (a periodic pattern is no longer enough,
    # the adaptive n-gram/match model of kv-carried/3 learns its period)
    big.write_bytes(np.random.default_rng(0).bytes(10240))
    small.write_bytes(b"hi")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

    r = lmc(*opts(tiny_model_dir, "--context", "64"), big, small, preexec_fn=limit)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and "big.txt.lmc" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "small.txt", "small.txt.lmc"]


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_not_read_forever(tiny_model_dir, tmp_path, special):
    path = tmp_path / "pipe"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path = Path(special)
    r = lmc(*opts(tiny_model_dir), "-c", path)
    assert r.returncode == 1 and b"not a regular file" in r.stderr


def test_stdin_is_read_with_a_bound(monkeypatch):
    import io

    from compress import fileio

    class Endless(io.RawIOBase):  # /dev/zero behind a pipe
        def readable(self):
            return True

        def readinto(self, b):
            b[:] = bytes(len(b))
            return len(b)

    monkeypatch.setattr(fileio, "MAX_READ", 5 << 20)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Endless())))
    with pytest.raises(InputError, match="larger than lmcompress accepts"):
        fileio.read_input("-")


# -- 8. conventions -------------------------------------------------------------------------------------
def test_usage_errors_exit_1():
    assert lmc("--no-such-option").returncode == 1
    assert lmc("-o", "", "x").returncode == 1


def test_quiet_prints_nothing_on_success(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    r = lmc(*opts(tiny_model_dir), src)
    assert r.returncode == 0 and r.stderr == b""
    r = lmc("-d", *opts(tiny_model_dir), "-c", str(src) + ".lmc")
    assert r.returncode == 0 and r.stderr == b"" and r.stdout == TEXT


def test_every_error_line_names_its_file(tmp_path):
    bad = tmp_path / "bad.lmc"
    bad.write_bytes(b"\x89LMC\r\n\x1a\n" + bytes(20))
    r = lmc("-d", "-q", bad)
    assert r.returncode == 1 and r.stderr.decode().startswith(f"lmcompress: {bad}: ")


def test_list_json_into_a_closed_pipe_ends_quietly(text_blob, tmp_path):
    f = tmp_path / "x.lmc"
    f.write_bytes(text_blob)
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([sys.executable, "-m", "compress", "-l", "--json", str(f)], stdout=write,
                          stderr=subprocess.PIPE, env=ENV, timeout=120)
    os.close(write)
    assert proc.stderr == b""


def test_outputs_keep_the_inputs_mode_and_mtime(tiny_model_dir, tmp_path):
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    os.chmod(src, 0o640)
    os.utime(src, (1_000_000_000, 1_000_000_000))
    assert lmc(*opts(tiny_model_dir), src).returncode == 0
    packed = Path(str(src) + ".lmc")
    assert stat.S_IMODE(packed.stat().st_mode) == 0o640 and packed.stat().st_mtime == 1_000_000_000
    src.unlink()
    assert lmc("-d", *opts(tiny_model_dir), packed).returncode == 0
    assert stat.S_IMODE(src.stat().st_mode) == 0o640 and src.stat().st_mtime == 1_000_000_000


def test_the_one_atomic_write(tmp_path, monkeypatch):
    """compress/fileio.py write_atomic: CLI outputs, evaluation results, manifests, corpus caches."""
    from compress import fileio

    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    like = os.stat(target)
    os.utime(target, (1_000_000_000, 1_000_000_000))
    src_like = os.stat(target)
    fileio.write_atomic(target, b"new", like=src_like)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_mtime == 1_000_000_000 and like.st_ino != target.stat().st_ino  # renamed
    umask = os.umask(0o027)
    try:  # without `like`: the mode any new file gets
        fileio.write_atomic(tmp_path / "plain.bin", b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == 0o640

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left") as info:
        fileio.write_atomic(target, b"never")
    assert info.value.filename == str(target)
    monkeypatch.undo()
    assert target.read_bytes() == b"new"  # untouched, and no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "plain.bin"]
    with pytest.raises(OSError) as info:
        fileio.write_atomic(tmp_path / "missing" / "x", b"")
    assert info.value.filename == str(tmp_path / "missing" / "x")
    fileio.write_json(tmp_path / "new" / "r.json", {"a": [1]})  # parents made, one newline
    assert (tmp_path / "new" / "r.json").read_text() == '{\n  "a": [\n    1\n  ]\n}\n'


def test_stdout_with_several_inputs(tiny_model_dir, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"first ")
    b.write_bytes(b"second")
    r = lmc(*opts(tiny_model_dir), "-c", a, b)
    assert r.returncode == 1 and r.stdout == b""  # two containers in one stream: refused
    assert lmc(*opts(tiny_model_dir), a, b).returncode == 0
    r = lmc("-d", *opts(tiny_model_dir), "-c", str(a) + ".lmc", str(b) + ".lmc")
    assert r.returncode == 0 and r.stdout == b"first second"  # decoding: concatenated, as gzip


# -- 9. devices -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cuda", "bogus", "meta", "cuda:99"])
def test_unusable_devices_are_one_line(tmp_path, device):
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and device == "cuda":
        pytest.skip("CUDA is available here")
    src = tmp_path / "x.txt"
    src.write_bytes(TEXT)
    r = lmc("--device", device, "-q", src)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and device in err and "Traceback" not in err


# -- 10. recipe overrides ------------------------------------------------------------------------------
def test_the_last_recipe_override_is_the_one_named():
    r = subprocess.run([sys.executable, str(ROOT / "train" / "lora.py"), "recipe=medal", "recipe=nope"],
                       capture_output=True, env=ENV, timeout=120)
    assert r.returncode != 0 and b"unknown recipe 'nope'" in r.stderr


def test_sigxfsz_is_not_fatal():
    """A file-size limit must turn into an error message, not kill the process (SIGXFSZ)."""
    cli._quiet_libraries(False)
    old = signal.getsignal(signal.SIGXFSZ)
    try:
        cli.main(["-l", "/nonexistent.lmc"])
        assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGXFSZ, old)
