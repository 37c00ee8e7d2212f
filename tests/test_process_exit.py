"""train/process_exit.py: a torchrun rank leaves with its status and its output, without the
interpreter's teardown; every other process exits the ordinary way (atexit hooks run)."""

import os
import subprocess
import sys

import pytest

SCRIPT = """
import atexit, sys
atexit.register(lambda: print("teardown ran", end=""))
if {import_dist}:
    import torch.distributed
from train.process_exit import exit_process
print("work done;", end="")            # no newline: still in the buffer of a piped stdout
print("to stderr;", end="", file=sys.stderr)
exit_process({status})
"""


def run(status, *, world: str | None, import_dist: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    if world is not None:
        env["WORLD_SIZE"] = world
    code = SCRIPT.format(import_dist=import_dist, status=status)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("status", [0, 3])
def test_a_rank_skips_the_teardown_but_keeps_its_status_and_output(status):
    proc = run(status, world="2", import_dist=True)
    assert proc.returncode == status
    assert proc.stdout == "work done;"  # flushed by hand; the atexit hook did not run
    assert proc.stderr == "to stderr;"


@pytest.mark.parametrize("world,import_dist", [(None, True), ("1", True), ("2", False), ("two", True)])
def test_any_other_process_exits_the_ordinary_way(world, import_dist):
    proc = run(3, world=world, import_dist=import_dist)
    assert proc.returncode == 3
    assert proc.stdout == "work done;teardown ran"


def test_none_is_status_zero():
    assert run(None, world="2", import_dist=True).returncode == 0
    assert run(None, world=None, import_dist=False).returncode == 0


def test_the_installed_commands_and_scripts_leave_through_it():
    """Both launch forms (`accelerate launch train/lora.py`, the console scripts) end in exit_process.
    The console scripts' targets (`train.trainer:command`, `evaluation.evaluate:command`) are pinned in
    the built wheel by tests/test_wheel.py::test_wheel_contents."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for script in ("train/lora.py", "evaluation/__main__.py"):
        assert "command()" in (root / script).read_text()
    for worker in ("tests/fsdp_worker.py", "tests/placement_worker.py"):
        assert "exit_process(0)" in (root / worker).read_text()
