"""Liveness and readiness against the real `flowbot serve` process and the real `flowbot worker --check`:
alive while it serves; ready only while Redis answers and the engine's data is there."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.health import EngineCheck, athena_problem
from bot.settings import Settings
from tests.scenarios.flowbot_processes import free_port, serve

REDIS_PASSWORD = "redis-SECRET-345"  # a test value, not a credential


def get(url: str) -> tuple[int, dict[str, str]]:
    """GET a probe's JSON, whatever its status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    """A `flowbot serve` process with `env`; yields its base URL."""
    events = serve(env)
    try:
        yield next(events).removesuffix("/slack/events")
    finally:
        events.close()


def dead_redis_url(password: str | None = None) -> str:
    """A Redis URL where nothing listens."""
    auth = f":{password}@" if password else ""
    return f"redis://{auth}127.0.0.1:{free_port()}/0"


def check_worker(
    env: dict[str, str], probe: tuple[str, ...] = ("worker", "--check")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.e2e
def test_alive_and_ready_with_redis_and_data(app_url: str) -> None:
    base = app_url.removesuffix("/slack/events")
    assert get(base + "/healthz") == (200, {"status": "ok"})
    assert get(base + "/readyz") == (200, {"redis": "ok", "engine": "ok"})


@pytest.mark.e2e
def test_not_ready_without_redis_but_still_alive_and_no_password_in_the_answer(
    env: dict[str, str],
) -> None:
    with served(env | {"FLOWBOT_REDIS_URL": dead_redis_url(REDIS_PASSWORD)}) as base:
        status, body = get(base + "/readyz")
        assert status == 503
        assert body["engine"] == "ok"
        assert body["redis"] != "ok" and "ConnectionError" in body["redis"]
        assert REDIS_PASSWORD not in json.dumps(body)
        assert get(base + "/healthz") == (200, {"status": "ok"})


@pytest.mark.e2e
def test_not_ready_when_the_data_folder_is_missing(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with served(env | {"FLOWBOT_LOCAL_DATA_DIR": str(missing)}) as base:
        status, body = get(base + "/readyz")
        assert status == 503
        assert body["redis"] == "ok"
        assert str(missing) in body["engine"]
        assert get(base + "/healthz")[0] == 200


@pytest.mark.e2e
@pytest.mark.parametrize("probe", [("worker", "--check"), ("check",)], ids=["worker --check", "check"])
def test_worker_check_exits_0_when_ready_and_1_with_one_line_naming_the_problem(
    env: dict[str, str], tmp_path: Path, probe: tuple[str, ...]
) -> None:
    ready = check_worker(env, probe)
    assert ready.returncode == 0, ready.stderr
    assert ready.stderr == ""

    no_redis = check_worker(env | {"FLOWBOT_REDIS_URL": dead_redis_url(REDIS_PASSWORD)}, probe)
    assert no_redis.returncode == 1
    assert len(no_redis.stderr.splitlines()) == 1
    assert "redis: ConnectionError" in no_redis.stderr and "engine: ok" in no_redis.stderr
    assert REDIS_PASSWORD not in no_redis.stderr + no_redis.stdout

    no_data = check_worker(env | {"FLOWBOT_LOCAL_DATA_DIR": str(tmp_path / "gone")}, probe)
    assert no_data.returncode == 1
    assert len(no_data.stderr.splitlines()) == 1
    assert "redis: ok" in no_data.stderr and str(tmp_path / "gone") in no_data.stderr


# ---------------------------------------------------------------------- the engine check on its own


def athena(**fields: object) -> Settings:
    values: dict[str, object] = {
        "engine": "athena",
        "flow_logs_bucket": "flow-logs",
        "athena_output_location": "s3://results/flowbot/",
        "athena_region": "eu-west-1",
    }
    return Settings(**(values | fields))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, None),
        ({"flow_logs_bucket": None}, "FLOWBOT_FLOW_LOGS_BUCKET"),
        ({"athena_output_location": None}, "FLOWBOT_ATHENA_OUTPUT_LOCATION"),
        ({"athena_output_location": None, "athena_workgroup": "flowbot"}, None),
        ({"athena_region": None}, "no AWS region"),
        ({"table_kind": "json"}, "FLOWBOT_ATHENA_JSON_LOCATION"),
    ],
)
def test_athena_readiness_is_judged_from_the_settings(fields: dict[str, object], problem: str | None) -> None:
    found = athena_problem(athena(**fields), region=lambda: None)
    assert found is None if problem is None else problem in (found or "")


def test_the_engine_check_is_remembered_for_a_while(tmp_path: Path) -> None:
    now = [0.0]
    check = EngineCheck(Settings(local_data_dir=tmp_path), ttl_seconds=30, clock=lambda: now[0])
    assert check() is not None  # no AWSLogs yet
    (tmp_path / "AWSLogs").mkdir()
    now[0] = 29.0
    assert check() is not None
    now[0] = 30.0
    assert check() is None
