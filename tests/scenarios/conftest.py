"""Scenario fixtures: a recording mock of Slack's Web API and the app's environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mock_slack import MockSlack, child_env
from tests.scenarios.flowbot_processes import SECRET, serve


@pytest.fixture
def mock_slack() -> Iterator[MockSlack]:
    with MockSlack() as mock:
        yield mock


@pytest.fixture
def env(mock_slack: MockSlack, redis_url: str, sample_root: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of the app and worker processes: the mock Slack, the test Redis, sample logs, and a
    folder of kept answers of the test's own (a worker re-sends what it finds there to whichever mock Slack
    it is given: a folder shared between tests would carry one test's answer into the next)."""
    return child_env(
        FLOWBOT_UNDELIVERED_DIR=str(tmp_path / "undelivered"),
        FLOWBOT_SLACK_BOT_TOKEN="xoxb-test",
        FLOWBOT_SLACK_SIGNING_SECRET=SECRET,
        FLOWBOT_SLACK_API_URL=mock_slack.base_url,
        FLOWBOT_REDIS_URL=redis_url,
        FLOWBOT_LOCAL_DATA_DIR=str(sample_root),
        FLOWBOT_HTTP_HOST="127.0.0.1",
        FLOWBOT_QUEUE_NAME="flowbot-e2e",
        FLOWBOT_CHANNEL_POST_INTERVAL_SECONDS="0.05",
    )


@pytest.fixture
def app_url(env: dict[str, str]) -> Iterator[str]:
    """`flowbot serve` in its own process, with `env`."""
    yield from serve(env)
