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
