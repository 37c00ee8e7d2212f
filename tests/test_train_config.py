"""Recipes compose through Hydra with the paper's values; hardware=cpu scales them to a 2-core CPU;
train/schema.py types every key, so bad keys and values fail while composing, as one line."""

import pytest
from omegaconf.errors import ValidationError

from train import config
from train.errors import ConfigError

RECIPES = ["medal", "pile_of_law", "librispeech", "ljspeech"]
MiB = 1 << 20


@pytest.mark.parametrize("name", RECIPES)
def test_paper_scale_recipe(name):
    cfg = config.compose([f"recipe={name}"])
    assert cfg.name == name
    assert cfg.model.id == "meta-llama/Meta-Llama-3-8B"
    assert cfg.model.dtype == "bfloat16" and cfg.train.mixed_precision == "bf16"
    assert cfg.model.load_in_4bit is False
    assert cfg.lora.r == 8 and cfg.lora.alpha == 32
    assert list(cfg.lora.target_modules) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert cfg.context == 1024
    assert cfg.split.train_bytes == 64 * MiB and cfg.split.val_bytes == 16 * MiB
    assert 175_000_000 <= cfg.split.total_bytes <= 190_000_000  # "the first ~180 MB"
    assert cfg.data.path is None  # the hub is the default source


def test_recipe_domains():
    hub = {n: config.compose([f"recipe={n}"]).data for n in RECIPES}
    assert hub["medal"].hub.id == "McGill-NLP/medal" and hub["medal"].modality == "text"
    assert hub["pile_of_law"].hub.id == "pile-of-law/pile-of-law"
    assert hub["pile_of_law"].hub.builder == "json" and "eurlex" in hub["pile_of_law"].hub.data_files
    assert hub["librispeech"].hub.id == "openslr/librispeech_asr" and hub["librispeech"].modality == "audio"
    assert hub["librispeech"].hub.data_files == "clean/validation/*.parquet"  # dev-clean
    # the paper's protocol: fine-tune on LibriSpeech, test on LJSpeech (never in fine-tuning)
    lj = config.compose(["recipe=ljspeech"])
    assert lj.data.hub.id == "openslr/librispeech_asr" and lj.data.modality == "audio"
    assert lj.test.hub.id == "keithito/lj_speech" and lj.test.path is None
    assert config.compose(["recipe=medal"]).test.hub.id is None  # default: the split's test part
    other = config.compose(["recipe=medal", "test.hub.id=keithito/lj_speech", "test.hub.builder=parquet"])
    assert other.test.hub.id == "keithito/lj_speech" and other.test.hub.split == "train"


@pytest.mark.parametrize("name", RECIPES)
def test_cpu_profile(name):
    cfg = config.compose([f"recipe={name}", "hardware=cpu"])
    assert cfg.model.id == "smollm2-135m" and cfg.model.dtype == "float32"
    assert cfg.train.mixed_precision == "no"
    if name != "librispeech":  # recipes/tuning/librispeech_cpu.yaml: the codec2 split (test below)
        assert cfg.split.train_bytes == 2 * MiB and cfg.split.val_bytes == MiB // 2
        assert cfg.split.total_bytes == 2 * MiB + MiB // 2 + MiB
    assert cfg.train.batch_size == 1 and cfg.train.grad_accum > 1 and cfg.train.max_steps > 0
    assert cfg.eval.max_bytes is not None
    assert cfg.lora.r == 8 and cfg.lora.alpha == 32 and cfg.context == 1024  # the paper's rank and context
    assert {"q_proj", "k_proj", "v_proj", "o_proj"} <= set(cfg.lora.target_modules)  # (+ MLP on CPU)


def test_overrides_and_qlora():
    cfg = config.compose(["recipe=medal", "train.max_steps=200", "data.path=../shared/data/x.txt",
                          "model.load_in_4bit=true", "run=abc"])
    assert cfg.train.max_steps == 200 and cfg.data.path == "../shared/data/x.txt"
    assert cfg.model.load_in_4bit is True and cfg.run == "abc"


