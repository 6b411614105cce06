# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when needed and
# installs only what it needs (the README's "Make targets" says what each one installs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint docs bench clean

# flowaudit and its runtime dependencies only (demo, bench). The stamps depend on pyproject.toml so a
# changed dependency list reinstalls.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

# ...plus the test extras (pytest, jsonschema, pypdf, ruff, playwright to drive /usr/bin/chromium,
# hatchling). They include everything the demo needs, so both stamps are fresh afterwards.
$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/flowaudit audit --sample contoso --format json,html,pdf,csv,sarif,junit,md \
		--output-dir $(OUT) --fail-on none

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/make_docs.py --check

docs: $(VENV)/.installed
	$(BIN)/python scripts/make_docs.py

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(OUT) flowaudit-out build dist *.egg-info .pytest_cache .ruff_cache test-artifacts
