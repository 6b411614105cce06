# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test lint docs bench clean

# The stamp depends on pyproject.toml so a changed dependency list reinstalls.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/flowaudit audit --sample contoso --format json,html,pdf,sarif,junit,md \
		--output-dir $(OUT) --fail-on none

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/make_docs.py --check

docs: $(VENV)/.installed
	$(BIN)/python scripts/make_docs.py

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(OUT) flowaudit-out build dist *.egg-info .pytest_cache .ruff_cache test-artifacts
