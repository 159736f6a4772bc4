"""The layers point one way (issue #17): import-linter's contracts (pyproject.toml, [tool.importlinter]) hold,
and the Slack app's process, measured by Python itself, loads no engine, SQL parser or database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_MODULES = (
    "duckdb",
    "sqlglot",
    "pyathena",
    "bot.query.engines",
    "bot.worker.jobs",
    "bot.worker.answer",
    "bot.query.sql_checks",
)


def test_the_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_importing_the_slack_app_loads_no_engine_sql_parser_or_database() -> None:
    """`python -X importtime` lists every module an import loads, indirect ones included."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import handlers.server"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert (
        "handlers.app" in loaded and "bot.queue.enqueue" in loaded
    )  # the measure sees the app's own modules
    found = sorted(m for m in loaded if m.startswith(ENGINE_MODULES))
    assert found == []


def test_every_listener_words_an_unavailable_queue_the_same_way() -> None:
    """One wording (handlers/replying.py QUEUE_DOWN) wherever Redis does not answer a listener."""
    worded = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "handlers").glob("*.py"))
        if "Flowbot's queue is unavailable" in path.read_text(encoding="utf-8")
    ]
    assert worded == ["handlers/replying.py"]


def test_the_job_paths_the_app_enqueues_name_the_workers_functions() -> None:
    """The app enqueues by name; a move of the job module must move the names with it."""
    import importlib

    from bot.queue.enqueue import EVIDENCE_JOB, FLOW_JOB, GUARDDUTY_JOB, IOC_JOB, ON_FAILURE
    from bot.queue.watch_book import WATCH_FAILED, WATCH_JOB

    for path in (FLOW_JOB, IOC_JOB, ON_FAILURE, EVIDENCE_JOB, GUARDDUTY_JOB, WATCH_JOB, WATCH_FAILED):
        module, _, name = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), path


def test_every_package_is_installed() -> None:
    """A package missing from `[tool.setuptools] packages` works in the editable checkout and is missing from
    the image: every folder with an `__init__.py` must be listed."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "handlers", "query_templates")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed
