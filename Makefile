# Two commands for a newcomer: `make serve` and `make test`. Everything else is set up on the way.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB := nk_russia.db
PORT ?= 8001
INPUTS := $(wildcard data/*.csv data/*.json data/CODEBOOK.md seeds/*.txt scripts/*.py releases/*/*) metadata.yml


.PHONY: install build serve deploy-files test check stats coverage loadtest bench bench-quick audit screenshots clean add-document release

install: $(VENV)/.installed $(VENV)/hashed-urls/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# datasette-hashed-urls, the deploy images' CDN plugin, at their pin (scripts/serve.py HASHED_URLS), apart from
# the virtualenv's packages: installed there it would load into every Datasette, `make serve` and the tests
# included. `scripts.serve --hashed-urls` (and the tests of the hashed site) load it from here.
$(VENV)/hashed-urls/.installed: $(VENV)/.installed scripts/serve.py
	rm -rf $(VENV)/hashed-urls
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --target $(VENV)/hashed-urls \
		"$$($(PY) -c 'from scripts.serve import HASHED_URLS; print("==".join(HASHED_URLS))')"
	touch $@

build: $(DB)

# The build writes nk_russia.db, build/ (metadata, inspect file) and dist/ only when every check passed.
$(DB): $(VENV)/.installed $(INPUTS)
	$(PY) -m scripts.build

# Datasette's flags come from scripts/serve.py (settings.json, plugins/, templates/, static/); one worker
# process per core, WORKERS=N to choose.
serve: build
	$(PY) -m scripts.serve --port $(PORT)

# deploy/cloudrun and deploy/fly: Docker build contexts (and fly.toml) for the built site, made offline with
# Datasette's packaging code; nothing is deployed (README.md, "Deploying").
deploy-files: build
	$(PY) -m scripts.deploy

# Cut the release data/datapackage.json declares (README, "How to cut a release"): releases/<version>/ and a
# CHANGELOG.md entry, refused unless the version is bumped as the changes since the last release need;
# then the database is rebuilt so that the site lists the new release.
release: build
	$(PY) -m scripts.release
	$(PY) -m scripts.build

# Validate the curated CSVs against the schema and the seeds without writing anything.
check: install
	$(PY) -m scripts.build --check-only

# A new text to a worksheet in one command: checks it, copies it into seeds/, adds its documents row and writes
# worksheets/<id>.md (README.md, "How to add a document"). Optional: OUTLET URL ARCHIVE_URL LANGUAGE RETRIEVED_ON
# SUPPLIED_BY LABEL HEADLINE DATE, each written only when given.
add-document: install
	@test -n "$(FILE)" || { echo "usage: make add-document FILE=path/to/article.txt [OUTLET=... URL=... DATE=YYYY-MM-DD]" >&2; exit 2; }
	@$(PY) -m scripts.add_document "$(FILE)" --outlet "$(OUTLET)" --url "$(URL)" --archive-url "$(ARCHIVE_URL)" \
		--language "$(LANGUAGE)" --retrieved-on "$(RETRIEVED_ON)" --supplied-by "$(SUPPLIED_BY)" --label "$(LABEL)" \
		--headline "$(HEADLINE)" --date "$(DATE)"

# csvkit for curators: per-column counts of each CSV (rows, empty cells, distinct and most common values).
stats: install
	@for f in data/*.csv; do echo "== $$f"; $(VENV)/bin/csvstat --no-inference --snifflimit 0 --csv "$$f" | $(VENV)/bin/csvcut -c column_name,nonnulls,nulls,unique,freq | $(VENV)/bin/csvlook --no-inference; done

# Per document, the share of substantive sentences that some excerpt covers, and the uncovered ones.
coverage: build
	$(PY) -m scripts.coverage

# 16 clients for 60 s against a real server on 127.0.0.1 (wrk); DURATION= and CLIENTS= override.
DURATION ?= 60
CLIENTS ?= 16
loadtest: build
	$(PY) -m scripts.loadtest --duration $(DURATION) --clients $(CLIENTS)

# Build and serving cost at 1e4, 1e5 and 1e6 appearances against baselines (BENCHMARKS.md);
# bench-quick: the smallest scale with short runs, as CI runs it.
bench: install
	$(PY) -m bench.run

bench-quick: install
	$(PY) -m bench.run --quick

# Lighthouse 12.2.3 (pinned by tools/lighthouse/package-lock.json, installed there by npm ci; Debian's chromium via
# CHROME_PATH) on the home, a table and a row page of a real server. Not part of `make test`: it needs npm.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE): tools/lighthouse/package-lock.json
	npm ci --prefix tools/lighthouse --no-audit --no-fund
	touch $@

audit: build $(LIGHTHOUSE)
	CHROME_PATH=$${CHROME_PATH:-$$(command -v chromium)} $(PY) -m scripts.audit

# The README's screenshots (docs/*.png): home, a row, a query and a document page at 1366 and 390 px.
screenshots: build
	$(PY) -m scripts.screenshots

test: install
	$(VENV)/bin/pytest

clean:
	rm -rf $(DB) build dist deploy .pytest_cache
