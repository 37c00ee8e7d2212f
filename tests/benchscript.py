"""Load a bench script (bench/<name>.py) as a module for a test, as `python bench/<name>.py` would
run it: its directory is on sys.path while it is imported, so its `from common import ...` finds
bench/common.py."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module
