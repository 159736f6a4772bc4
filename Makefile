# Two entry points: `make demo` (install, make sample flow logs, answer a question) and `make test`.
VENV ?= .venv
DATA ?= sample-data
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,athena]'
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

.PHONY: install demo test
