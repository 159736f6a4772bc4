"""`/flow evidence …`: queue the channel's evidence export (bot/worker/evidence_export.py) and acknowledge."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack

from bot.evidence.request import EvidenceRequest
from bot.queue.cancel import short_id
from bot.queue.enqueue import FlowQueue
from bot.settings import Settings
from handlers import ingress
from handlers.replying import QUEUE_DOWN

log = logging.getLogger(__name__)
EVIDENCE_OFF = "The evidence log is switched off here (FLOWBOT_EVIDENCE_ENABLED=false): nothing was kept."


def handle_evidence(
    ack: Ack, request: EvidenceRequest, command: dict[str, Any], queue: FlowQueue, settings: Settings
) -> None:
    """Enqueue the export once (a Slack retry enqueues nothing), then say privately that it is coming."""
    if not settings.evidence_enabled:
        ack(text=EVIDENCE_OFF, response_type="ephemeral")
        return
    target = ingress.from_command(command)
    try:
        queue.submit_evidence(request, target)
    except RedisError:
        log.exception("could not enqueue %s", request.text)
        ack(text=QUEUE_DOWN, response_type="ephemeral")
        return
    ack(
        text=f":card_index_dividers: Gathering this channel's evidence log ({request.describe()}, job "
        f"{short_id(target.job_id)}); the files are posted here.",
        response_type="ephemeral",
    )
