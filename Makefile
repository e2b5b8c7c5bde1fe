# Two commands for a newcomer: `make serve` and `make test`. Everything else is set up on the way.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB := nk_russia.db
PORT ?= 8001
INPUTS := $(wildcard data/*.csv data/*.json seeds/*.txt scripts/*.py) metadata.yml

# Datasette settings, deliberate rather than default.
# Settings live in settings.json (also read by the tests); each becomes a --setting flag.
SETTINGS = $(shell $(PY) -c 'import json; print(" ".join(f"--setting {k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in json.load(open("settings.json")).items()))')
SERVE_FLAGS = --immutable $(DB) --inspect-file build/inspect.json --metadata build/metadata.json \
	--template-dir templates --plugins-dir plugins --static static:static/ $(SETTINGS) --host 127.0.0.1 --port $(PORT)

.PHONY: install build serve test check stats coverage clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

build: $(DB)

# The build writes nk_russia.db, build/metadata.json and dist/ only when every check passed.
$(DB): $(VENV)/.installed $(INPUTS)
	$(PY) -m scripts.build
	$(VENV)/bin/datasette inspect $(DB) --inspect-file build/inspect.json

serve: build
	$(VENV)/bin/datasette serve $(SERVE_FLAGS)

# Validate the curated CSVs against the schema and the seeds without writing anything.
check: install
	$(PY) -m scripts.build --check-only

# csvkit for curators: per-column counts of each CSV (rows, empty cells, distinct and most common values).
stats: install
	@for f in data/*.csv; do echo "== $$f"; $(VENV)/bin/csvstat --no-inference --snifflimit 0 --csv "$$f" | $(VENV)/bin/csvcut -c column_name,nonnulls,nulls,unique,freq | $(VENV)/bin/csvlook --no-inference; done

# Per document, the share of substantive sentences that some excerpt covers, and the uncovered ones.
coverage: build
	$(PY) -m scripts.coverage

test: install
	$(VENV)/bin/pytest

clean:
	rm -rf $(DB) build dist .pytest_cache
