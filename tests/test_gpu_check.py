"""bench/gpu_check.sh is only run in full on a GPU (or with --dry, minutes on CPU): here, that it
parses and names the four checks it owes, so an edit that breaks it shows up before a GPU is lent."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu_check.sh"


def test_gpu_check_parses_and_names_its_checks():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
    text = SCRIPT.read_text()
    for check in ("lora_bf16", "roundtrip", "cpu_container", "two_process"):
        assert f" {check} " in text
    assert "--dry" in text and "DEVICE" in text
