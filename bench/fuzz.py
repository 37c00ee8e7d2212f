"""Structure-aware fuzzing of the decoder: hostile containers and hostile model directories.

    python bench/fuzz.py --count 100000           # the long run (figures in bench/results/fuzz.json)
    python bench/fuzz.py --count 300 --no-write   # the short run CI makes (tests/test_fuzz.py)

Every case must end in exactly one of: the original bytes (`exact`: the change touched nothing
that matters) or a refusal with an LMCompressError (`refused:<type>`, one readable line). What this
run exists to catch: `WRONG_OUTPUT` (other bytes returned), `CRASH:<type>` (any other exception: a
traceback for a user), `SLOW` (a case over --timeout seconds) and `BIG` (a case that grew the
process's resident memory by more than --rss-mb).

Seed containers, all made here with the tests' tiny model (tests/tiny.py), one per
front end and option that adds header fields: text, WAV (stereo 16-bit; compact form), WAV with LPC
residuals (JSON form), WAV with nlms+lms residuals (compact form, with its predictor fields), dual-mono
WAV with nlms+lms (mid-side and zero_channels), PNG
(replayable deflate), PNG re-encoded (interlaced), PPM with a comment and trailer, y4m frames,
y4m med-temporal, y4m mc-temporal, y4m mc-intra; and one per container form: text in the compact
form (what the encoder writes for text, carried and independent), the same text in the JSON
form, and a 12-byte input in the stored form. Mutations, chosen at random:

- bytes: bit flips, overwrites, truncation, insertion, appended garbage, duplicated runs;
- fields (most cases): the header is parsed, one field anywhere in it (core or front-end extras,
  nested ones included) is replaced by a hostile value (wrong type, null, negative, 2**63, NaN,
  huge strings and lists, NUL and path characters, deep nesting, a neighbour's value, off by
  one), deleted, or joined by an unknown field; the container is re-packed with a valid header
  CRC, so the decoder's schema and cross-field checks are what stands in the way;
- compact fields (compact seeds): one field of the compact header (compact.decode's spans) is
  replaced by hostile bytes (ids 0..255, varints 0..2**35-1, 6-byte overflows, overlong
  encodings, nothing, a byte more), or the length varint lies, and the length and CRC are fixed,
  so the compact parser's bounds and then the validator are what stands in the way;
- stored (the stored seed): another form byte, a wrong CRC, damaged or cut data, appended bytes
  (the CRC is never fixed after changing the data: that would be another valid file);
- forged framing: a header that inflates without end (a deflate bomb), batch word counts that
  disagree with the payload;
- model directories: copies of the tiny model with a hostile manifest.json, adapter_config.json
  or config.json (wrong types, {} and [], huge sizes, a hub id or another path as base), a missing
  or damaged weight file; each is used with -m to compress and to decode.

Each case runs in this process with the model loaded once; time and the growth of resident memory
are measured per case, and the whole run's peak RSS is reported.
"""

from __future__ import annotations

import argparse
import collections
import functools
import io
import json
import math
import os
import random
import resource
import shutil
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a hostile manifest naming a hub id must fail fast

ROOT = Path(__file__).resolve().parent.parent


