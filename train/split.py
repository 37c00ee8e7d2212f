"""Deterministic train / validation / test split of a corpus by bytes, at document boundaries.

The corpus is cut into three contiguous byte ranges: [0, t) train, [t, v) validation, [v, e) test,
where t is the last document boundary at or before `train_bytes`, v the last at or before
t + `val_bytes`, e the last at or before `total_bytes`. A pure function of (document ends, sizes),
so the same corpus always splits the same way; the record written into every checkpoint manifest
holds each part's offsets, length, document range and sha256 (and the sha256 of the whole used
prefix), so evaluation can get the exact test bytes back with `test_bytes(record, corpus_bytes)`
and prove it never tests on training data.
"""

from __future__ import annotations

import bisect
import hashlib

from .errors import DataError

FORMAT = "lmcompress-split/1"
PARTS = ("train", "validation", "test")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _boundary_at_or_before(ends: list[int], limit: int) -> tuple[int, int]:
    """(offset, number of documents) of the last document boundary <= limit (0, 0 if none)."""
    k = bisect.bisect_right(ends, limit)
    return (ends[k - 1], k) if k else (0, 0)


def plan(ends: list[int], train_bytes: int, val_bytes: int, total_bytes: int) -> dict:
    """Part offsets and document ranges; DataError (one line) if the corpus cannot hold the split."""
    if any(b <= a for a, b in zip([0] + ends, ends, strict=False)):
        raise ValueError("document ends must be strictly increasing and positive")
    size = ends[-1] if ends else 0
    needed = f"train {train_bytes} + validation {val_bytes} bytes + a test part"
    if size <= train_bytes + val_bytes:
        raise DataError(f"the corpus has only {size} bytes in {len(ends)} documents; the split needs "
                        f"more than {needed} (lower split.* or give more data)")
    t, dt = _boundary_at_or_before(ends, train_bytes)
    if dt == 0:
        raise DataError(f"the first document ({ends[0]} bytes) is longer than the training part "
                        f"({train_bytes} bytes); the split cuts only between documents "
                        "(for local text use data.sample_by=paragraph or line)")
    v, dv = _boundary_at_or_before(ends, t + val_bytes)
    if dv == dt:
        raise DataError(f"document {dt} ({ends[dt] - t} bytes) is longer than the validation part "
                        f"({val_bytes} bytes); the split cuts only between documents")
    e, de = _boundary_at_or_before(ends, total_bytes)
    if de == dv:
        raise DataError(f"no complete document is left for the test part after {v} bytes "
                        f"(split.total_bytes={total_bytes}, corpus {size} bytes); the split needs "
                        f"more than {needed}")
    return {
        "train": (0, t, 0, dt),
        "validation": (t, v, dt, dv),
        "test": (v, e, dv, de),
    }


def make_record(data: bytes, ends: list[int], *, train_bytes: int, val_bytes: int,
                total_bytes: int, source: dict | None = None) -> dict:
    """The split record written into checkpoint manifests."""
    parts = plan(ends, train_bytes, val_bytes, total_bytes)
    used = parts["test"][1]
    record = {
        "format": FORMAT,
        "unit": "bytes of the concatenated corpus, cut at document boundaries",
        "requested": {"train_bytes": int(train_bytes), "val_bytes": int(val_bytes),
                      "total_bytes": int(total_bytes)},
        "corpus": {"bytes": int(used), "documents": int(parts["test"][3]), "sha256": _sha(data[:used]),
                   "source": source or {}},
    }
    for name in PARTS:
        start, end, d0, d1 = parts[name]
        record[name] = {"offset": int(start), "length": int(end - start), "end": int(end),
                        "documents": [int(d0), int(d1)], "sha256": _sha(data[start:end])}
    return record


def part_bytes(record: dict, corpus: bytes, name: str) -> bytes:
    """The exact bytes of one part (train | validation | test), checked against the record."""
    if record.get("format") != FORMAT:
        raise DataError(f"not a split record of format {FORMAT}")
    if name not in PARTS:
        raise ValueError(f"part must be one of {PARTS}")
    part = record[name]
    start, end = part["offset"], part["offset"] + part["length"]
    if len(corpus) < end:
        raise DataError(f"the corpus has {len(corpus)} bytes, but the {name} part ends at byte {end}")
    data = bytes(corpus[start:end])
    if _sha(data) != part["sha256"]:
        raise DataError(f"the corpus differs from the one the checkpoint was trained on: the {name} "
                        f"part (bytes {start}-{end}) has another sha256")
    return data


def test_bytes(record_or_manifest: dict, corpus: bytes) -> bytes:
    """The test part of `corpus` named by a split record (or a checkpoint manifest holding one)."""
    record = record_or_manifest.get("split", record_or_manifest)
    return part_bytes(record, corpus, "test")


test_bytes.__test__ = False  # not a pytest test despite its name


def test_bytes_of_checkpoint(checkpoint_dir, *, use_cache: bool = True) -> bytes:
    """Rebuild a checkpoint's corpus from its recorded recipe and return its exact test bytes."""
    import json
    from pathlib import Path

    from omegaconf import OmegaConf

    from . import corpus as corpus_mod

    manifest = json.loads((Path(checkpoint_dir) / "manifest.json").read_text())
    data_cfg = OmegaConf.create(manifest["recipe"]["data"])
    total = manifest["split"]["corpus"]["bytes"]
    built = corpus_mod.load(data_cfg, manifest["recipe"]["split"]["total_bytes"], use_cache=use_cache)
    if len(built.data) < total:
        raise DataError(f"the rebuilt corpus has {len(built.data)} bytes, fewer than the {total} recorded")
    return test_bytes(manifest, built.data)


test_bytes_of_checkpoint.__test__ = False