@pytest.mark.parametrize("overrides, fragment", [
    (["recipe=nope"], "unknown recipe 'nope' (choose from clic, ilsvrc, kodak_igpt, librispeech, librispeech_bgpt, "
                      "ljspeech, medal, pile_of_law, pystdlib, video_mc)"),
    ([], "choose a recipe"),
    (["recipe=medal", "hardware=tpu"], "unknown hardware 'tpu'"),
    (["recipe=medal", "train.nope=1"], "train.nope"),
    (["recipe=medal", "train.max_steps=0"], "train.max_steps"),
    (["recipe=medal", "train.max_steps=abc"], "train.max_steps must be an integer or null, got 'abc'"),
    (["recipe=medal", "lora.r=4.5"], "lora.r must be an integer, got 4.5"),
    (["recipe=medal", "model.load_in_4bit=maybe"], "model.load_in_4bit must be true or false, got 'maybe'"),
    (["recipe=medal", "train.threads=many"], "train.threads must be a positive integer, auto or null, got 'many'"),
    (["recipe=medal", "train.threads=0"], "train.threads must be a positive integer"),
    (["recipe=medal", "train.resume=maybe"], "train.resume must be auto, true or false"),
    (["recipe=medal", "model.dtype=int8"], "model.dtype must be one of float32, bfloat16, float16"),
    (["recipe=medal", "train.mixed_precision=fp8"], "train.mixed_precision must be one of"),
    (["recipe=medal", "split.total_bytes=10"], "split.total_bytes"),
    (["recipe=medal", "run=../x"], "run must be"),
    (["medal"], "key=value"),
    (["recipe=medal", "+lora.rank=16"], "unknown key 'lora.rank' (lora has: r, alpha"),
    (["recipe=medal", "lora.rank=16"], "unknown key 'lora.rank'"),
    (["recipe=medal", "+trian.lr=1"], "unknown key 'trian' (did you mean train?"),
    (["recipe=medal", "+train.save_total_limt=2"], "did you mean train.save_total_limit?"),
    (["recipe=medal", "++lora.rank=16"], "unknown key 'lora.rank'"),
    (["recipe=medal", "+model=byte_1b"], "unknown model 'byte_1b' (choose from byte_25m, byte_800k)"),
    (["recipe=medal", "test.path=x", "test.hub.id=y"], "give one test source"),
    (["recipe=medal", "test.hub.builder=json"], "set test.hub.id"),
    (["recipe=medal", "data.path={a: 1}"], "data.path must be a path or a list of paths"),
    (["recipe=medal", "eval.shard_bytes=0"], "eval.shard_bytes must be an integer >= 1"),
    (["recipe=medal", "train.save_total_limit=0"], "train.save_total_limit must be an integer >= 1 or null"),
    (["recipe=medal", "log.with=[tb]"], "log.with: unknown tracker 'tb'"),
    (["recipe=medal", "log.with=tensorboard"], "log.with must be a list of strings, got 'tensorboard'"),
    (["recipe=medal", "log.level=loud"], "log.level must be one of debug, info, warning, error"),
])
def test_bad_config_is_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as err:
        config.compose(overrides)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_compose_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config.compose(["recipe=medal"])
    assert list(tmp_path.iterdir()) == []


def test_training_threads_auto_shares_the_cores(monkeypatch):
    """`accelerate launch` exports OMP_NUM_THREADS=1; train.threads=auto (the default) gives each
    process its share of the machine's cores instead (bad values: test_bad_config_is_one_line)."""
    import os

    from train.trainer import intra_op_threads

    assert config.compose(["recipe=medal", "hardware=cpu"]).train.threads == "auto"
    assert config.compose(["recipe=medal", "train.threads=2"]).train.threads == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert intra_op_threads("auto", 1) == 8
    assert intra_op_threads("auto", 2) == 4
    assert intra_op_threads("auto", 16) == 1
    assert intra_op_threads(3, 2) == 3
    assert intra_op_threads(None, 2) is None


SCRATCH_RECIPES = {"ilsvrc": "image", "clic": "image", "kodak_igpt": "image", "librispeech_bgpt": "audio",
                   "video_mc": "video"}