def build_model(directory: Path) -> Path:
    """The tests' tiny random LLaMA (tests/tiny.py: seeded, 256 single-token byte characters, so
    every front end can use it), built into `directory`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lmc_tiny", ROOT / "tests" / "tiny.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    return tiny.build_tiny_model(directory)

HOSTILE = [None, True, False, 0, 1, -1, 7, 2**31, 2**32, 2**63, -(2**63), 10**30, 1.5, 1e308,
           math.nan, math.inf, "", "x", "\x00", "../../etc/passwd", "sh", "evil-org/evil-model",
           "\x1b[31mred", "A" * 70000, [], {}, [1] * 20000, [[[[[[[[[[[[1]]]]]]]]]]]], {"a": {"b": {}}},
           ["FRAME", 10**15], [0, 2**40]]


# -- seed inputs -------------------------------------------------------------------------------
def dual_mono(data: bytes) -> bytes:
    """A mono 16-bit WAV file as two identical channels."""
    import wave

    with wave.open(io.BytesIO(data)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(np.frombuffer(frames, dtype="<i2"), 2).tobytes())
    return buf.getvalue()


def wav(channels: int, frames: int, seed: int) -> bytes:
    """A 16-bit PCM WAV file: a sine with noise."""
    import wave

    rng = np.random.default_rng(seed)
    t = np.arange(frames)
    x = (3000 * np.sin(t / 7.0)[:, None] + rng.normal(0, 200, (frames, channels))).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(x.tobytes())
    return buf.getvalue()


def _png(interlace: bool, seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = (np.add.outer(np.arange(9), np.arange(11))[..., None] * [3, 5, 7] % 256
           + rng.integers(0, 4, (9, 11, 3))).astype(np.uint8)
    buf = io.BytesIO()
    im = Image.fromarray(arr, "RGB")
    im.info["dpi"] = (72, 72)
    im.save(buf, "PNG", interlace=1) if interlace else im.save(buf, "PNG", pnginfo=_text_chunk())
    return buf.getvalue()


def _text_chunk():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "fuzz seed")
    return info


def _ppm(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return b"P6\n# fuzz\n7 5\n255\n" + rng.integers(0, 256, 105, dtype=np.uint8).tobytes() + b"tail"


def _y4m(frames: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = b"YUV4MPEG2 W6 H4 F25:1 Ip A1:1 C420jpeg\n"
    for k in range(frames):
        out += (b"FRAME\n" if k % 2 else b"FRAME Ixyz\n") + rng.integers(0, 256, 24 + 12, dtype=np.uint8).tobytes()
    return out


def seeds(compressor, model: Path) -> list[tuple[str, bytes, bytes]]:
    """(name, container, original) for every seed; made fresh with the tiny model."""
    text = (ROOT / "tests" / "golden" / "text.bin").read_bytes()
    plans = [
        ("text", text, "text", {}),
        ("wav", wav(2, 300, 1), "audio", {}),
        ("wav-lpc", wav(1, 400, 2), "audio", {"predictor": "lpc", "lpc_order": 4, "lpc_block": 128}),
        ("wav-nlms", wav(1, 300, 8), "audio", {"predictor": "nlms+lms"}),
        ("wav-dualmono", dual_mono(wav(1, 300, 9)), "audio", {"predictor": "nlms+lms"}),
        ("png", _png(False, 3), "image", {}),
        ("png-reencoded", _png(True, 4), "image", {"order": "strips", "strip": 4, "predictor": "med-green"}),
        ("ppm", _ppm(5), "image", {"predictor": "med"}),
        ("y4m", _y4m(3, 6), "video", {}),
        ("y4m-temporal", _y4m(4, 7), "video", {"predictor": "med-temporal", "group": 2, "order": "temporal"}),
        ("y4m-motion", _y4m(3, 8), "video", {"predictor": "mc-temporal", "group": 3}),
        ("y4m-intra", _y4m(3, 8), "video", {"predictor": "mc-intra", "group": 3}),
    ]
    from compress.core import container
    from compress.core.engine import Compressor
    from compress.core.stepper import GROWING, PRIME, PRIMED

    # allow_stored=False: the tiny random model loses to the stored form on the media seeds, and a
    # stored seed would leave the front ends' header fields unfuzzed (the stored seed is below)
    coded = Compressor(str(model), context=compressor.context, batch=compressor.batch,
                       threads=compressor.threads, rows=compressor.rows, allow_stored=False)
    out = []
    for name, data, modality, options in plans:
        blob = coded.compress(data, modality=modality, **options)
        out.append((name, blob, compressor.decompress(blob, model=str(model))))
    # the default is carried context (kv-carried/3); independent segments (kv-growing/2 and
    # kv-primed/1) too

    independent = Compressor(str(model), context=compressor.context, batch=compressor.batch,
                             threads=compressor.threads, stepper_kind=GROWING)
    blob = independent.compress(text)
    out.append(("text-independent", blob, compressor.decompress(blob, model=str(model))))
    # primed segments (kv-primed/1, images' default) need a context beyond their 96-token prime
    primed = Compressor(str(model), context=PRIME[PRIMED] + 11, batch=compressor.batch,
                        threads=compressor.threads, stepper_kind=PRIMED, tune="adam/3")
    blob = primed.compress(text)
    out.append(("text-primed", blob, compressor.decompress(blob, model=str(model))))
    parsed = container.unpack(out[0][1])  # the JSON form of the compact text seed
    out.append(("text-json", container.pack(parsed.header, parsed.streams), text))
    blob = compressor.compress(b"hello world\n")
    out.append(("stored", blob, compressor.decompress(blob, model=str(model))))
    return out


# -- mutations ---------------------------------------------------------------------------------
def _paths(value, prefix=()):
    """Every (path) into a JSON value: dict keys and list indices (long lists: a few indices)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        picks = range(len(value)) if len(value) <= 4 else (0, 1, len(value) // 2, len(value) - 1)
        for i in picks:
            yield from _paths(value[i], prefix + (i,))


def _hostile_for(old, rng: random.Random):
    choices = list(HOSTILE)
    if isinstance(old, bool):
        choices += [not old]
    elif isinstance(old, int):
        choices += [old + 1, old - 1, old * 1000 + 7, -old, old * 2**20]
    elif isinstance(old, str):
        choices += [old + "x", old[:-1], old.upper(), old * 3, old + "\n", "\u0100" + old]
    elif isinstance(old, list):
        choices += [old[:-1], old + old[-1:], old[::-1], [old]]
    return rng.choice(choices)


def _deep(n: int):
    return json.loads("[" * n + "]" * n) if n < 900 else "[" * n  # json.dumps itself recurses


def pack_raw(header_obj, streams: list, *, deflate: bool = True) -> bytes:
    """A container with a valid header CRC around any JSON text (or a pre-made text)."""
    from compress.core import container

    text = header_obj if isinstance(header_obj, bytes) else json.dumps(
        header_obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()
    if deflate:
        z = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=container.HEADER_DICTIONARY)
        raw = z.compress(text) + z.flush()
    else:
        raw = text
    fixed = struct.pack("<8sHHI", container.MAGIC, container.FORMAT_VERSION, 1 if deflate else 0, len(raw))
    payload = b"".join(np.ascontiguousarray(s, dtype="<u4").tobytes() for s in streams)
    return fixed + raw + struct.pack("<I", zlib.crc32(raw)) + payload


def mutate_field(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    from compress.core import container

    parsed = container.unpack(blob)
    header = json.loads(json.dumps(parsed.header))
    path = rng.choice([p for p in _paths(header) if p])
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    label = "field:" + ".".join(str(p) for p in path[:3])
    roll = rng.random()
    if roll < 0.08 and isinstance(parent, dict):
        del parent[key]
        label += ":deleted"
    elif roll < 0.12 and isinstance(parent, dict):
        parent["zz_unknown"] = _hostile_for(None, rng)
        label += ":unknown"
    elif roll < 0.15:
        parent[key] = _deep(rng.choice([20, 200, 5000]))
        label += ":deep"
    else:
        parent[key] = _hostile_for(parent[key], rng)
    streams = parsed.streams
    if rng.random() < 0.1:  # and the word counts disagree with the payload
        streams = [s[: max(0, len(s) - rng.randint(0, 3))] for s in streams] + [np.zeros(rng.randint(0, 2), np.uint32)]
        label += "+streams"
    if isinstance(header.get("batches"), list) and "+streams" not in label and path[0] != "batches":
        header["batches"] = [int(len(s)) for s in streams]
    return label, pack_raw(header, streams)


HOSTILE_VARINTS = [0, 1, 2, 3, 4, 127, 128, 255, 256, 16383, 16384, 2**20, 2**24, 2**30, 2**31,
                   2**32 - 1, 2**32, 2**35 - 1]


def mutate_compact(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One compact-header field replaced by hostile bytes; length and CRC made valid again."""
    from compress.core import compact

    spans: list = []
    compact.decode(blob, spans)
    start, end = compact.header_span(blob)
    body, payload = bytearray(blob[start:end]), blob[end + 4:]
    name, a, b = rng.choice(spans)
    a, b = a - start, b - start
    roll = rng.random()
    if roll < 0.3:
        new = bytes([rng.randrange(256)])
    elif roll < 0.6:
        new = compact.varint(rng.choice(HOSTILE_VARINTS))
    elif roll < 0.7:
        new = b"\xff" * rng.randint(5, 9)  # varint overflow
    elif roll < 0.8:
        new = bytes(body[a:b]) + b"\x80\x00"[: rng.randint(1, 2)]  # overlong / dangling
    elif roll < 0.9:
        new = b""
    else:
        new = bytes(body[a:b]) + bytes([rng.randrange(256)])
    body[a:b] = new
    length = len(body)
    if rng.random() < 0.1:  # the length varint lies (the CRC still covers what it says)
        length = max(0, length + rng.choice([-3, -1, 1, 5, 1000]))
    head = compact.PRELUDE + compact.varint(length) + bytes(body)
    crc_end = min(len(head), len(compact.PRELUDE) + len(compact.varint(length)) + length)
    head = head[:crc_end] + struct.pack("<I", zlib.crc32(head[:crc_end])) + head[crc_end:]
    return f"compact:{name}", head + payload


def mutate_stored(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    b = bytearray(blob)
    kind = rng.choice(["form", "crc", "data", "cut", "append"])
    if kind == "form":
        b[3] = rng.randrange(256)
    elif kind == "crc":
        b[4 + rng.randrange(4)] ^= 1 << rng.randrange(8)
    elif kind == "data":
        b[8 + rng.randrange(len(b) - 8)] ^= 1 << rng.randrange(8)
    elif kind == "cut":
        del b[rng.randrange(len(b)):]
    else:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return f"stored:{kind}", bytes(b)


def mutate_bytes(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    b = bytearray(blob)
    kind = rng.choice(["flip", "byte", "truncate", "insert", "append", "dup"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "truncate":
        del b[rng.randrange(len(b)):]
    elif kind == "insert":
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "append":
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        start = rng.randrange(len(b))
        b[start:start] = b[start:start + rng.randint(1, 64)]
    return f"bytes:{kind}", bytes(b)


@functools.cache
def _forged(kind: str) -> bytes:
    """The framing forgeries that do not depend on the seed container (made once: deflating
    100 MB takes a second)."""
    if kind == "bomb":  # ~100 MB of JSON string deflated to ~100 KB
        return pack_raw(b'{"a":"' + b"0" * (100 << 20) + b'"}', [])
    return pack_raw(b"[" + b"{}," * (5 << 20) + b"{}]", [])  # a legal-size header of small objects


def forge_framing(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    from compress.core import container

    parsed = container.unpack(blob)
    stored = container.is_stored(parsed.header)  # no header to forge a claim in
    kind = rng.choice(["bomb", "bigjson"] if stored else ["bomb", "claim", "bigjson"])
    if kind in ("bomb", "bigjson"):
        return f"forge:{kind}", _forged(kind)
    header = dict(parsed.header)  # an empty stream claiming the most tokens the limits allow
    n = rng.choice([64, 4096])
    header.update(segments=[header["context"] - 1] * n, batch=n, payload_length=n * (header["context"] - 1),
                  batch_crc32=[0], batches=[0])
    return "forge:claim", pack_raw(header, [np.zeros(0, np.uint32)])


# -- hostile model directories ------------------------------------------------------------------
MODEL_DIR_CASES = [
    ("manifest.json", b"{}"), ("manifest.json", b"[]"), ("manifest.json", b"null"),
    ("manifest.json", b'{"base_model": 5}'), ("manifest.json", b'{"base_model": {"id": 7}}'),
    ("manifest.json", b'{"base_model": {"id": "evil-org/evil-model"}, "adapter_sha256": null}'),
    ("manifest.json", b'{"base_model": {"id": "/etc"}}'), ("manifest.json", b"[" * 100000),
    ("manifest.json", b'{"model_sha256": "00", "recipe": {"data": {"frontend": [1]}}}'),
    ("manifest.json", b'{"model_sha256": "' + b"0" * 64 + b'", "modality": "image",'
                      b' "recipe": {"data": {"frontend": {"order": 5}}}}'),
    ("adapter_config.json", b"[]"), ("adapter_config.json", b'{"base_model_name_or_path": 5}'),
    ("adapter_config.json", b'{"base_model_name_or_path": "evil-org/evil"}'),
    ("adapter_config.json", b"\xff\xfe"),
    ("config.json", b"{}"), ("config.json", b"[]"), ("config.json", b'{"model_type": "llama", "vocab_size": "x"}'),
    ("config.json", b'{"model_type": "llama", "vocab_size": 2000000000, "hidden_size": 65536,'
                    b' "num_hidden_layers": 1, "num_attention_heads": 1}'),
    ("model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"), ("model.safetensors", None),
    ("tokenizer.json", b"{}"), ("tokenizer.json", None),
]


def model_dir_case(index: int, workdir: Path, model: Path) -> Path:
    name, content = MODEL_DIR_CASES[index % len(MODEL_DIR_CASES)]
    target = workdir / f"model{index % len(MODEL_DIR_CASES)}"
    if not target.exists():
        shutil.copytree(model, target)
        if content is None:
            (target / name).unlink()
        else:
            (target / name).write_bytes(content)
        if name == "adapter_config.json":
            (target / "adapter_model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    return target


# -- the run -----------------------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(count: int, seed: int, timeout: float = 10.0, rss_mb: float = 512.0, log=print) -> dict:
    from compress.core.engine import Compressor, library_versions
    from compress.core.errors import LMCompressError

    tmp = tempfile.TemporaryDirectory(prefix="lmc-fuzz-")
    model = build_model(Path(tmp.name) / "tiny")
    # rows=8: small seeds still code in ~8 parallel rows (per-case time bounded as before)
    compressor = Compressor(str(model), context=64, batch=8, threads=1, rows=8)
    cases = seeds(compressor, model)
    rng = random.Random(seed)
    outcomes: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    failures, worst_time, worst_rss = [], (0.0, ""), (0, "")
    started = time.perf_counter()
    with tmp:
        for i in range(count):
            name, blob, original = cases[i % len(cases)]
            roll = rng.random()
            use = str(model)
            if roll < 0.04:
                kind = f"modeldir:{i % len(MODEL_DIR_CASES)}"
                damaged, use = blob, str(model_dir_case(i, Path(tmp.name), model))
            elif roll < 0.06:
                kind, damaged = forge_framing(blob, rng)
            elif roll < 0.3:
                kind, damaged = mutate_bytes(blob, rng)
            elif name == "stored":
                kind, damaged = mutate_stored(blob, rng)
            elif blob[3:4] == b"c" and roll < 0.65:
                kind, damaged = mutate_compact(blob, rng)
            else:
                kind, damaged = mutate_field(blob, rng)
            kinds[kind.split(":")[0]] += 1
            before, t = _rss(), time.perf_counter()
            try:
                if kind.startswith("modeldir"):
                    Compressor(use, context=64, batch=8, threads=1).compress(original[:64])
                out = compressor.decompress(damaged, model=use)
                outcome = "exact" if out == original else "WRONG_OUTPUT"
            except LMCompressError as exc:
                outcome = f"refused:{type(exc).__name__}"
            except Exception as exc:  # noqa: BLE001 - counting crashes is the point
                outcome = f"CRASH:{type(exc).__name__}"
                failures.append({"case": i, "seed": name, "kind": kind, "error": repr(exc)[:300]})
            took, grew = time.perf_counter() - t, _rss() - before
            if took > worst_time[0]:
                worst_time = (took, f"{name} {kind}")
            if grew > worst_rss[0]:
                worst_rss = (grew, f"{name} {kind}")
            if took > timeout:
                outcome = "SLOW"
            elif grew > rss_mb * 2**20:
                outcome = "BIG"
            if outcome in ("WRONG_OUTPUT", "SLOW", "BIG"):
                failures.append({"case": i, "seed": name, "kind": kind, "outcome": outcome,
                                 "seconds": round(took, 3), "rss_growth_mb": round(grew / 2**20, 1)})
            if log and (outcome.isupper() or outcome.startswith("CRASH")):
                log(f"case {i}: {outcome} {failures[-1]}")
            outcomes[outcome] += 1
            if log and (i + 1) % 5000 == 0:
                log(f"{i + 1} cases, {time.perf_counter() - started:.0f} s, bad so far: "
                    f"{sum(v for k, v in outcomes.items() if k.isupper() or k.startswith('CRASH'))}")
    seconds = time.perf_counter() - started
    bad = sum(v for k, v in outcomes.items() if k.startswith(("WRONG", "CRASH", "SLOW", "BIG")))
    return {
        "count": count, "seed": seed, "seconds": round(seconds, 1), "outcomes": dict(outcomes),
        "mutation_kinds": dict(kinds), "seeds": [n for n, _, _ in cases],
        "wrong_outputs": outcomes.get("WRONG_OUTPUT", 0), "bad": bad, "failures": failures[:50],
        "bounds": {"timeout_s": timeout, "rss_growth_mb": rss_mb},
        "slowest_case": {"seconds": round(worst_time[0], 3), "case": worst_time[1]},
        "largest_rss_growth": {"mb": round(worst_rss[0] / 2**20, 1), "case": worst_rss[1]},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "libraries": library_versions(),
        "machine": f"{os.cpu_count()} CPU(s), {os.uname().machine}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100000)
    p.add_argument("--seed", type=int, default=20261202)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take")
    p.add_argument("--rss-mb", type=float, default=512.0, help="resident memory a case may add")
    p.add_argument("--no-write", action="store_true", help="print only; no bench/results/fuzz.json")
    args = p.parse_args()
    result = run(args.count, args.seed, args.timeout, args.rss_mb)
    result["command"] = " ".join(["python"] + sys.argv)
    for k, v in sorted(result["outcomes"].items()):
        print(f"{k:>28}: {v}")
    print(f"{args.count} cases in {result['seconds']:.0f} s; wrong outputs {result['wrong_outputs']}, "
          f"crashes/slow/big {result['bad'] - result['wrong_outputs']}; slowest case "
          f"{result['slowest_case']['seconds']} s, largest RSS growth {result['largest_rss_growth']['mb']} MB, "
          f"peak RSS {result['peak_rss_mb']} MB")
    if not args.no_write:
        out = ROOT / "bench" / "results" / "fuzz.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(1 if result["bad"] else 0)


if __name__ == "__main__":
    main()
