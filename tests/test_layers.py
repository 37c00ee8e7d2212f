"""The architecture as a test: which package may import which, and no import circles.

Layers, lowest first; a module may import its own layer and the layers below, never above:

    compress.core    the probability path, coder, container (imports only itself)
    compress.media   audio / image / video front ends (register with compress.core.frontends)
    compress         the program: the package's public API, the CLI and its file policy
    train            recipes -> checkpoints
    evaluation       bits per byte, round trips, curves, baselines, the demo

Every import counts, including the ones inside functions (lazy imports still couple modules).
The graph is read from the source with `ast`, so the test needs none of the heavy libraries.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["compress.core", "compress.media", "compress", "train", "evaluation"]
PACKAGES = ("compress", "train", "evaluation")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """Index in LAYERS of the most specific layer holding `module`."""
    best = None
    for i, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            if best is None or len(layer) > len(LAYERS[best]):
                best = i
    assert best is not None, module
    return best


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports (resolving `from pkg import module` to the module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # the longest project module that `name` is or lies inside
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in modules:
                    found.add(candidate)
                    break
    found.discard(here)
    return found


def project_graph() -> dict[str, set[str]]:
    paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


GRAPH = project_graph()


def test_the_graph_sees_the_layers():
    # a guard against a test that cannot fail: the graph holds the known downward edges
    assert "compress.core.container" in GRAPH["compress.core.engine"]
    assert "compress.core.frontends" in GRAPH["compress.media.audio"]
    assert any(m.startswith("train") for m in GRAPH["evaluation.evaluate"])
    assert any(m.startswith("compress.core") for m in GRAPH["train.trainer"])


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_downward(module):
    mine = layer_of(module)
    upward = sorted(m for m in GRAPH[module] if layer_of(m) > mine)
    assert not upward, f"{module} ({LAYERS[mine]}) imports a higher layer: {upward}"


def test_no_import_circle():
    # the package __init__ files are left out: importing a submodule runs its parents' __init__
    # by Python's rules, which is not a dependency the module chose
    graph = {m: {d for d in deps if not (ROOT / (d.replace('.', '/')) / "__init__.py").exists()}
             for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_sys_path_edits():
    offenders = [f"{p.relative_to(ROOT)}:{i}" for d in ("compress", "train", "evaluation", "bench", "tests")
                 for p in (ROOT / d).rglob("*.py") if p.name != "test_layers.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if "sys.path" in line]
    assert not offenders, f"sys.path edited (install the package instead: make setup): {offenders}"
