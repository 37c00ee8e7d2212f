"""Ending a command that may have been one rank of a torchrun (or `accelerate launch`) group.

Why this exists: on the CPU's gloo backend a rank can abort in torch's C++ teardown after its
work is done, its files are written and its process group is destroyed: "terminate called without an
active exception", SIGABRT, with no Python frame left (the symptom of pytorch/pytorch#190489). It
was seen beside a busy CPU in both of the test suite's torchrun workers (6 aborts in 26 runs of one of
them). torchrun then reports the whole launch as failed and sends SIGTERM to the other ranks, so a
finished run reads as a crash. Such a process therefore leaves with `os._exit` once Python's own
closing work (logging, stdout, stderr) is done by hand; the interpreter's teardown, where the abort
happens, is skipped. A plain single-process command exits the normal way.
"""

import logging
import os
import sys
from typing import NoReturn


def was_a_rank() -> bool:
    """True in a process that torchrun started as one of several ranks (WORLD_SIZE > 1) and that
    imported torch.distributed: the only processes that own gloo threads to tear down."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return False
    return world > 1 and "torch.distributed" in sys.modules


def exit_process(status: int | None) -> NoReturn:
    """Exit with `status` (None means 0), skipping the interpreter's teardown in a rank (was_a_rank).
    Call it with the command's status after its work returned: the files it wrote are closed by then,
    and an exception still propagates as usual, since this line is never reached."""
    status = 0 if status is None else int(status)
    if not was_a_rank():
        sys.exit(status)
    logging.shutdown()  # what the skipped atexit hooks would have flushed
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing left to save
            pass
    os._exit(status)
