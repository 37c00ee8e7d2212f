"""evaluation/evaluate.py: test bytes from the trainer's split, a verified round trip whose numbers
agree with each other, refusal of a corpus the checkpoint was not split from, and sharding that
does not depend on the number of processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation import evaluate, measure
from test_train_lora import SENTENCES, base_args
from train import trainer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    import random

    rng = random.Random(0)
    paras = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 4))) for _ in range(220)]
    path = tmp_path_factory.mktemp("evcorpus") / "domain.txt"
    path.write_text("\n\n".join(paras) + "\n")
    return path


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, corpus_file, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("evckpt")
    assert trainer.main(base_args(tiny_model_dir, corpus_file, ckpt, run="ev")) == 0
    return ckpt / "medal" / "ev"


def eval_args(run, data, tmp, **extra):
    args = {"recipe": "medal", "hardware": "cpu", "checkpoint": str(run), "data.path": str(data),
            "eval.test_bytes": 1200, "eval.roundtrip_bytes": 600, "eval.shard_bytes": 300,
            "eval.coder_batch": 4, "eval.threads": 1, "eval.batch": 4,
            "eval.output": str(tmp / "out.json"), "log.progress": "false"}
    args.update(extra)
    return [f"{k}={v}" for k, v in args.items()]


def test_checkpoint_round_trip_is_verified_and_consistent(run_dir, corpus_file, tmp_path, capsys):
    assert evaluate.main(eval_args(run_dir, corpus_file, tmp_path)) == 0
    r = json.loads((tmp_path / "out.json").read_text())
    m = json.loads((run_dir / "manifest.json").read_text())
    assert r["format"] == "lmcompress-eval/1"
    assert r["model"]["adapter_sha256"] == m["adapter_sha256"] and r["model"]["step"] == m["step"]
    assert r["test"]["sha256"] == m["split"]["test"]["sha256"]
    assert r["test"]["evaluated_bytes"] == 1200 and r["scoring"]["bytes"] == 1200
    rt = r["roundtrip"]
    assert rt["verified"] is True and rt["failed_shards"] == []
    assert 0 < rt["bytes"] <= 600 and rt["shards"] == r["settings"]["roundtrip_shards"] >= 2
    assert rt["bits_per_byte"] == pytest.approx(rt["container_bytes"] * 8 / rt["bytes"])
    assert rt["ratio"] == pytest.approx(rt["bytes"] / rt["container_bytes"])
    assert rt["container_bytes"] == sum(s.get("container_bytes", 0) for s in r["shards"])
    # carried context (the default) with auto rows: each shard says the rows and keep it got
    assert r["settings"]["stepper"] == "kv-carried/3" and r["settings"]["rows"] is None
    assert all(s["rows"] >= 1 and 1 <= s["keep"] < r["settings"]["context"] for s in r["shards"])
    # headers apart, the coded streams cost what the scoring pass says (same bytes, other kernels;
    # each stream ends with at most a few words of termination)
    # (text shards use the compact header: ~50 bytes with a checkpoint's three short digests)
    assert 30 * rt["shards"] < rt["header_bytes"] < 400 * rt["shards"]
    assert rt["stream_bits_per_byte"] == pytest.approx(8 * (rt["container_bytes"] - rt["header_bytes"]) / rt["bytes"])
    gap = abs(rt["stream_bits_per_byte"] - rt["scoring_bits_per_byte_same_bytes"])
    assert gap * rt["bytes"] <= 64 * 8 * rt["shards"]
    assert r["scoring"]["bits_per_byte"] == pytest.approx(r["scoring"]["bits"] / 1200)
    assert rt["compress_bytes_per_s"] > 0 and rt["decompress_bytes_per_s"] > 0
    # the evaluated bytes are the first 1200 bytes of the split's test part
    from train import split

    test = split.test_bytes_of_checkpoint(run_dir)
    import hashlib

    assert r["test"]["evaluated_sha256"] == hashlib.sha256(test[:1200]).hexdigest()
    assert "verified" in capsys.readouterr().out
    # lm-evaluation-harness's names and definitions (wikitext task), from the scoring pass's bits
    import math
    import re

    lm = r["results"]["lmcompress_medal"]
    bits = r["scoring"]["bits"]
    assert lm["bits_per_byte,none"] == pytest.approx(bits / 1200) == pytest.approx(r["scoring"]["bits_per_byte"])
    assert lm["byte_perplexity,none"] == pytest.approx(2 ** (bits / 1200))
    docs = test[:1200].decode().split("\n\n")  # the corpus's documents are paragraphs
    words = sum(len(re.split(r"\s+", d + "\n\n")) for d in docs[:-1]) + len(re.split(r"\s+", docs[-1]))
    assert lm["words"] == words
    assert lm["word_perplexity,none"] == pytest.approx(math.exp(bits * math.log(2) / words))


def test_lm_eval_word_count_follows_documents():
    from evaluation import lmeval

    assert lmeval.words(b"one two\n\nthree", [9]) == 3 + 1  # "one two\n\n" splits into 3 (a trailing "")
    assert lmeval.words(b"", []) == 0
    r = lmeval.results("t", 8.0, b"\x00\x01", [], modality="audio")["t"]
    assert r["bits_per_byte,none"] == 4.0 and r["byte_perplexity,none"] == 16.0 and "word_perplexity,none" not in r


def test_base_model_without_checkpoint(tiny_model_dir, corpus_file, tmp_path):
    args = eval_args("null", corpus_file, tmp_path, **{
        "model.id": str(tiny_model_dir), "split.train_bytes": 6000, "split.val_bytes": 1500,
        "split.total_bytes": 10000, "context": 32, "eval.context": 32,
        "eval.roundtrip_bytes": 300})
    assert evaluate.main(args) == 0
    r = json.loads((tmp_path / "out.json").read_text())
    assert r["checkpoint"] is None and r["model"]["adapter_sha256"] is None
    assert r["roundtrip"]["verified"] and r["settings"]["context"] == 32


def test_refuses_a_corpus_whose_test_part_differs(run_dir, corpus_file, tmp_path, capsys):
    text = corpus_file.read_text()
    other = tmp_path / "other.txt"
    # same length and paragraphs, one byte changed inside the test part
    m = json.loads((run_dir / "manifest.json").read_text())
    i = m["split"]["test"]["offset"] + 10
    other.write_text(text[:i] + ("X" if text[i] != "X" else "Y") + text[i + 1:])
    rc = evaluate.main(eval_args(run_dir, other, tmp_path))
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lmcompress-eval")]
    assert rc == 1 and len(err) == 1 and "sha256" in err[0]
    assert not (tmp_path / "out.json").exists()


@pytest.fixture(scope="module")
def other_corpus(tmp_path_factory):
    """Another domain (code-like text) that never enters training: the cross-corpus test corpus."""
    import random

    rng = random.Random(1)
    lines = ["def area(radius): return 3.14159 * radius ** 2", "for item in items: total += item.price",
             "if not path.exists(): raise FileNotFoundError(path)", "print(f'{name}: {value:.3f}')"]
    paras = ["\n".join(rng.choice(lines) for _ in range(rng.randint(1, 3))) for _ in range(60)]
    path = tmp_path_factory.mktemp("othercorpus") / "code.txt"
    path.write_text("\n\n".join(paras) + "\n")
    return path


def test_cross_corpus_reports_validation_and_test_apart(run_dir, corpus_file, other_corpus, tmp_path, capsys):
    """test.path: the model is tested on another corpus, and the split's validation part (the
    training domain) is measured and reported separately; both round trips are verified."""
    import hashlib

    args = eval_args(run_dir, corpus_file, tmp_path, **{"test.path": str(other_corpus), "eval.test_bytes": 900,
                                                        "eval.roundtrip_bytes": 300})
    assert evaluate.main(args) == 0
    r = json.loads((tmp_path / "out.json").read_text())
    m = json.loads((run_dir / "manifest.json").read_text())
    src = r["test"]["source"]
    assert src["kind"] == "local" and [f["path"] for f in src["files"]] == [str(other_corpus.resolve())]
    assert r["test"]["evaluated_bytes"] == 900 and r["scoring"]["bytes"] == 900
    assert r["test"]["evaluated_sha256"] == hashlib.sha256(other_corpus.read_bytes()[:900]).hexdigest()
    assert r["roundtrip"]["verified"] and r["roundtrip"]["bytes"] == 300
    v = r["validation"]
    assert v["sha256"] == m["split"]["validation"]["sha256"] and v["source"]["part"] == "validation"
    assert v["evaluated_bytes"] == 900 and v["scoring"]["bytes"] == 900
    assert v["roundtrip"]["verified"] and v["roundtrip"]["bytes"] == 300
    from train import config as config_mod
    from train import split

    cfg = config_mod.compose(eval_args(run_dir, corpus_file, tmp_path))
    val, _, _ = measure.split_part(cfg, measure.read_manifest(run_dir), "validation")
    assert v["evaluated_sha256"] == hashlib.sha256(val[:900]).hexdigest()
    assert val[:900] != other_corpus.read_bytes()[:900]
    # the tuned model knows its own domain better than code it never saw
    assert v["scoring"]["bits_per_byte"] < r["scoring"]["bits_per_byte"]
    out = capsys.readouterr().out
    assert "code.txt" in out and "validation 900 B" in out
    assert split.test_bytes_of_checkpoint(run_dir)[:900] != other_corpus.read_bytes()[:900]


def test_cross_corpus_refuses_the_training_corpus_as_test_source(run_dir, corpus_file, tmp_path, capsys):
    rc = evaluate.main(eval_args(run_dir, corpus_file, tmp_path, **{"test.path": str(corpus_file)}))
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lmcompress-eval")]
    assert rc == 1 and len(err) == 1 and "is the training corpus" in err[0]
    assert not (tmp_path / "out.json").exists()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=0, max_size=40), st.integers(1, 500), st.integers(0, 300))
def test_shard_plan_is_a_partition_at_document_ends(doc_sizes, shard_bytes, trim):
    ends, pos = [], 0
    for s in doc_sizes:
        pos += s
        ends.append(pos)
    total = max(0, pos - trim)
    shards = measure.shard_plan(ends, total, shard_bytes)
    if total == 0:
        assert shards == []
        return
    assert [s for s, _ in shards] == [0] + [e for _, e in shards[:-1]]
    assert (shards[-1][1] if shards else 0) == total
    for _, e in shards[:-1]:
        assert e in ends  # every cut but the last is a document end
    for s, e in shards:
        assert e > s
        inner = [x for x in ends if s < x < e]
        assert e - s <= shard_bytes or not inner  # too long only when one document is


@given(st.integers(0, 60), st.integers(1, 7))
def test_assignment_covers_every_shard_once_for_any_process_count(n, world):
    got = sorted(i for r in range(world) for i in measure.assign(n, r, world))
    assert got == list(range(n))


def test_one_and_two_processes_give_the_same_totals_simulated(run_dir, corpus_file):
    """The shard list is fixed, so summing per-shard results of 2 'processes' equals 1 process."""
    from compress.core.engine import Compressor
    from train import config as config_mod

    cfg = config_mod.compose(eval_args(run_dir, corpus_file, Path("/tmp")))
    data, ends, _ = measure.test_part(cfg, measure.read_manifest(run_dir))
    data = data[:900]
    shards = measure.shard_plan(ends, 900, 300)
    comp = Compressor(str(run_dir), context=32, batch=4, threads=1)
    one = measure.evaluate_shards(comp, data, shards, measure.assign(len(shards), 0, 1),
                                   roundtrip=True, score_batch=4)
    two = [row for r in range(2) for row in measure.evaluate_shards(
        comp, data, shards, measure.assign(len(shards), r, 2), roundtrip=True, score_batch=4)]
    a = measure.summarize(one, shards, roundtrip_shards=len(shards))
    b = measure.summarize(two, shards, roundtrip_shards=len(shards))
    assert a["roundtrip"]["container_bytes"] == b["roundtrip"]["container_bytes"]
    assert a["roundtrip"]["verified"] and b["roundtrip"]["verified"]
    assert a["scoring"]["bits"] == b["scoring"]["bits"]


@pytest.mark.slow
def test_two_cpu_processes_match_one(run_dir, corpus_file, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "evaluation.evaluate",
                          *eval_args(run_dir, corpus_file, tmp_path, **{"eval.output": tmp_path / "p1.json"})],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert one.returncode == 0, one.stderr[-3000:]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "29547", "-m", "evaluation.evaluate",
           *eval_args(run_dir, corpus_file, tmp_path, **{"eval.output": tmp_path / "p2.json"})]
    two = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150)
    assert two.returncode == 0, two.stderr[-3000:]
    a = json.loads((tmp_path / "p1.json").read_text())
    b = json.loads((tmp_path / "p2.json").read_text())
    assert a["settings"]["num_processes"] == 1 and b["settings"]["num_processes"] == 2
    assert {s["process"] for s in b["shards"]} == {0, 1}
    assert a["roundtrip"]["container_bytes"] == b["roundtrip"]["container_bytes"]
    assert a["roundtrip"]["verified"] and b["roundtrip"]["verified"]
    assert a["scoring"]["bits"] == pytest.approx(b["scoring"]["bits"], rel=1e-12)


def test_curve_scores_base_and_every_step_checkpoint(run_dir, corpus_file, tmp_path):
    args = eval_args(run_dir, corpus_file, tmp_path, **{"curve": "true", "eval.test_bytes": 600})
    assert evaluate.main(args) == 0
    r = json.loads((run_dir / "eval" / "curve.json").read_text())
    m = json.loads((run_dir / "manifest.json").read_text())
    assert [p["step"] for p in r["points"]] == [0, 1, 2]
    assert [p["val_bits_per_byte"] for p in r["points"]] == [c["val_bits_per_byte"] for c in m["curve"]]
    assert r["points"][0]["adapter_sha256"] is None and r["points"][2]["adapter_sha256"] == m["adapter_sha256"]
    assert all(p["test_bytes"] == 600 and p["test_bits_per_byte"] > 0 for p in r["points"])
    assert {b["codec"] for b in r["baselines"] if b["status"] == "ok"} >= {"gzip -9", "bzip2 -9", "xz -9e"}
    assert (run_dir / "eval" / "curve.png").stat().st_size > 1000


def test_read_manifest_errors_are_one_line(tmp_path):
    """A directory without a manifest, or with an unreadable one, is a clear lmcompress error."""
    from compress.core.errors import LMCompressError
    from train.errors import CheckpointError

    with pytest.raises(CheckpointError, match="is not an lmcompress checkpoint"):
        measure.read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(LMCompressError, match="unreadable"):
        measure.read_manifest(tmp_path)


def test_payload_corpora_are_coded_as_bytes():
    """An audio or image corpus holds front-end payloads (train/corpus.py), not files: evaluation
    codes them one token per byte, as validation scored them, never through the file front end."""
    from train import config as config_mod

    assert measure.coded_as(config_mod.compose(["recipe=librispeech", "hardware=cpu"])) == ("bytes", {})
    assert measure.coded_as(config_mod.compose(["recipe=kodak_igpt", "hardware=cpu"])) == ("bytes", {})
    assert measure.coded_as(config_mod.compose(["recipe=medal", "hardware=cpu"]))[0] == "text"
