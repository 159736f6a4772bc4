"""The reliability suite runs on the scenario suite's real parts: the HTTP app and worker processes,
the test Redis, a recording mock Slack Web API."""

from tests.scenarios.conftest import app_url, env, mock_slack

__all__ = ["app_url", "env", "mock_slack"]
