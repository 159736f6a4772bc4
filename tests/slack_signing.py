"""Build requests the way Slack sends them to the app: signed headers and slash command bodies.

The signature is computed here with hmac/hashlib, independently of slack_sdk / Bolt (which the code
under test uses to verify it):

    X-Slack-Signature = "v0=" + hex(HMAC_SHA256(signing_secret, f"v0:{timestamp}:{raw body}"))
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

DEFAULT_TRIGGER_ID = "1700000000000.1000000001.0123456789abcdef0123456789abcdef"
# A response_url that goes nowhere (nothing listens on port 9 of localhost): pass
# MockSlack.response_url(...) to have responses recorded instead.
DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/response_url/T0001/1700000000/default"


def signature(signing_secret: str, body: str | bytes, timestamp: int | str) -> str:
    """``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`` with the signing secret as key."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str,
    body: str | bytes,
    timestamp: int | None = None,
    *,
    content_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp (now unless given), signature, Content-Type.

    Pass ``content_type=JSON_CONTENT_TYPE`` for Events API bodies.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(signing_secret, body, ts),
    }


def slash_command_body(
    text: str,
    *,
    command: str = "/flow",
    user_id: str = "U0AAA",
    channel_id: str = "C0INC",
    team_id: str = "T0001",
    trigger_id: str = DEFAULT_TRIGGER_ID,
    response_url: str = DEFAULT_RESPONSE_URL,
    user_name: str = "alice",
    channel_name: str = "incidents",
    team_domain: str = "flowbot-test",
    api_app_id: str = "A0FLOWBOT",
    token: str = "test-verification-token",  # noqa: S107 (the legacy verification token field)
) -> str:
    """A slash command request body, urlencoded with the fields in the order Slack sends them."""
    return urlencode(
        [
            ("token", token),
            ("team_id", team_id),
            ("team_domain", team_domain),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
            ("api_app_id", api_app_id),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ]
    )
