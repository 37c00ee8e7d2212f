"""Running the `lmcompress` command line in a subprocess, as a user would: the tests' one runner."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the checkout on the path, and no hub access: a test never downloads
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def lmc(*args, stdin=None, cwd=None, env=None, timeout=300, **kw) -> subprocess.CompletedProcess:
    """`python -m compress ARGS` with bytes in and out; `env` replaces ENV when given."""
    return subprocess.run([sys.executable, "-m", "compress", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd, env=ENV if env is None else env, timeout=timeout, **kw)
