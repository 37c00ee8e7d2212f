"""Load a bench script (bench/<name>.py) as a module for a test, as `python bench/<name>.py` would
run it: its `from common import ...` gets bench/common.py, registered once as the module `common`
(the project edits no import path: test_layers.test_no_sys_path_edits)."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _exec(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def common():
    """bench/common.py, registered as the module `common` the bench scripts import."""
    if "common" not in sys.modules:
        sys.modules["common"] = _exec("common")
    return sys.modules["common"]


def load(name: str):
    common()
    return _exec(name)
