# rotor: `make run` (replay the bundled data) and `make test` (lint, types, tests) are all a user needs.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.stamp-run
STAMP_DEV  := $(VENV)/.stamp-dev
# Tests run in a non-UTC zone on purpose: nothing may depend on the host timezone.
TEST_TZ ?= America/New_York

# Only lint what exists (bench/ and migrations/ may be empty in a fresh clone).
PY_DIRS := $(wildcard bot tests bench migrations)

.PHONY: run test lint format typecheck pytest bench clean install docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

# The demo replays the default preset (rotation-reversion) over the bundled 120-day slice of the
# wide universe (123 perpetuals, 12 sectors); PRESET=rsi-reversion etc. shows another.
PRESET ?= rotation-reversion

run: $(STAMP_RUN)
	$(BIN)/rotor run --mode replay --preset $(PRESET)

lint: $(STAMP_DEV)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

format: $(STAMP_DEV)
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict bot

# Two workers: the suite's long tests (real daemon and simulator processes) overlap on 2 cores.
PYTEST_WORKERS ?= 2

pytest: $(STAMP_DEV)
	TZ=$(TEST_TZ) $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP_DEV)
	$(BIN)/python bench/run_all.py

# Regenerate the README's configuration table from the config models.
docs: $(STAMP_RUN)
	$(BIN)/rotor config keys --markdown > .config-table.md
	$(BIN)/python -c "import re,pathlib; r=pathlib.Path('README.md'); t=pathlib.Path('.config-table.md').read_text(); s=r.read_text(); r.write_text(re.sub(r'(<!-- config-table:start -->\n).*?(<!-- config-table:end -->)', lambda m: m.group(1)+t+m.group(2), s, flags=re.S))"
	rm -f .config-table.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
