"""The byte split: document boundaries, determinism, no overlap, a record that gives the bytes back."""

import hashlib
import itertools
import os
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from omegaconf import OmegaConf

from train import corpus, split
from train.errors import DataError


def _ends(sizes):
    out, total = [], 0
    for s in sizes:
        total += s
        out.append(total)
    return out


def _corpus(sizes, seed=0):
    docs = [bytes([(seed + i) % 251]) * s for i, s in enumerate(sizes)]
    return b"".join(docs), _ends(sizes)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 50), min_size=3, max_size=80),
       train=st.integers(1, 600), val=st.integers(1, 300), extra=st.integers(1, 600))
def test_split_properties(sizes, train, val, extra):
    data, ends = _corpus(sizes)
    total = train + val + extra
    try:
        rec = split.make_record(data, ends, train_bytes=train, val_bytes=val, total_bytes=total)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    boundaries = {0, *ends}
    parts = [rec[p] for p in split.PARTS]
    # contiguous, non-empty, disjoint, in order, each at document boundaries
    assert parts[0]["offset"] == 0
    for a, b in itertools.pairwise(parts):
        assert a["end"] == b["offset"] and a["documents"][1] == b["documents"][0]
    for p in parts:
        assert p["length"] > 0 and p["offset"] in boundaries and p["end"] in boundaries
        assert p["end"] == p["offset"] + p["length"]
        assert p["documents"][1] > p["documents"][0]
        assert ends[p["documents"][1] - 1] == p["end"]
    assert rec["train"]["length"] <= train and rec["validation"]["length"] <= val
    assert rec["test"]["end"] <= total and rec["corpus"]["bytes"] == rec["test"]["end"]
    # the record gives the exact bytes back, sha256-checked
    for name in split.PARTS:
        got = split.part_bytes(rec, data, name)
        assert got == data[rec[name]["offset"] : rec[name]["end"]]
        assert hashlib.sha256(got).hexdigest() == rec[name]["sha256"]
    assert split.test_bytes(rec, data) == data[rec["test"]["offset"] : rec["test"]["end"]]
    # deterministic
    assert split.make_record(data, ends, train_bytes=train, val_bytes=val, total_bytes=total) == rec


def test_split_values_and_manifest_form():
    data, ends = _corpus([10] * 100)
    rec = split.make_record(data, ends, train_bytes=505, val_bytes=200, total_bytes=900, source={"k": 1})
    assert (rec["train"]["offset"], rec["train"]["end"]) == (0, 500)
    assert (rec["validation"]["offset"], rec["validation"]["end"]) == (500, 700)
    assert (rec["test"]["offset"], rec["test"]["end"]) == (700, 900)
    assert rec["test"]["documents"] == [70, 90]
    assert rec["corpus"]["sha256"] == hashlib.sha256(data[:900]).hexdigest()
    assert rec["corpus"]["source"] == {"k": 1}
    manifest = {"split": rec}
    assert split.test_bytes(manifest, data) == data[700:900]
    assert split.test_bytes(manifest, data + b"more") == data[700:900]  # a longer rebuild is fine


def test_changed_corpus_is_refused():
    data, ends = _corpus([10] * 100)
    rec = split.make_record(data, ends, train_bytes=500, val_bytes=200, total_bytes=900)
    damaged = bytearray(data)
    damaged[750] ^= 1
    with pytest.raises(DataError, match="differs"):
        split.test_bytes(rec, bytes(damaged))
    with pytest.raises(DataError, match="ends at byte 900"):
        split.test_bytes(rec, data[:800])


@pytest.mark.parametrize("sizes, train, val, total, fragment", [
    ([10] * 5, 40, 20, 100, "only 50 bytes"),
    ([100, 10, 10, 10], 50, 20, 200, "first document"),
    ([10, 10, 100, 10], 25, 50, 200, "longer than the validation part"),
    ([10] * 10, 50, 30, 85, "no complete document is left"),
])
def test_split_errors(sizes, train, val, total, fragment):
    data, ends = _corpus(sizes)
    with pytest.raises(DataError, match=fragment) as err:
        split.make_record(data, ends, train_bytes=train, val_bytes=val, total_bytes=total)
    assert "\n" not in str(err.value)


# -- corpus building through datasets ----------------------------------------------------------
def _cfg(path, **kw):
    base = {"modality": "text", "path": None if path is None else str(path), "sample_by": "paragraph", "frontend": {},
            "cache_dir": None, "hub": {"id": "x/y", "split": "train", "field": "text", "separator": "\n\n",
                                       "config": None, "revision": None, "builder": None,
                                       "data_files": None, "streaming": True}}
    base.update(kw)
    return OmegaConf.create(base)


def test_local_paragraph_corpus_keeps_the_text(tmp_path):
    text = "first para\nline two\n\nsecond para\n\n\nthird (after an extra newline)\n\nlast\n"
    (tmp_path / "a.txt").write_text(text)
    built = corpus.build(_cfg(tmp_path / "a.txt"), limit=10_000)
    assert built.data == (text + "\n\n").encode()[: len(built.data)]
    assert built.data.startswith(text.encode())
    assert built.documents == 4 and built.ends[0] == len("first para\nline two\n\n")
    assert built.source["files"][0]["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_local_dir_glob_lines_and_limit(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("b1\nb2\n")
    (tmp_path / "d" / "a.txt").write_text("a1\na2\n")
    (tmp_path / "d" / ".hidden").write_text("never\n")
    by_dir = corpus.build(_cfg(tmp_path / "d", sample_by="line"), limit=10_000)
    assert by_dir.data == b"a1\na2\nb1\nb2\n" and by_dir.ends == [3, 6, 9, 12]
    by_glob = corpus.build(_cfg(str(tmp_path / "d" / "*.txt"), sample_by="document"), limit=10_000)
    assert by_glob.data == b"a1\na2\nb1\nb2\n" and by_glob.ends == [6, 12]
    limited = corpus.build(_cfg(tmp_path / "d", sample_by="line"), limit=5)
    assert limited.data == b"a1\na2\n"  # stops at the document that reaches the limit


@pytest.mark.parametrize("path, fragment", [("nowhere.txt", "does not exist"), ("*.none", "matches no files")])
def test_local_missing(tmp_path, path, fragment):
    with pytest.raises(DataError, match=fragment):
        corpus.build(_cfg(tmp_path / path), limit=100)


def test_not_utf8_is_one_line(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"ok\n\n\xff\xfe broken")
    with pytest.raises(DataError, match="not UTF-8") as err:
        corpus.build(_cfg(tmp_path / "bin.txt"), limit=100)
    assert "\n" not in str(err.value)


def test_offline_hub_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # conftest sets it before huggingface_hub is imported
    cfg = _cfg(None)
    with pytest.raises(DataError, match="cannot load dataset 'x/y' from the Hugging Face hub") as err:
        corpus.load(cfg, 100, use_cache=False)
    assert "\n" not in str(err.value) and "data.path" in str(err.value)


def test_hub_path_with_a_local_dataset_and_cache(tmp_path):
    """The hub code path (load_dataset(id, config, split, streaming)) on a dataset directory."""
    import json as _json

    src = tmp_path / "ds"
    src.mkdir()
    rows = [{"text": f"abstract number {i} about insulin.", "label": i} for i in range(30)]
    (src / "train.jsonl").write_text("\n".join(_json.dumps(r) for r in rows) + "\n")
    cfg = _cfg(None, cache_dir=str(tmp_path / "cache"))
    cfg.hub.id = str(src)
    cfg.hub.separator = "\n"
    built = corpus.load(cfg, limit=200)
    want = b"".join(f"abstract number {i} about insulin.\n".encode() for i in range(30))
    assert built.data == want[: len(built.data)] and len(built.data) >= 200
    assert built.source["kind"] == "hub" and built.source["id"] == str(src)
    assert len(list((tmp_path / "cache").glob("*.bin"))) == 1
    (src / "train.jsonl").unlink()  # a second load comes from the cache
    again = corpus.load(cfg, limit=200)
    assert again.data == built.data and again.ends == built.ends
    # the packaged-builder form the pile_of_law recipe uses (json + data_files)
    (src / "x.jsonl").write_text("\n".join(_json.dumps(r) for r in rows[:3]) + "\n")
    cfg2 = _cfg(None)
    cfg2.hub.builder, cfg2.hub.data_files = "json", str(src / "x.jsonl")
    assert corpus.build(cfg2, limit=10_000).documents == 3
    cfg2.hub.field = "nope"
    with pytest.raises(DataError, match="no column 'nope'"):
        corpus.build(cfg2, limit=10_000)


def test_data_path_list_concatenates_sources_in_order(tmp_path):
    """data.path may list sources, concatenated in the order given (the audio byte-model recipe
    trains on codec2 and keeps the alsa files, listed second, for the end of the split)."""
    from train import corpus

    (tmp_path / "b_train").mkdir()
    (tmp_path / "a_test").mkdir()
    for name in ("2.txt", "1.txt"):
        (tmp_path / "b_train" / name).write_text(name)
    (tmp_path / "a_test" / "t.txt").write_text("t")
    files = corpus.resolve_files([str(tmp_path / "b_train"), str(tmp_path / "a_test" / "*.txt")])
    assert [Path(f).relative_to(tmp_path).as_posix() for f in files] == ["b_train/1.txt", "b_train/2.txt",
                                                                         "a_test/t.txt"]
    with pytest.raises(DataError, match="empty list"):
        corpus.resolve_files([])
    assert corpus.absolute_paths(["x", "y"]) == [os.path.abspath("x"), os.path.abspath("y")]
