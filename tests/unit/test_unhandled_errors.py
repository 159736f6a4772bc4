"""What no listener caught (handlers/replying.py `on_unhandled_error`, Bolt's `app.error`): logged, and one
line to the person through the request's response_url, never a traceback. Bolt runs the real listener path."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient

from bot.words import CommandError
from handlers.replying import INTERNAL_ERROR, QUEUE_DOWN, on_unhandled_error
from tests.mock_slack import MockSlack
from tests.slack_signing import signed_headers, slash_command_body

SECRET = "unhandled-test-signing-secret"


def failing_app(slack: MockSlack, error: Exception) -> App:
    app = App(client=WebClient(token="xoxb-test", base_url=slack.base_url), signing_secret=SECRET)

    @app.command("/flow")
    def fail(ack: Ack) -> None:
        ack()
        raise error

    app.error(on_unhandled_error)
    return app


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (RedisConnectionError("Error 111 connecting to redis:6379. Connection refused."), QUEUE_DOWN),
        (CommandError("`x` is not an address"), ":x: `x` is not an address"),
        (KeyError("channel_id"), INTERNAL_ERROR),
    ],
)
def test_what_no_listener_caught_is_one_line_to_the_asker(
    slack: MockSlack, caplog: pytest.LogCaptureFixture, error: Exception, says: str
) -> None:
    body = slash_command_body("ratio 10.0.1.25", response_url=slack.response_url("unhandled"))
    headers: dict[str, str | Sequence[str]] = {**signed_headers(SECRET, body)}
    with caplog.at_level(logging.ERROR, logger="handlers.replying"):
        failing_app(slack, error).dispatch(BoltRequest(body=body, headers=headers))
    (told,) = slack.wait_for("response_url", timeout=10)
    assert told.params["text"] == says
    assert told.params["response_type"] == "ephemeral"
    assert "Traceback" not in told.params["text"] and "6379" not in told.params["text"]
    assert any(type(error).__name__ in r.getMessage() for r in caplog.records)
