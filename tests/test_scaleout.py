"""Scale-out on a CPU, as far as it goes: which process reads the base weights (train/placement.py),
two gloo processes where rank 1 never reads them, the FSDP accelerate config as accelerate's
launcher reads it, FSDP's even forward count, and QLoRA's validation twin (train/qlora.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from compress.core import models
from train import placement, qlora, trainer
from train.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("is_main,world,fsdp,efficient,want", [
    (True, 1, False, False, placement.READ),
    (False, 1, False, False, placement.READ),
    (True, 8, False, False, placement.READ),
    (False, 8, False, False, placement.BROADCAST),
    (True, 8, True, True, placement.READ),
    (False, 8, True, True, placement.FSDP_META),
    (False, 8, True, False, placement.READ),  # FSDP without ram-efficient loading wraps real modules
])
def test_only_the_main_process_reads_the_weights(is_main, world, fsdp, efficient, want):
    assert placement.plan(is_main=is_main, world=world, fsdp=fsdp, ram_efficient=efficient) == want


def test_empty_base_allocates_no_weights(tiny_model_dir):
    empty = placement.empty_base(str(tiny_model_dir), "float32")
    full, _ = models.load_base(str(tiny_model_dir))
    assert {t.device.type for t in empty.state_dict().values()} == {"meta"}
    assert {n: (t.shape, t.dtype) for n, t in empty.state_dict().items()} == \
        {n: (t.shape, t.dtype) for n, t in full.state_dict().items()}


@pytest.fixture(scope="module")
def tied_tiny_model_dir(tmp_path_factory):
    """Tied input/output embeddings, as smollm2 and gemma have: to_empty must not untie them."""
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-tied"), tie_word_embeddings=True)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["untied", "tied"])
def test_two_gloo_processes_rank1_never_reads_the_weights(which, tiny_model_dir, tied_tiny_model_dir, tmp_path):
    """torchrun, 2 CPU processes: rank 1 builds on meta with weight loading forbidden, receives rank
    0's tensors by broadcast, and ends with exactly rank 0's weights (PLACEMENT_CHECK compares)."""
    model_dir = tiny_model_dir if which == "untied" else tied_tiny_model_dir
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PLACEMENT_CHECK": "1"}
    port = "29541" if which == "untied" else "29542"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           str(ROOT / "tests" / "placement_worker.py"), str(model_dir), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["how"] == placement.READ and r1["how"] == placement.BROADCAST
    full, _ = models.load_base(str(model_dir))
    assert r0["base_sha256"] == models.sha256_parameters(full) and r1["base_sha256"] is None
    assert r0["placed_sha256"] == r1["placed_sha256"] == r0["base_sha256"]
    assert r1["devices"] == ["cpu"] and r0["tied"] == r1["tied"] == (which == "tied")


def test_fsdp_config_is_what_the_placement_expects(monkeypatch):
    """accelerate's own launcher parses accelerate_config_fsdp.yaml into the environment the
    training processes see: FSDP2, ram-efficient loading (so rank 1 builds on meta), sharded state."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = launch_command_parser().parse_args(
        ["--config_file", str(ROOT / "accelerate_config_fsdp.yaml"), str(ROOT / "train" / "lora.py")])
    args, *_ = _validate_launch_command(args)
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    assert env["FSDP_CPU_RAM_EFFICIENT_LOADING"] == "true" and env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and args.num_processes == 8
    for key in ("ACCELERATE_USE_FSDP", "FSDP_CPU_RAM_EFFICIENT_LOADING"):
        monkeypatch.setenv(key, env[key])
    assert placement.plan(is_main=False, world=8, fsdp=placement.fsdp_enabled(),
                          ram_efficient=placement.fsdp_ram_efficient()) == placement.FSDP_META


def test_fsdp_ranks_run_the_same_number_of_forwards(tiny_model_dir):
    """9 validation segments over 2 ranks in batches of 4: rank 0 scores 5 (2 batches), rank 1
    scores 4 (1 batch) and must run one more forward, or FSDP's all-gathers would hang."""
    model, _ = models.load_base(str(tiny_model_dir))
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    assert trainer.equal_forwards(model, 9, 5, 4, 2, 0, "cpu") == 0 and not calls
    assert trainer.equal_forwards(model, 9, 4, 4, 2, 0, "cpu") == 1 and len(calls) == 1


def _lora_config():
    from peft import LoraConfig

    return LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                      task_type="CAUSAL_LM")


def test_qlora_validation_twin_scores_the_trained_adapter(tiny_model_dir):
    """The twin (the unquantized base plus a copy of the adapter) gives the trained model's logits
    once synced, and not before: validation measures the adapter on the base the coder loads."""
    from peft import get_peft_model

    torch.manual_seed(0)
    trained = get_peft_model(models.load_base(str(tiny_model_dir))[0], _lora_config())
    trained.train()
    opt = torch.optim.AdamW([p for p in trained.parameters() if p.requires_grad], lr=1e-2)
    ids = torch.randint(0, 200, (2, 16))
    for _ in range(3):  # a few real optimizer steps, so lora_B is no longer zero
        trained(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    trained.eval()
    twin = qlora.validation_twin(models.load_base(str(tiny_model_dir))[0], trained.peft_config["default"])
    assert not any(p.requires_grad for p in twin.parameters())
    with torch.no_grad():
        want = trained(input_ids=ids).logits
        assert not torch.allclose(twin(input_ids=ids).logits, want, atol=1e-4)
        assert qlora.sync_adapter(trained, twin) == 8  # A and B of q_proj and v_proj, 2 layers
        assert torch.allclose(twin(input_ids=ids).logits, want, atol=1e-6)


def test_qlora_twin_refuses_another_adapter_shape(tiny_model_dir):
    from peft import LoraConfig, get_peft_model

    trained = get_peft_model(models.load_base(str(tiny_model_dir))[0], _lora_config())
    other = LoraConfig(r=4, lora_alpha=8, target_modules=["k_proj"], task_type="CAUSAL_LM")
    twin = qlora.validation_twin(models.load_base(str(tiny_model_dir))[0], other)
    with pytest.raises(RuntimeError, match="differs"):
        qlora.sync_adapter(trained, twin)


def test_qlora_with_fsdp_is_refused(monkeypatch):
    from omegaconf import OmegaConf

    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    cfg = OmegaConf.create({"model": {"id": "x", "dtype": "bfloat16", "load_in_4bit": True, "init": "pretrained"}})
    with pytest.raises(ConfigError, match="FSDP"):
        trainer.load_model(cfg, accelerator=None)


@pytest.mark.slow
def test_fsdp2_on_cpu_saves_the_trained_adapter(tiny_model_dir, tmp_path):
    """torch's FSDP2 (fully_shard) on 2 gloo processes: the adapter written from the gathered full
    state dict equals an unsharded copy's after the same optimizer step. accelerate itself enables
    FSDP only for GPU launches, so this exercises the torch and PEFT halves of the save path."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29543",
           str(ROOT / "tests" / "fsdp_worker.py"), str(tiny_model_dir), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"fsdp{i}.json").read_text()) for i in (0, 1))
    assert r0["full_keys"] > 0 and r1["full_keys"] == 0  # gathered on rank 0 only (cpu_offload)
    assert r0["saved_keys"] == r0["want_keys"] and len(r0["saved_keys"]) == 8
    assert r0["all_moved"] and r0["max_diff"] < 1e-6
    assert (tmp_path / models.ADAPTER_WEIGHTS).is_file() and (tmp_path / "adapter_config.json").is_file()
