# The two set-up commands from the README work on a fresh Debian 12 machine as root:
#   make demo   installs what is missing, starts an engine, runs the demo
#   make test   the same set-up, then lint, type checks and the whole test suite
PY ?= python3
PIP := $(PY) -m pip install -q --root-user-action=ignore --disable-pip-version-check
ENGINE ?= docker
PYTEST_ARGS ?=

.PHONY: deps engine lint test test-podman demo bench clean

deps:
	$(PIP) -e '.[dev]'

engine:
	scripts/start-engine $(ENGINE)

lint: deps
	$(PY) -m ruff check pocketdock pocket_dock tests bench
	$(PY) -m ruff format --check pocketdock pocket_dock tests bench
	$(PY) -m mypy

test: deps engine lint
	POCKETDOCK_TEST_ENGINE=$(ENGINE) $(PY) -m pytest -q $(PYTEST_ARGS)

# The engine-facing tests (marker `engine`) against Podman's Docker-compatible API.
test-podman:
	$(MAKE) test ENGINE=podman PYTEST_ARGS='-m engine'

demo: deps engine
	$(PY) examples/demo.py

# `make bench N=2` for a quick look, `make bench BENCH_ARGS=--quick` for the smoke-sized run.
# The benchmark runs in its own virtualenv holding only pocketdock's dependencies and
# matplotlib, so what else the machine's Python has installed cannot change the start-up
# figures (httpcore, for one, imports trio whenever trio is importable).
BENCH_VENV ?= .venv-bench
bench: engine
	command -v docker-compose >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null \
		|| echo "docker-compose could not be installed; its column will be skipped"
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(BENCH_VENV)/bin/python bench/run.py $(if $(N),--n $(N)) $(BENCH_ARGS)

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache
