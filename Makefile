# Two commands for everyone: `make lab` to study, `make test` to check.
# The virtual environment is rebuilt only when pyproject.toml changes.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0
# PyPI's torch for Linux is a CUDA build (several GB); a course that runs on the CPU takes the
# CPU build from PyTorch's own wheel index instead. macOS has no "+cpu" build: its PyPI wheel is
# already CPU-only (Apple silicon). Where that index cannot be reached, pip falls back to any
# torch==2.13.0+cpu it finds elsewhere (find-links, a local mirror) and never to a CUDA build.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
ifeq ($(shell uname -s),Darwin)
TORCH_INSTALL := $(TORCH)
else
TORCH_INSTALL := $(TORCH)+cpu --extra-index-url $(TORCH_CPU_INDEX)
endif
# Extra papermill arguments for `make run`, e.g. make run PARAMS="-p epochs 1"
PARAMS ?=
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PORT ?= 8888

export PYTHONHASHSEED := 0

.PHONY: install lab test test-fast run execute benchmarks clean data book

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "make: '$(PYTHON)' was not found. The course needs Python 3.11: install it (python.org," \
	       "pyenv, or your system's packages), or name it: make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	# torch first, pinned, so pip takes the CPU wheel and never resolves a CUDA build
	$(BIN)/python -m pip install --quiet $(TORCH_INSTALL)
	# the installed CPU build already satisfies pyproject's torch==2.13.0, so nothing else replaces it
	$(BIN)/python -m pip install --quiet -e ".[test]" $(TORCH)
	$(BIN)/python -m pip check
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: $(STAMP)
	$(BIN)/python -m pytest

# unit tests only (no notebooks, no browser): the quick loop while writing library code
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser" -p no:nbval -o addopts="-ra"

run: $(STAMP)
	mkdir -p build/executed build/html
	for nb in $(NOTEBOOKS); do \
	  name=$$(basename $$nb); \
	  $(BIN)/papermill --cwd notebooks $$nb build/executed/$$name $(PARAMS) || exit 1; \
	  $(BIN)/jupyter nbconvert --to html --output-dir build/html build/executed/$$name || exit 1; \
	done

# Re-run every notebook in place (how a maintainer refreshes committed outputs).
execute: $(STAMP)
	for nb in $(NOTEBOOKS); do \
	  $(BIN)/python scripts/execute_notebook.py $$nb || exit 1; \
	done

# The HTML edition (build/book/html/index.html): committed notebooks, not executed; offline; any
# Sphinx warning fails it. .github/workflows/book.yml publishes it to GitHub Pages.
book: $(STAMP)
	$(BIN)/python scripts/build_book.py --out build/book

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/notebook_times.py

data: $(STAMP)
	$(BIN)/python scripts/make_data.py

clean:
	rm -rf build .pytest_cache
