"""Shared fixtures: a real Redis database per test, one set of sample flow logs per session, and the
recording mock Slack Web API in the test's own process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.samples.flow_logs import generate
from tests.flowlog_oracle import Row, load_rows
from tests.mock_slack import MockSlack

TEST_REDIS_URL = os.environ.get("FLOWBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SAMPLE_END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
"""The sample data covers the three days before this moment."""


def fake_aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, region: str, *, prefixes: tuple[str, ...] = ()
) -> None:
    """Fake credentials and a region for moto or a Stubber; no profile, config file or instance metadata of
    the machine is read, and variables starting with `prefixes` (e.g. FLOWBOT_, AWS_) are cleared first."""
    for name in list(os.environ):
        if name.startswith(prefixes) or name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_REGION",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def evidence_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test keeps its evidence log (bot/evidence/) in a folder of its own, never in the default IOC
    store under the home directory; processes a test starts inherit it through the environment."""
    folder = tmp_path / "evidence-store"
    monkeypatch.setenv("FLOWBOT_EVIDENCE_STORE", str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_enrichment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers name no machines (bot/enrich/) unless a test turns it on: with the Athena engine `auto` would
    reach EC2 and AWS's ip-ranges.json on the internet. Processes a test starts inherit it; a test that wants
    names sets FLOWBOT_ENRICH=on and FLOWBOT_ENRICH_IP_RANGES_URL to tests/fixtures/ip-ranges.json."""
    monkeypatch.setenv("FLOWBOT_ENRICH", "off")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis database, empty before and after the test (never db 0)."""
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        redis.ping()
    except RedisConnectionError:
        pytest.fail(f"no Redis at {TEST_REDIS_URL}: run .ci/ensure-redis (make test does)")
    redis.flushdb()
    yield TEST_REDIS_URL
    redis.flushdb()
    redis.close()


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gzip'd flow logs in the AWS layout, generated once for the session."""
    root = tmp_path_factory.mktemp("flowlogs")
    generate(root, end=SAMPLE_END, days=3, seed=7, scale=0.25)
    return root


@pytest.fixture(scope="session")
def oracle_rows(sample_root: Path) -> list[Row]:
    """The same files read by the independent pure-Python reader."""
    return load_rows(sample_root)


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockSlack]:
    """The recording mock Slack Web API, served in this process for clients in this process. slack_sdk
    would send calls to 127.0.0.1 through a proxy from the environment (it ignores NO_PROXY)."""
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    with MockSlack() as mock:
        yield mock
