# Everything a fresh machine needs: `make demo` and `make test` create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo audit audit-args test fuzz browser bench clean sample

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Audit the bundled sample; exit 1 only means some input was reported as unreadable.
demo: $(STAMP)
	$(BIN)/reconcile demo --out reconcile-report || test $$? -eq 1
	@echo "Your own files: make audit INVOICES=path/to/bills INVENTORY=path/to/inventory.xlsx [OUT=folder]"

# Audit your own files: make audit INVOICES="folder or files" INVENTORY=inventory.xlsx
#   [OUT=reconcile-report] [MAPPING=mapping.yaml] [SHEET=name]
#   [CONTRACTS=contracts.xlsx] [ORDERS=orders.xlsx] [PAYMENTS=payments.csv] [AS_OF=2025-06-30]
# Exit 1 (some input unreadable, the rest audited and reported) is not a failure of make.
OUT ?= reconcile-report
audit: audit-args $(STAMP)
	$(BIN)/reconcile audit $(INVOICES) --inventory "$(INVENTORY)" --out "$(OUT)"$(if $(MAPPING), --columns "$(MAPPING)")$(if $(SHEET), --sheet "$(SHEET)")$(if $(CONTRACTS), --contracts "$(CONTRACTS)")$(if $(ORDERS), --orders "$(ORDERS)")$(if $(PAYMENTS), --payments "$(PAYMENTS)")$(if $(AS_OF), --as-of "$(AS_OF)") || test $$? -eq 1

audit-args:  # before installing anything: the two paths are needed
	@if [ -z "$(INVOICES)" ] || [ -z "$(INVENTORY)" ]; then \
	  echo "usage: make audit INVOICES=path/to/bills INVENTORY=path/to/inventory.xlsx [OUT=folder] [MAPPING=mapping.yaml] [SHEET=name] [CONTRACTS=file] [ORDERS=file] [PAYMENTS=file] [AS_OF=date]" >&2; \
	  exit 2; fi

test: $(TSTAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The property tests of the value parsers and of the CSV/XLSX/PDF readers, long: `make test`
# runs them with 200 examples each (the workbook and PDF ones with a tenth of that).
FUZZ_EXAMPLES ?= 20000
fuzz: $(TSTAMP)
	RECONCILE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_fuzz_values.py \
	  tests/test_fuzz_readers.py tests/test_fuzz_pdf.py

# The HTML report is checked in headless Chromium (Debian's package; Playwright drives it).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing Debian's chromium for the browser test"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	  || echo "WARNING: could not install chromium; the browser test will fail under CI=true"; }

bench: $(TSTAMP)
	$(BIN)/python bench/bench_audit.py
	$(BIN)/python bench/bench_pdf.py

sample: $(STAMP)
	$(BIN)/python -m fixtures.scenario --out fixtures/sample

clean:
	rm -rf $(VENV) reconcile-report .pytest_cache
