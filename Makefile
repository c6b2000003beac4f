# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: setup demo test test-fast lint bench bench-zoo clean serve test-e2e fuzz

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,text-features,web,web-test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mmlatent demo --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

# The web app on the demo run (made first if missing), on http://127.0.0.1:7860.
serve: $(STAMP)
	test -f runs/demo/model.safetensors || $(MAKE) demo
	$(BIN)/mmlatent serve runs/demo

# The browser test: Debian's chromium and chromedriver, installed here if missing (as root, or
# through sudo); without them the test skips and says why.
test-e2e: $(STAMP)
	if ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then APT="apt-get"; else APT="sudo apt-get"; fi; \
	  $$APT update -qq && DEBIAN_FRONTEND=noninteractive $$APT install -y -qq chromium chromium-driver \
	    || echo "could not install chromium: the browser test will skip"; fi
	$(BIN)/python -m pytest -q -m e2e tests/serve

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The fuzz tests with 20x the cases of `make test`, drawn afresh each time (hypothesis).
fuzz: $(STAMP)
	MMLATENT_FUZZ_SCALE=20 $(BIN)/python -m pytest -q tests/fuzz --hypothesis-show-statistics

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/avmnist.py

# Every model and latent loss at one budget, complete and with half the audio missing; AV-MNIST
# too when ../shared/data is there. Hours on 2 cores: results/zoo-*.json and .md.
bench-zoo: $(STAMP)
	$(BIN)/python benchmarks/zoo.py --data digits
	$(BIN)/python benchmarks/zoo.py --data digits --missing audio=0.5
	if [ -d ../shared/data/mnist ]; then \
	  $(BIN)/python benchmarks/zoo.py --data avmnist && \
	  $(BIN)/python benchmarks/zoo.py --data avmnist --missing audio=0.5; fi

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
