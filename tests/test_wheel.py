"""The built wheel works outside the checkout: recipes inside, console scripts, no shadowing.

Builds the wheel from a copy of the sources (setuptools, no build isolation, no network), installs
it with --no-deps into a fresh venv that sees this interpreter's site-packages (torch is not
installed twice), and runs the console scripts from an unrelated directory that holds a user's own
train.py, as a new user would after `pip install lmcompress`.
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "compress", "evaluation", "train", "recipes")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    import shutil

    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(dist), str(src)], check=True, capture_output=True)
    (built,) = dist.glob("lmcompress-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed on top of this interpreter's packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(env_dir)],
                   check=True)
    python = env_dir / "bin" / "python"
    # the outer pip, run by the venv's interpreter, installs into the venv (sys.prefix)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    return env_dir


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory far from the checkout, with a user's own train.py in it."""
    (tmp_path / "train.py").write_text('raise SystemExit("the user\'s train.py was imported")\n')
    return tmp_path


def run(venv: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    exe = str(venv / "bin" / args[0]) if (venv / "bin" / args[0]).exists() else args[0]
    return subprocess.run([exe, *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = sorted(p.relative_to(ROOT / "recipes").as_posix() for p in (ROOT / "recipes").rglob("*.yaml"))
    assert recipes and all(f"train/recipes/{r}" in names for r in recipes), "recipes missing from the wheel"
    assert "evaluation/evaluate.py" in names and "train/lora.py" in names and "train/trainer.py" in names
    assert not any(n.startswith(("tests/", "bench/", "checkpoints/")) or n.endswith(".whl") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ("lmcompress = compress.cli:main", "lmcompress-train = train.trainer:command",
                   "lmcompress-eval = evaluation.evaluate:command"):
        assert script in text


def test_installed_package_is_the_wheel_not_the_checkout(venv, elsewhere):
    out = run(venv, ["python", "-P", "-c", "import compress, train.config as c; print(compress.__file__); "
                     "print(c.RECIPES_DIR)"], elsewhere)
    assert out.returncode == 0, out.stderr
    module, recipes = out.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(recipes).is_relative_to(venv)
    assert Path(recipes).name == "recipes" and Path(recipes).parent.name == "train"


def test_console_scripts_find_their_recipes_from_any_directory(venv, elsewhere):
    for script in ("lmcompress-train", "lmcompress-eval"):
        out = run(venv, [script, "recipe=no_such_recipe"], elsewhere)
        assert out.returncode == 1, out.stderr
        assert "unknown recipe 'no_such_recipe' (choose from" in out.stderr and "medal" in out.stderr
        assert "Primary config directory not found" not in out.stderr
    out = run(venv, ["lmcompress-train", "--help"], elsewhere)
    assert out.returncode == 0 and "medal" in out.stdout and "pile_of_law" in out.stdout
    out = run(venv, ["lmcompress", "--help"], elsewhere)
    assert out.returncode == 0 and "--decompress" in out.stdout


def test_entry_points_ignore_a_users_train_py(venv, elsewhere):
    """The console scripts never see the working directory's modules; `python -m` puts the
    working directory first on the import path (Python's rule, which this package no longer
    overrides), so from a directory holding a train.py of one's own the module form needs -P."""
    for args in (["lmcompress-eval", "recipe=no_such_recipe"],
                 ["python", "-P", "-m", "evaluation", "recipe=no_such_recipe"]):
        out = run(venv, args, elsewhere)
        assert "the user's train.py was imported" not in out.stderr + out.stdout
        assert out.returncode == 1 and "unknown recipe 'no_such_recipe'" in out.stderr
