"""The "Add IOCs" modal: a box to paste indicators into (free text is fine) and one comment."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from bot.slack_ids import IOC_FORM as FORM_CALLBACK

INDICATORS_BLOCK = "indicators"
COMMENT_BLOCK = "comment"
VALUE = "value"
MAX_INITIAL = 3000


def ioc_form(
    *,
    indicators: str = "",
    channel: str | None,
    source: str,
    note: str = "",
    response_url: str | None = None,
    comment_limit: int,
) -> dict[str, Any]:
    """The modal; `channel`, `source` and the opening request's `response_url` ride along in
    private_metadata to the submission (a view_submission has no response_url of its own), so the
    answer can reach its asker where Flowbot is not a member. Slack stops the comment at `comment_limit`
    characters (the request's own limit, `bot.iocs.commands.MAX_COMMENT`)."""
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    blocks += [
        {
            "type": "input",
            "block_id": INDICATORS_BLOCK,
            "label": {"type": "plain_text", "text": "Indicators"},
            "hint": {
                "type": "plain_text",
                "text": "IP addresses or CIDR ranges, one a line or pasted from an alert; defanged is fine.",
            },
            "element": {
                "type": "plain_text_input",
                "action_id": VALUE,
                "multiline": True,
                **({"initial_value": indicators[:MAX_INITIAL]} if indicators else {}),
            },
        },
        {
            "type": "input",
            "block_id": COMMENT_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": "Comment"},
            "element": {"type": "plain_text_input", "action_id": VALUE, "max_length": comment_limit},
        },
    ]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": {"type": "plain_text", "text": "Add IOCs"},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel": channel, "source": source, "response_url": response_url}),
        "blocks": blocks,
    }


def notice(title: str, text: str) -> dict[str, Any]:
    """A modal that only tells something (no submit), e.g. why someone may not add indicators."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "OK"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
    }


class FormValues(NamedTuple):
    """What a submitted form holds, and what rode along with it."""

    text: str
    comment: str
    channel: str | None
    source: str
    response_url: str | None


def form_values(view: dict[str, Any]) -> FormValues:
    """The indicators text, comment, channel, source and response_url of a submitted form."""
    values = view["state"]["values"]
    text = values[INDICATORS_BLOCK][VALUE].get("value") or ""
    comment = values.get(COMMENT_BLOCK, {}).get(VALUE, {}).get("value") or ""
    meta = json.loads(view.get("private_metadata") or "{}")
    return FormValues(
        text, comment.strip(), meta.get("channel"), meta.get("source", "modal"), meta.get("response_url")
    )
