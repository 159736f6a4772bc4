"""Posting through a request's `response_url`, and knowing whether it worked.

slack_sdk's `WebhookClient.send` (and Bolt's `respond()`, built on it) returns the HTTP status instead of
raising (slack_sdk/webhook/client.py): a refused post looks like success unless the answer is read. A
`response_url` takes at most 5 posts within 30 minutes ("Handling user interaction", docs.slack.dev/
interactivity/handling-user-interaction), so a late answer meets an expired URL; every caller gets a
plain True/False and decides where the words go instead.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk.webhook import WebhookClient, WebhookResponse

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


def accepted(response: WebhookResponse) -> bool:
    """Whether Slack took a response_url post: HTTP 200 and no `"ok": false` in the body."""
    if response.status_code != 200:
        return False
    try:
        body = json.loads(response.body or "null")
    except ValueError:
        return True  # Slack answers a plain "ok" to a response_url post
    return not (isinstance(body, dict) and body.get("ok") is False)


def send(url: str | None, **message: Any) -> bool:
    """Post `message` (text, blocks, response_type, replace_original…) to `url`; False when there is no
    URL, or Slack refused or could not be reached. Never raises: the caller has another way to answer."""
    if not url:
        return False
    try:
        response = WebhookClient(url, timeout=TIMEOUT_SECONDS).send(**message)
    except (OSError, ValueError) as exc:  # URLError is an OSError; a malformed URL is a ValueError
        log.warning("response_url post failed: %s", exc)
        return False
    if not accepted(response):
        log.warning("response_url refused the post: HTTP %s %s", response.status_code, response.body[:200])
        return False
    return True