@pytest.mark.parametrize("name", sorted(SCRATCH_RECIPES))
def test_scratch_recipes_compose(name):
    """bGPT / image-GPT recipes train a byte-level model from scratch; hardware=cpu picks up their
    recipes/tuning/<recipe>_cpu.yaml (model and split sized for 2 cores) where one exists."""
    cfg = config.compose([f"recipe={name}"])
    assert cfg.model.init == "scratch" and cfg.data.modality == SCRATCH_RECIPES[name]
    assert cfg.model.arch.hidden_size >= 256 and cfg.context == 1024
    cpu = config.compose([f"recipe={name}", "hardware=cpu"])
    assert cpu.model.init == "scratch" and cpu.model.dtype == "float32"
    if name in ("kodak_igpt", "librispeech_bgpt", "video_mc"):
        assert cpu.model.arch.hidden_size < cfg.model.arch.hidden_size and cpu.context == 512
        assert cpu.split.train_bytes != config.compose(["recipe=medal", "hardware=cpu"]).split.train_bytes
    if SCRATCH_RECIPES[name] == "image":
        assert cfg.data.frontend.order == "strips"
    if name == "kodak_igpt":  # recipes/tuning/kodak_igpt_cpu.yaml: 1.5 epochs in the hour under bf16 autocast
        assert (cpu.train.max_steps, cpu.train.mixed_precision) == (17280, "bf16")
        assert cfg.train.mixed_precision == "bf16" and cpu.data.frontend.predictor == "med-green"
    if name == "video_mc":  # the payload bench/video_model.py --predictor mc-intra codes
        assert dict(cfg.data.frontend) == {"predictor": "mc-intra", "group": 8}
        assert cfg.data.hub.id is None and cfg.data.path is None  # synthetic clips: data.path=DIR


def test_video_mc_cpu_split_falls_on_clip_boundaries():
    """recipes/tuning/video_mc_cpu.yaml: train, validation and test are whole synthetic clips (16
    frames of 176x144 4:2:0, groups of 8: 16 x 38,016 pixel bytes + 14 x 1,980 motion bytes), so no
    photograph's clips straddle two parts (the recipe's command has train/synthvideo.py write four
    per photograph)."""
    from compress.media import motion

    clip = 16 * 176 * 144 * 3 // 2 + 14 * motion.side_bytes_per_frame(144, 176)
    split = config.compose(["recipe=video_mc", "hardware=cpu"]).split
    assert clip == 635_976
    assert (split.train_bytes, split.val_bytes, split.total_bytes) == (56 * clip, 8 * clip, 72 * clip)


def test_tuning_applies_only_to_its_recipe_and_hardware():
    """recipes/tuning/pile_of_law_cpu.yaml gives legal text 90 steps on CPU and medal_cpu.yaml medical
    text its swept rate, batch and LoRA dropout; other recipes keep the profile's 60 steps and rate, the GPU
    profile is untouched, and a command-line override still wins."""
    legal = config.compose(["recipe=pile_of_law", "hardware=cpu"])
    medal = config.compose(["recipe=medal", "hardware=cpu"])
    assert (legal.train.max_steps, legal.train.save_every) == (90, 18)
    assert (medal.train.max_steps, medal.train.save_every) == (60, 12)
    # recipes/tuning/medal_cpu.yaml: the rate and tokens per step of the validation sweep, medal only
    assert (medal.train.lr, medal.train.grad_accum, medal.lora.dropout) == (4.0e-3, 12, 0.0)
    assert (legal.train.lr, legal.train.grad_accum, legal.lora.dropout) == (1.0e-3, 4, 0.05)
    assert config.compose(["recipe=medal", "hardware=gpu"]).train.lr != 4.0e-3
    assert config.compose(["recipe=pile_of_law", "hardware=gpu"]).train.max_steps != 90
    assert config.compose(["recipe=pile_of_law", "hardware=cpu", "train.max_steps=7"]).train.max_steps == 7


