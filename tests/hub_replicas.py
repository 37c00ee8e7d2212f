"""Small replicas of the hub repositories the recipes read, in the repos' real file layouts.

Each builder writes a few rows into an fsspec `memory://` root laid out as `<root>/<id>[@<revision>]/...`
(the hf:// grammar train/corpus.py resolves), with the same archive types, file names and
columns/fields as the hub repo (see each recipe's header for the layout and what could not be
confirmed). A memory root rather than a temporary directory: like hf://, its files are not local
paths, so a loader that assumes `open(path)` fails here as it would on the hub. Each builder also
writes files of the same repo that the recipe must NOT read (other splits, other folders), so a
wrong pattern shows up as wrong bytes, and returns the raw documents the recipe should yield, in order.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import tarfile
import uuid
import zipfile

import fsspec
import numpy as np


def new_root() -> str:
    return f"memory://hub-{uuid.uuid4().hex[:12]}"


def _put(root: str, path: str, data: bytes) -> None:
    fsspec.filesystem("memory").pipe(f"{root.removeprefix('memory://')}/{path}", data)


def repo(hub_id: str, revision: str | None = None) -> str:
    return f"{hub_id}@{revision}" if revision else hub_id


# -- media ----------------------------------------------------------------------------------------
def wav_bytes(seed: int, rate: int = 16000, n: int = 1200) -> bytes:
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    samples = (3000 * np.sin(t * (0.02 + 0.01 * seed)) + rng.integers(-200, 200, n)).astype(np.int16)
    out = io.BytesIO()
    sf.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def flac_bytes(seed: int, rate: int = 16000) -> bytes:
    import soundfile as sf

    data, _ = sf.read(io.BytesIO(wav_bytes(seed, rate)), dtype="int16")
    out = io.BytesIO()
    sf.write(out, data, rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def image_bytes(seed: int, fmt: str = "PNG", size=(12, 8)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format=fmt)
    return out.getvalue()


def _parquet(rows: dict, features) -> bytes:
    """A Parquet file as the hub's converter writes it: the columns, plus datasets' features in the
    schema metadata (so `audio` reads back as an Audio column). Written with pyarrow because
    datasets' own Audio encoder would need torchcodec just to store bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pydict(rows, schema=features.arrow_schema)
    meta = {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}).encode()}
    table = table.replace_schema_metadata(meta)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


# -- one builder per hub repo ---------------------------------------------------------------------
MEDAL_REVISION = "1b7eb6a1b85ce9849238b5aaac70d1f97a9f04b5"


def medal(root: str, *, nested: bool = True) -> list[str]:
    """data/pretrain_subset.zip holding train/valid/test CSVs (ABSTRACT_ID, TEXT, LOCATION, LABEL),
    under pretrain_subset/ (the Kaggle layout) or at the top level; data/full_data.csv.zip beside."""
    texts = {split: [f"{split} abstract {i}: the patient (pt) received <dig> mg, then \"rest\"."
                     for i in range(3)] for split in ("train", "valid", "test")}

    def table(split):
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["ABSTRACT_ID", "TEXT", "LOCATION", "LABEL"])
        for i, text in enumerate(texts[split]):
            w.writerow([1000 + i, text, 5, "patient"])
        return out.getvalue().encode()

    prefix = "pretrain_subset/" if nested else ""
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for split in ("train", "valid", "test"):
            zf.writestr(f"{prefix}{split}.csv", table(split))
    base = repo("McGill-NLP/medal", MEDAL_REVISION)
    _put(root, f"{base}/data/pretrain_subset.zip", z.getvalue())
    full = io.BytesIO()
    with zipfile.ZipFile(full, "w") as zf:
        zf.writestr("full_data.csv", "TEXT,LOCATION,LABEL\nfull text,1,x\n")
    _put(root, f"{base}/data/full_data.csv.zip", full.getvalue())
    _put(root, f"{base}/medal.py", b"# loading script: datasets>=4 refuses it\n")
    return texts["train"]


def pile_of_law(root: str) -> list[str]:
    """data/<split>.<subset>.jsonl.xz, fields text, created_timestamp, downloaded_timestamp, url."""
    def jsonl_xz(texts):
        lines = [json.dumps({"text": t, "created_timestamp": "01-01-2010",
                             "downloaded_timestamp": "05-06-2022", "url": f"https://eur-lex.europa.eu/{i}"})
                 for i, t in enumerate(texts)]
        return lzma.compress(("\n".join(lines) + "\n").encode())

    train = [f"Article {i}\nThe Member States shall comply with this Directive by {2000 + i}." for i in range(3)]
    base = "pile-of-law/pile-of-law"
    _put(root, f"{base}/data/train.eurlex.jsonl.xz", jsonl_xz(train))
    _put(root, f"{base}/data/validation.eurlex.jsonl.xz", jsonl_xz(["validation act"]))
    _put(root, f"{base}/data/train.courtlistener_opinions.jsonl.xz", jsonl_xz(["a US opinion"]))
    _put(root, f"{base}/pile-of-law.py", b"# loading script\n")
    return train


