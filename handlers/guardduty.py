"""The GuardDuty pivot from Slack: `/flow guardduty <finding-id>` and the message shortcut "Pivot on
GuardDuty". Listeners only check the finding id and enqueue one pivot job per Slack request
(bot/worker/guardduty.py reads the finding, posts its header and queues its queries in one thread).
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.parse.guardduty import findings_in, parse_guardduty
from bot.parse.slack_text import message_text
from bot.queue.cancel import short_id
from bot.request import GuardDutyRequest, ReplyTarget
from bot.settings import Settings
from bot.slack_ids import GUARDDUTY_SHORTCUT
from bot.words import CommandError
from handlers import ingress
from handlers.asking import Asker, RateLimited
from handlers.replying import QUEUE_DOWN, tell

log = logging.getLogger(__name__)
MAX_FINDINGS_NAMED = 5


def submit_pivot(asker: Asker, request: GuardDutyRequest, target: ReplyTarget) -> bool:
    """Enqueue the pivot once, counted like one query (as `Asker.submit` counts a query); False for a
    Slack retry of a request already enqueued. Raises RateLimited or RedisError."""
    return asker.counted(target, lambda: asker.queue.submit_guardduty(request, target))


def _on_it(request: GuardDutyRequest, target: ReplyTarget, where: str) -> str:
    return (
        f":hourglass_flowing_sand: Reading GuardDuty finding `{request.finding_id}` (job "
        f"{short_id(target.job_id)}); its `ratio` and `timeline` answers go {where}."
    )


def handle_guardduty_command(
    ack: Ack, request: GuardDutyRequest, command: dict[str, Any], asker: Asker
) -> None:
    """`/flow guardduty <finding-id>`: enqueue the pivot and acknowledge to the asker alone; the header
    message then appears in the channel, its queries in its thread."""
    target = ingress.from_command(command)
    try:
        submit_pivot(asker, request, target)
    except RateLimited as exc:
        ack(text=str(exc), response_type="ephemeral")
        return
    except RedisError:
        log.exception("could not enqueue %s", request.text)
        ack(text=QUEUE_DOWN, response_type="ephemeral")
        return
    ack(text=_on_it(request, target, "in one thread under its header"), response_type="ephemeral")


def register(app: App, settings: Settings, asker: Asker) -> None:
    """Attach the message shortcut's listener."""

    @app.shortcut(GUARDDUTY_SHORTCUT)
    def handle_guardduty_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Pivot on the one GuardDuty finding the message names, in the message's thread."""
        ack()
        channel, user = shortcut["channel"]["id"], shortcut["user"]["id"]
        url = shortcut.get("response_url")
        target = ingress.from_message_shortcut(shortcut)

        def say(text: str) -> None:
            tell(client, user=user, text=text, url=url, channel=channel, thread_ts=target.thread_ts)

        read = message_text(shortcut.get("message") or {})
        if read.refusal:
            say(f":warning: Not read: {read.refusal}.")
            return
        found = findings_in(read.text)
        if not found:
            say(
                "That message names no GuardDuty finding (a finding id, a finding ARN or a GuardDuty console "
                f"link); `{settings.command} guardduty <finding-id>` takes one typed."
            )
            return
        if len(found) > 1:
            named = ", ".join(f"`{f.finding_id}`" for f in found[:MAX_FINDINGS_NAMED])
            say(
                f"That message names {len(found)} GuardDuty findings ({named}); pick one with "
                f"`{settings.command} guardduty <finding-id>`."
            )
            return
        [ref] = found
        try:
            words = [ref.finding_id, *(["--region", ref.region] if ref.region else [])]
            request = parse_guardduty(words, settings)
            fresh = submit_pivot(asker, request, target)
        except CommandError as exc:
            say(f":x: {exc}")
            return
        except RateLimited as exc:
            say(str(exc))
            return
        except RedisError:
            log.exception("could not enqueue a GuardDuty pivot")
            say(QUEUE_DOWN)
            return
        if fresh:
            say(_on_it(request, target, "in this message's thread"))