def test_audio_lora_recipes_code_lpc_residuals_and_share_the_bgpt_cpu_split():
    """The LLM audio recipes train on LPC residuals (the front end the coder then uses, from the
    manifest); on CPU, librispeech trains on the same files as librispeech_bgpt (same split) and
    validates on 16 KiB, since audio is one token per byte."""
    for name in ("librispeech", "ljspeech"):
        for hw in ("gpu", "cpu"):
            assert config.compose([f"recipe={name}", f"hardware={hw}"]).data.frontend.predictor == "lpc"
    lora = config.compose(["recipe=librispeech", "hardware=cpu"])
    bgpt = config.compose(["recipe=librispeech_bgpt", "hardware=cpu"])
    assert dict(lora.split) == dict(bgpt.split)
    assert lora.model.init == "pretrained" and lora.model.id == "smollm2-135m" and lora.context == 1024
    assert (lora.train.max_steps, lora.train.eval_every, lora.eval.max_bytes) == (60, 20, 16384)
    assert config.compose(["recipe=librispeech", "hardware=gpu"]).split.train_bytes == 64 * 2**20


def test_every_recipe_composes_with_every_profile():
    """Hydra merges each file onto train/schema.py's typed nodes, so a recipe, profile or tuning
    file with an undeclared key or a wrongly typed value would fail here."""
    for recipe in config.options("recipe"):
        for hardware in config.options("hardware"):
            assert config.compose([f"recipe={recipe}", f"hardware={hardware}"]).name == recipe


def test_byte_models_come_from_the_model_group():
    """recipes/model/ holds the byte models once: the GPU scratch recipes share byte_25m, the
    *_cpu tuning files byte_800k; `+model=...` picks one on the command line."""
    from omegaconf import OmegaConf

    def arch(*overrides):
        return OmegaConf.to_container(config.compose(list(overrides)).model.arch)

    gpu = {arch(f"recipe={r}")["hidden_size"] for r in SCRATCH_RECIPES}
    assert gpu == {512}
    assert arch("recipe=kodak_igpt", "hardware=cpu") == arch("recipe=librispeech_bgpt", "hardware=cpu")
    assert arch("recipe=kodak_igpt", "hardware=cpu")["num_hidden_layers"] == 4
    small = config.compose(["recipe=librispeech_bgpt", "+model=byte_800k"])
    assert small.model.init == "scratch" and small.model.arch.hidden_size == 128 and small.context == 1024
    assert config.options("model") == ["byte_25m", "byte_800k"]


@pytest.mark.parametrize("text, fragment", [
    ("train:\n  max_steps: abc\n", "recipes/recipe/bad.yaml: train.max_steps must be an integer or null, got 'abc'"),
    ("lora:\n  alpah: 4\n", "recipes/recipe/bad.yaml: unknown key 'lora.alpah' (did you mean lora.alpha?"),
    ("", "data.hub.id has no value"),
])
def test_a_bad_recipe_file_is_named(text, fragment, tmp_path, monkeypatch):
    import shutil

    recipes = tmp_path / "recipes"
    shutil.copytree(config.RECIPES_DIR, recipes)
    (recipes / "recipe" / "bad.yaml").write_text("# @package _global_\nname: bad\n" + text)
    monkeypatch.setattr(config, "RECIPES_DIR", recipes)
    with pytest.raises(ConfigError) as err:
        config.compose(["recipe=bad"])
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_declared_keys_take_a_plus_and_stay_typed():
    """`+key=value` on a declared key sets it (Hydra alone would refuse to append an existing key)."""
    cfg = config.compose(["recipe=medal", "+lora.r=4", "+test.hub.id=x/y"])
    assert cfg.lora.r == 4 and cfg.test.hub.id == "x/y"
    with pytest.raises(ValidationError):
        cfg.lora.r = "four"  # the composed config keeps its types


def test_front_end_options_stay_free_form():
    cfg = config.compose(["recipe=medal", "+data.frontend.order=2"])
    assert cfg.data.frontend.order == 2


def test_print_config_prints_the_resolved_config_and_exits(tmp_path, monkeypatch, capsys):
    from train import trainer

    monkeypatch.chdir(tmp_path)
    assert trainer.main(["recipe=medal", "hardware=cpu", "lora.r=4", "print_config=true"]) == 0
    out = capsys.readouterr().out
    assert "lora:\n  r: 4\n" in out and "name: medal" in out and "${" not in out
    assert list(tmp_path.iterdir()) == [], "print_config wrote something"