LIBRISPEECH_REVISION = "fed4943ea9bdc207dc01b65e0928dd100e18a2a1"


def librispeech(root: str) -> list[bytes]:
    """clean/<split>/NNNN.parquet; columns file, audio (FLAC bytes), text, speaker_id, chapter_id, id."""
    from datasets import Audio, Features, Value

    features = Features({"file": Value("string"), "audio": Audio(sampling_rate=16000), "text": Value("string"),
                         "speaker_id": Value("int64"), "chapter_id": Value("int64"), "id": Value("string")})

    def shard(seeds):
        flacs = [flac_bytes(s) for s in seeds]
        ids = [f"84-121123-{s:04d}" for s in seeds]
        return flacs, _parquet({"file": [f"{i}.flac" for i in ids],
                                "audio": [{"bytes": b, "path": f"{i}.flac"} for b, i in zip(flacs, ids, strict=True)],
                                "text": ["GO DO YOU HEAR"] * len(seeds), "speaker_id": [84] * len(seeds),
                                "chapter_id": [121123] * len(seeds), "id": ids}, features)

    base = repo("openslr/librispeech_asr", LIBRISPEECH_REVISION)
    dev0, dev0_pq = shard([1, 2])
    dev1, dev1_pq = shard([3])
    _put(root, f"{base}/clean/validation/0000.parquet", dev0_pq)
    _put(root, f"{base}/clean/validation/0001.parquet", dev1_pq)
    _put(root, f"{base}/clean/test/0000.parquet", shard([7])[1])
    _put(root, f"{base}/other/validation/0000.parquet", shard([8])[1])
    return dev0 + dev1


def lj_speech(root: str) -> list[bytes]:
    """refs/convert/parquet: main/train/NNNN.parquet; columns id, audio (WAV bytes, 22.05 kHz), file,
    text, normalized_text. Main holds the loading script only."""
    from datasets import Audio, Features, Value

    features = Features({"id": Value("string"), "audio": Audio(sampling_rate=22050), "file": Value("string"),
                         "text": Value("string"), "normalized_text": Value("string")})
    wavs = [wav_bytes(20 + i, rate=22050) for i in range(3)]
    ids = [f"LJ001-{i:04d}" for i in range(1, 4)]
    table = _parquet({"id": ids, "audio": [{"bytes": w, "path": f"{i}.wav"} for w, i in zip(wavs, ids, strict=True)],
                      "file": [f"LJSpeech-1.1/wavs/{i}.wav" for i in ids], "text": ["Printing, in the only sense"] * 3,
                      "normalized_text": ["Printing, in the only sense"] * 3}, features)
    _put(root, f"{repo('keithito/lj_speech', 'refs/convert/parquet')}/main/train/0000.parquet", table)
    _put(root, "keithito/lj_speech/lj_speech.py", b"# loading script\n")
    return wavs


def compression_eval(root: str) -> list[bytes]:
    """clic2021_valid/*.png beside kodak/ and tecnick/ (which the recipes must not read)."""
    base = "SCU-VIP-Lab/compression-eval-datasets"
    names = ["alberto-montalesi-176097.png", "allef-vinicius-109434.png", "andrew-ruiz-376.png"]
    pngs = [image_bytes(30 + i) for i in range(len(names))]
    for name, png in zip(names, pngs, strict=True):
        _put(root, f"{base}/clic2021_valid/{name}", png)
    _put(root, f"{base}/kodak/kodim01.png", image_bytes(40))
    _put(root, f"{base}/tecnick/RGB_OR_1200x1200_001.png", image_bytes(41))
    return pngs


def imagenet(root: str) -> list[bytes]:
    """data/train_images_{0..}.tar.gz of <name>_<synset>.JPEG members, val_images.tar.gz beside."""
    def tar_gz(members):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as tf:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return out.getvalue()

    shards = [[(f"n01440764_{10026 + i}_n01440764.JPEG", image_bytes(50 + i, "JPEG")) for i in range(2)],
              [(f"n01443537_{i}_n01443537.JPEG", image_bytes(60 + i, "JPEG")) for i in range(2)]]
    for k, members in enumerate(shards):
        _put(root, f"ILSVRC/imagenet-1k/data/train_images_{k}.tar.gz", tar_gz(members))
    _put(root, "ILSVRC/imagenet-1k/data/val_images.tar.gz",
         tar_gz([("ILSVRC2012_val_00000001_n01751748.JPEG", image_bytes(70, "JPEG"))]))
    return [data for members in shards for _, data in members]
