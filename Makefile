# Two entry points: `make demo` (install, make sample flow logs, answer a question) and `make test`.
VENV ?= .venv
DATA ?= sample-data
PYTHON ?= python3

# Every package that runs comes from a lock file, exact version and hashes (README "Dependencies"):
#   requirements-dev.lock    everything: runtime, the athena extra, the dev and build groups (one resolution)
#   requirements.lock        its runtime subset (the image installs this)
#   requirements-build.lock  its build subset, pip and setuptools (the image and this venv build Flowbot with it)
# pip installs them with --no-deps and --require-hashes (no resolver, nothing unpinned), wheels only (no build
# step that would fetch a build backend), then builds Flowbot itself with the locked setuptools.
LOCKS := requirements-dev.lock requirements.lock requirements-build.lock
PIP_LOCKED := -m pip install --quiet --require-hashes --no-deps --only-binary :all: -r

$(VENV)/.installed: pyproject.toml $(LOCKS) .ci/check_python.py .ci/install_helm.py
	$(PYTHON) .ci/check_python.py
	$(PYTHON) -m venv --clear $(VENV)
	$(VENV)/bin/python $(PIP_LOCKED) requirements-build.lock
	$(VENV)/bin/python $(PIP_LOCKED) requirements-dev.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(VENV)/bin/python -m pip check
	$(VENV)/bin/python .ci/install_helm.py $(VENV)/bin
	@echo "installed $$(grep -c '^[a-z0-9]' requirements-dev.lock) locked packages (hash-checked, none resolved) and flowbot"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf $(DATA)/AWSLogs
	$(VENV)/bin/flowbot sample-data $(DATA)
	$(VENV)/bin/flowbot ask --data $(DATA) ratio 10.0.1.25

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	.ci/ensure-redis
	$(VENV)/bin/pytest
	.ci/build-image

# Re-pin after changing a requirement in pyproject.toml: versions already pinned stay where they satisfy it.
# `make upgrade` re-resolves everything to the newest versions pyproject.toml allows. Either way the full
# set is resolved once (requirements-dev.lock) and the other two locks are its subsets, constrained to it.
# The locks are for the image's platform: CPython 3.11 on Linux x86_64 (.ci/check_python.py).
UPGRADE ?=
COMPILE = $(VENV)/bin/uv pip compile --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--generate-hashes --custom-compile-command "make lock" --quiet
lock: $(VENV)/.installed
	$(COMPILE) $(UPGRADE) pyproject.toml --extra athena --group pyproject.toml:dev --group pyproject.toml:build \
	  -o requirements-dev.lock
	$(COMPILE) pyproject.toml --extra athena -c requirements-dev.lock -o requirements.lock
	$(COMPILE) --group pyproject.toml:build -c requirements-dev.lock -o requirements-build.lock

upgrade:
	$(MAKE) lock UPGRADE=--upgrade

# Try the newest versions without adopting them: a scratch copy of this checkout, with its own venv, runs
# `make upgrade` and `make test` (8 min 39 s here, 2026-12-07); this checkout and its locks stay as they are.
outdated:
	.ci/outdated

# Every benchmark, one table, recorded in bench/RESULTS.md (about 6 minutes, 8-9 the first time; needs a Redis).
bench: $(VENV)/.installed
	.ci/ensure-redis
	$(VENV)/bin/python -m bench.run --write

# The fault suite at full size: 20 commands per fault on real processes and private Redis servers (worker and
# work horse SIGKILLed, Redis SIGKILLed and restarted, Slack refusing for 2 minutes, 429 storms on status
# posts); prints what was answered exactly once and how fast, and records it in bench/RESULTS-faults.md. Then a
# standing watch across the loss of every process (bench/bench_watch.py, about 4.5 minutes; printed only).
# `make test` runs the same faults at small sizes (tests/bench/test_benchmarks_run.py).
faults: $(VENV)/.installed
	$(VENV)/bin/python -m bench.bench_faults --jobs 20 --write
	$(VENV)/bin/python -m bench.bench_watch --rounds 6 --every 5

.PHONY: install demo test lock upgrade outdated bench faults
