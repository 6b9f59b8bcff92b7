# The two commands a newcomer needs:  `make demo`  and  `make test`.
# Both create the virtual environment and install what they need on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,postgres,redis

.PHONY: install demo test test-slow lint browser azcli

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/labgrader demo

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# The Azure CLI, a second client of azuresim (tests/azuresim/test_azure_cli.py), in a venv of its own so
# its pins never meet the project's. Installed once; skipped while that version is already there.
AZCLI_VERSION ?= 2.91.0
azcli:
	@if .venv-azcli/bin/python -c "import importlib.metadata as m, sys; \
	    sys.exit(m.version('azure-cli') != '$(AZCLI_VERSION)')" 2>/dev/null && [ -x .venv-azcli/bin/az ]; then \
	  echo "azure-cli $(AZCLI_VERSION) is in .venv-azcli"; \
	else \
	  echo "Installing azure-cli $(AZCLI_VERSION) into .venv-azcli..." && rm -rf .venv-azcli && \
	  $(PYTHON) -m venv .venv-azcli && \
	  .venv-azcli/bin/python -m pip install --quiet --upgrade pip && \
	  .venv-azcli/bin/python -m pip install --quiet 'azure-cli==$(AZCLI_VERSION)' && \
	  .venv-azcli/bin/python -c "import azure.cli.core" && [ -x .venv-azcli/bin/az ]; \
	fi

lint: install
	$(BIN)/ruff check .

# Tests run on TEST_WORKERS processes (pytest-xdist), a test file per worker at a time. `make test` leaves out
# the end-to-end suites marked slow (whole-lab walks, the demo, the Azure CLI, the bench) or browser (Chromium)
# to stay near ten minutes on two cores; `make test-slow` runs just those, and CI (.ci/run) runs both. Only
# test-slow needs Chromium and the Azure CLI, so only it installs them.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile
test: install lint
	$(PYTEST) -m "not slow and not browser" $(PYTEST_ARGS)

test-slow: install browser azcli
	$(PYTEST) -m "slow or browser" $(PYTEST_ARGS)
