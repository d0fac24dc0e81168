# The two commands of the README:
#   make demo   set up .venv, export tiny random-weight models, start Triton, tag the bundled sample
#   make test   set up .venv, run `make check`, then the whole test suite against a real Triton
# For the edit-test loop (CONTRIBUTING.md): make check, make test-fast (under 2 minutes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: demo test test-fast check lint install clean bench bench-gpu ui browser

# The four distributions side by side, editable: core (shared contract), client (light, runs
# inside Stash), export (torch) and the server at the root.
DISTS := pyproject.toml core/pyproject.toml client/pyproject.toml export/pyproject.toml
# content: NudeNet's real detector (AGPL-3.0 weights, read from the nudenet wheel, never copied
# here); demo: scikit-image's photographs. `make demo EXTRAS=demo` leaves NudeNet out.
EXTRAS ?= content,demo

$(BIN)/stashtag: $(DISTS) constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ./core -e "./client[video]" -e "./export[paddle]" \
		-e ".[serve,export,paddle,video,bench,dev,$(EXTRAS)]"
	touch $@

install: $(BIN)/stashtag

demo: install
	$(BIN)/stashtag demo

# The web UI (plugin/ui): its npm packages at Stash's library versions, type-checked and built;
# the committed plugin/ui/dist must be what this builds (tests/ui/test_build.py).
UI := plugin/ui
$(UI)/node_modules/.package-lock.json: $(UI)/package.json $(UI)/package-lock.json
	npm ci --prefix $(UI) --no-audit --no-fund --loglevel=error

ui: $(UI)/node_modules/.package-lock.json
	cd $(UI) && npx tsc --noEmit -p . && node build.mjs

# Debian's chromium for the browser tests, installed when missing and root (or sudo) allows.
browser:
	@sh scripts/ensure_chromium.sh

test: check $(UI)/node_modules/.package-lock.json browser
	$(BIN)/python -m pytest

# Lint, format and types: what CI checks before the tests.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/stashtag plugin manifest --check

# The tests that need no Triton server, export, browser or install (tests/conftest.py --fast).
test-fast: install
	$(BIN)/python -m pytest --fast -q

# Regenerates docs/benchmarks/small-cpu (small preset, random weights; about 22 minutes and
# 18 GB of memory on 2 cores: run nothing else meanwhile), with the change against the committed
# report. Add --tune to also search batching settings (about 7 minutes more).
bench: install
	$(BIN)/stashtag repo build --preset small --random-weights --detector content --no-int8 \
		--repo repos/small-python-ort
	$(BIN)/stashtag bench --repo repos/small-python-ort --preset small --sprites 2 --repeats 3 \
		--sweep 1,4,16 --frame-requests 40 --clients 4 --client-concurrency 2 --client-loops 3 --null-loops 10 \
		--compare docs/benchmarks/small-cpu/bench.json --out docs/benchmarks/small-cpu

# On a host with an NVIDIA GPU (see docs/gpu.md): the large preset (random weights) on the
# python-torch target on GPU 0, resizing on the CPU then on the GPU, against eager PyTorch on the
# same GPU. Reports in runs/bench-gpu-host-resize and runs/bench-gpu-device-resize.
GPU_BENCH := --preset large --device cuda --sprites 8 --repeats 3 --sweep 1,2,4,8 \
	--frame-requests 81 --clients 4 --client-concurrency 4 --client-loops 2 --null-loops 5
bench-gpu: install
	$(BIN)/stashtag repo build --preset large --random-weights --target python-torch --gpus 0 \
		--host-resize --repo repos/large-gpu --if-missing
	$(BIN)/stashtag bench --repo repos/large-gpu $(GPU_BENCH) --out runs/bench-gpu-host-resize
	$(BIN)/stashtag repo build --preset large --target python-torch --device-resize --no-export \
		--repo repos/large-gpu
	$(BIN)/stashtag bench --repo repos/large-gpu $(GPU_BENCH) --out runs/bench-gpu-device-resize

lint: check

clean:
	rm -rf repos runs .pytest_cache
