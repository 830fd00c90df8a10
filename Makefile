# yibao — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo
DEMO_PERSONS ?= 50000
DEMO_DB := sqlite:///$(DEMO)/yibao.db

.PHONY: install demo test lint typecheck unit bench clean screenshots

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
	$(BIN)/yibao finance --policy 360400 --persons $(DEMO)/persons.parquet \
		--enrollments $(DEMO)/enrollments.parquet --year 2023 --out $(DEMO)/finance.parquet \
		--summary $(DEMO)/finance-summary.csv
	$(BIN)/yibao check --persons $(DEMO)/persons.parquet --enrollments $(DEMO)/enrollments.parquet
	$(BIN)/yibao report fund --region 360400 --year 2023 --persons $(DEMO)/persons.parquet \
		--enrollments $(DEMO)/enrollments.parquet --claims $(DEMO)/claims.parquet \
		--results $(DEMO)/results.parquet --opening-balance 35000000 \
		--policy-change benchmarks/policies/360400-whatif-cap.yaml --out $(DEMO)/fund-report.html
	rm -f $(DEMO)/yibao.db $(DEMO)/yibao.db-wal $(DEMO)/yibao.db-shm
	$(BIN)/yibao db upgrade --database-url $(DEMO_DB)
	$(BIN)/yibao import persons $(DEMO)/persons.parquet --database-url $(DEMO_DB)
	$(BIN)/yibao import enrollments $(DEMO)/enrollments.parquet --database-url $(DEMO_DB)
	$(BIN)/yibao import claims $(DEMO)/claims.parquet --database-url $(DEMO_DB)
	$(BIN)/yibao post --policy 360400 --year 2023 --database-url $(DEMO_DB)
	for role in admin analyst auditor; do \
		$(BIN)/yibao user add $$role --role $$role --secret demo-$$role --database-url $(DEMO_DB); \
	done
	$(BIN)/python -c "import polars as pl; print(pl.read_parquet('$(DEMO)/claims.parquet')['facility_id'].min())" \
		| xargs -I{} $(BIN)/yibao user add clerk --role clerk --facility {} --secret demo-clerk \
		--database-url $(DEMO_DB)
	@echo "Console: http://127.0.0.1:8000/console/ (基金运行: /console/dashboard?year=2023&opening_balance=35000000) — API: http://127.0.0.1:8000/docs — users admin, clerk, analyst, auditor; secret demo-<user>"
	$(BIN)/yibao serve --policy 360400 --database-url $(DEMO_DB)

# PNGs of each console page (Debian's Chromium: apt-get install -y chromium fonts-noto-cjk)
screenshots: install
	cd tests/web && ../../$(BIN)/python screenshots.py ../../docs/screenshots

bench: install
	$(BIN)/python benchmarks/settle.py 1000000

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis
