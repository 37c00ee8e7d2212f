"""evaluation/demo.py pieces: the stdlib corpus exists offline and is gathered deterministically, and
the pystdlib recipe composes with the demo's split (the full demo is `make demo`, not a test)."""

import hashlib

from evaluation import demo
from train import config as config_mod
from train import corpus, split


def test_stdlib_corpus_is_deterministic_and_offline(tmp_path):
    a = demo.gather_corpus(tmp_path / "a", 300_000)
    b = demo.gather_corpus(tmp_path / "b", 300_000)
    assert a == b and a["files"] > 10 and a["bytes"] >= 300_000
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all(n.endswith(".py") and "site-packages" not in n for n in names)
    files = demo.stdlib_files(limit=300_000)
    assert [p.read_bytes() for p in files] == [(tmp_path / "a" / n).read_bytes() for n in names]
    assert hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest() == a["sha256"]
    assert all(0 < p.stat().st_size <= demo.MAX_FILE_BYTES for p in files)


def test_demo_split_holds_whole_files(tmp_path):
    info = demo.gather_corpus(tmp_path / "c", 1310720 + demo.MAX_FILE_BYTES)
    cfg = config_mod.compose(["recipe=pystdlib", "hardware=cpu", f"data.path={tmp_path / 'c'}",
                              "split.train_bytes=1048576", "split.val_bytes=131072",
                              "split.total_bytes=1310720"])
    assert cfg.data.sample_by == "document"
    built = corpus.load(cfg.data, 1310720)
    assert built.documents <= info["files"]
    rec = split.make_record(built.data, built.ends, train_bytes=1048576, val_bytes=131072,
                            total_bytes=1310720)
    assert rec["test"]["length"] > 64 * 1024 and rec["train"]["length"] <= 1048576
