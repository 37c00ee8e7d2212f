"""Dependency ranges and the library APIs they admit.

pyproject.toml states ranges, constraints.txt the exact versions the benchmarks were made with; the
two must agree, and the installed versions must lie inside the ranges. The KV-cache keyword the
stepper passes must be the one the model's forward() declares, so a transformers release that drops
`past_key_values` (announced for 5.40) cannot silently turn the cache off.
"""

import tomllib
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

from compress.core import stepper

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_MODEL = ROOT / "tests" / "golden" / "tiny-llama"


def requirements() -> dict:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in meta["dependencies"]]
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += [Requirement(r) for r in extra]
    return {r.name.lower(): r for r in reqs}


def constraints() -> dict:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt must pin exact versions, got {line!r}"
            out[name.strip().lower()] = pinned.strip()
    return out


def test_no_exact_pins_in_the_dependencies():
    for name, req in requirements().items():
        if name in ("constriction",):  # the coder's bits depend on it: pinned by design (house style)
            continue
        if name.startswith("gemma3-270m"):  # model weights: the alias checks the GGUF's sha256
            continue
        assert not any(s.operator == "==" for s in req.specifier), f"{name} is pinned exactly: {req}"


def test_constraints_lie_inside_the_ranges():
    reqs, pins = requirements(), constraints()
    assert {"torch", "transformers"} <= set(pins)
    for name, pinned in pins.items():
        if name in reqs:
            assert reqs[name].specifier.contains(pinned, prereleases=True), f"{name}=={pinned} outside {reqs[name]}"


@pytest.mark.parametrize("name", ["torch", "transformers", "peft", "accelerate"])
def test_installed_versions_lie_inside_the_ranges(name):
    installed = Version(version(name)).base_version  # 2.13.0+cpu -> 2.13.0
    assert requirements()[name].specifier.contains(installed), f"{name} {installed} outside {requirements()[name]}"


def test_torch_range_admits_newer_builds_and_refuses_older_than_transformers_needs():
    spec = requirements()["torch"].specifier
    assert spec.contains("2.14.1") and spec.contains("2.15.0") and not spec.contains("2.5.1")


def test_cache_keyword_is_read_from_the_forward_signature():
    class Renamed(torch.nn.Module):
        def forward(self, input_ids=None, cache=None, use_cache=None, **kwargs):
            return None

    class Older(torch.nn.Module):
        def forward(self, input_ids=None, past_key_values=None, use_cache=None, **kwargs):
            return None

    assert stepper.cache_keyword(Renamed()) == "cache"
    assert stepper.cache_keyword(Older()) == "past_key_values"


def test_stepping_uses_no_deprecated_keyword():
    """The installed transformers' own model: no FutureWarning, and the cache is really used (a
    step's logits depend on the tokens before it)."""
    from compress.core import models

    model, _ = models.load_base(str(GOLDEN_MODEL))
    tokens = np.random.default_rng(0).integers(0, model.config.vocab_size, size=(2, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        a = stepper.Stepper(model, 2, 6)
        b = stepper.Stepper(model, 2, 6)
        for t in range(5):
            a.step(tokens[:, t])
        b.step(tokens[:, 4])
        last_a, last_b = a.step(tokens[:, 5]), b.step(tokens[:, 5])
    assert a.cache_keyword in ("cache", "past_key_values")
    assert not torch.allclose(last_a, last_b)
