"""bench/common.py's helpers that every model bench's JSON rests on."""

import benchscript


def test_training_facts_come_from_the_manifest_and_the_weights_file(tiny_model_dir):
    common = benchscript.common()
    manifest = {"step": 720, "tokens_seen": 2_943_360,
                "curve": [{"step": 0, "seconds": 0.0}, {"step": 360, "seconds": 101.5},
                          {"step": 720, "seconds": 204.25}]}
    facts = common.training_facts(str(tiny_model_dir), manifest)
    assert facts == {"steps": 720, "tokens_seen": 2_943_360, "seconds": 204.25,
                     "weights_bytes": (tiny_model_dir / "model.safetensors").stat().st_size}
    assert facts["weights_bytes"] > 0


def test_training_facts_say_none_for_what_a_checkpoint_does_not_record(tmp_path):
    common = benchscript.common()
    assert common.training_facts(str(tmp_path), {}) == {
        "steps": None, "tokens_seen": None, "seconds": None, "weights_bytes": None}


def test_training_facts_weigh_a_lora_checkpoint_by_its_adapter_file(tmp_path):
    from compress.core.models import ADAPTER_WEIGHTS

    common = benchscript.common()
    (tmp_path / ADAPTER_WEIGHTS).write_bytes(b"\0" * 1234)
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 99)  # not what a LoRA checkpoint adds
    facts = common.training_facts(str(tmp_path), {"step": 60, "adapter_sha256": "ab" * 32})
    assert facts["weights_bytes"] == 1234
