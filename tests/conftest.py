"""Shared fixtures: a real Redis database per test, and one set of sample flow logs per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.sample_data import generate
from tests.flowlog_oracle import Row, load_rows

TEST_REDIS_URL = os.environ.get("FLOWBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SAMPLE_END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
"""The sample data covers the three days before this moment."""


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
