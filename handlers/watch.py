"""`/flow watch …`: start, list and stop standing watches, within Slack's 3 seconds.

Starting one writes it to Redis and schedules its first interval on RQ's scheduler (bot/queue/watch_book.py);
the worker runs the intervals. A start or a stop is posted in the channel, since it changes what the
channel will be told."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack

from bot.queue.watch_book import WatchBook
from bot.rendering.watch import already_text, list_text, started_text, stopped_text
from bot.settings import Settings
from bot.watches import WatchCreate, WatchList, WatchRequest
from bot.words import CommandError
from handlers import ingress
from handlers.replying import QUEUE_DOWN

log = logging.getLogger(__name__)


def handle_watch(
    ack: Ack,
    request: WatchRequest,
    command: dict[str, Any],
    book: WatchBook,
    settings: Settings,
    now: datetime,
) -> None:
    """Do what was asked and answer in the acknowledgement."""
    target = ingress.from_command(command)
    try:
        if isinstance(request, WatchCreate):
            watch, fresh = book.create(request, target, now)
            if fresh:
                ack(text=started_text(watch, settings.command), response_type="in_channel")
            else:
                ack(text=already_text(watch), response_type="ephemeral")
        elif isinstance(request, WatchList):
            watches = book.channel_watches(target.team_id, target.channel_id, now)
            ack(text=list_text(watches, settings.command), response_type="ephemeral")
        else:
            watch = book.stop(request.watch_id, target.team_id, target.channel_id, target.user_id, now)
            ack(text=stopped_text(watch, target.user_id), response_type="in_channel")
    except CommandError as exc:
        ack(text=f":x: {exc}", response_type="ephemeral")
    except RedisError:
        log.exception("watch request in %s failed", target.channel_id)
        ack(text=QUEUE_DOWN, response_type="ephemeral")
