# yibao — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo
DEMO_PERSONS ?= 50000

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests $(wildcard benchmarks)

typecheck: install
	$(BIN)/mypy --strict src

unit: install
	$(BIN)/pytest

test: lint typecheck unit

demo: install
	$(BIN)/yibao synth --region 360400 --year 2023 --persons $(DEMO_PERSONS) --out $(DEMO)
	$(BIN)/yibao policy show 360400 --date 2023-06-30
	$(BIN)/yibao settle --policy 360400 --persons $(DEMO)/persons.parquet \
		--enrollments $(DEMO)/enrollments.parquet --claims $(DEMO)/claims.parquet \
		--out $(DEMO)/results.parquet
	$(BIN)/python -m yibao.demo_pick $(DEMO) | xargs -r $(BIN)/yibao explain --policy 360400 \
		--persons $(DEMO)/persons.parquet --enrollments $(DEMO)/enrollments.parquet \
		--claims $(DEMO)/claims.parquet

bench: install
	$(BIN)/python benchmarks/settle.py 1000000

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis
