# Two commands for a fresh machine: `make book` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= fashion-mnist
RESULTS ?= results
SYSTEM_FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
# When make began: the book reports the time spent setting up.
STARTED := $(shell date +%s)

.PHONY: book test test-fast checks setup data train status notebooks pdf browser

# The virtual environment, rebuilt only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[book,dev]'
	@touch $@

# The optional Ray extra, which the tests need (make book does not).
$(VENV)/.installed-ray: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[book,dev,ray]'
	@touch $@

setup: $(VENV)/.installed

# Fashion-MNIST from Debian's package when it is missing (the package works offline);
# otherwise pruning-impact falls back to torchvision's download and says what to do if that fails.
data:
	@if [ ! -f $(SYSTEM_FASHION_MNIST) ] && [ ! -d data/fashion-mnist ]; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "Installing Debian's dataset-fashion-mnist"; \
	    ( $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null ) \
	      || echo "apt-get could not install dataset-fashion-mnist; trying torchvision's download instead"; \
	  fi; \
	fi

train: setup data
	$(BIN)/pruning-impact train --profile $(PROFILE) --results $(RESULTS)

status: setup
	$(BIN)/pruning-impact status --profile $(PROFILE) --results $(RESULTS)

# Train or load the population, analyse it, execute the notebooks into book/, build _build/html.
book: setup data
	$(BIN)/pruning-impact book --profile $(PROFILE) --results $(RESULTS) --started $(STARTED)

# Headless Chromium from Debian, for the tests that look at the built book as a reader's browser does.
browser:
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "Installing Debian's chromium (headless browser for the book's tests)"; \
	  ( $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null ) \
	    || echo "apt-get could not install chromium; the browser tests will be skipped"; \
	fi

# After editing notebooks/*.py: parameters cells from pruning_impact.book.parameters, formatted, .ipynb in sync.
notebooks: setup
	$(BIN)/python -m pruning_impact.book.parameters notebooks/[0-9][0-9]_*.py
	$(BIN)/ruff format notebooks
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

# A PDF of the book (after make book), where LaTeX is installed.
pdf: setup
	@if ! command -v xelatex >/dev/null || ! command -v latexmk >/dev/null; then \
	  echo "make pdf skipped: it needs LaTeX (sudo apt-get install texlive-xetex texlive-latex-extra texlive-fonts-recommended latexmk)"; \
	else \
	  $(BIN)/jupyter-book build . --builder pdflatex && echo "The PDF is in _build/latex/"; \
	fi

# The linter, the formatter and the layers' import contracts (all configured in pyproject.toml), then every test in
# two worker processes (the smoke book's tests share one, the Ray tests another; tests/conftest.py), the 15 slowest listed.
test: setup $(VENV)/.installed-ray browser checks
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=15

# The edit loop: the same checks, then the tests not marked slow, ray or browser (under two minutes on 2 cores).
test-fast: setup checks
	$(BIN)/python -m pytest -q -m "not slow and not ray and not browser"

checks: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
