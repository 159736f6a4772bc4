"""Cancelling a job, from `/flow cancel <job>` or the status message's *Cancel* button.

A queued job is cancelled at once and its status message says so (that is its one final answer);
a running one is flagged, and its worker stops the engine and says so itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from slack_sdk import WebClient

from bot.queue.cancel import CancelStatus
from bot.queue.enqueue import FlowQueue
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import claim_final
from bot.slack.status_board import status_board
from handlers.replying import QUEUE_DOWN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CancelReply:
    """What to tell the person who cancelled, and whether the whole channel should see it."""

    text: str
    public: bool = False


def cancel_job(
    queue: FlowQueue, settings: Settings, client: WebClient, ref: str, user_id: str
) -> CancelReply:
    """Cancel or stop the job `ref` (a full or short job id) on behalf of `user_id`."""
    try:
        outcome = queue.cancel(ref, user_id)
    except RedisError:
        log.exception("could not cancel %s", ref)
        return CancelReply(QUEUE_DOWN)
    job = ref[:8]
    if outcome.status is CancelStatus.CANCELLED and outcome.job_id:
        claim_final(queue.redis, outcome.job_id)  # the cancellation is the job's one final answer
        if _show_cancelled(queue, settings, client, outcome.args, user_id):
            return CancelReply(f"Cancelled job {job} (`{outcome.asked}`) before it ran.")
        return CancelReply(
            f":no_entry_sign: <@{user_id}> cancelled `{outcome.asked}` (job {job}) before it ran.",
            public=True,
        )
    if outcome.status is CancelStatus.STOPPING:
        return CancelReply(
            f"Stopping job {job} (`{outcome.asked}`); its status message will say it was cancelled."
        )
    if outcome.status is CancelStatus.FINISHED:
        return CancelReply(f"Job {job} is no longer queued or running.")
    return CancelReply(f"No job {job} is queued or running.")


def _show_cancelled(
    queue: FlowQueue, settings: Settings, client: WebClient, args: tuple[object, ...], user_id: str
) -> bool:
    """Edit a cancelled query's status message; False when it has none (or is not a query)."""
    if len(args) != 2 or not isinstance(args[0], dict) or "query" not in args[0]:
        return False
    request = FlowRequest.model_validate(args[0])
    target = ReplyTarget.model_validate(args[1])
    board = status_board(client, queue.redis, target, settings, in_listener=True)
    if board.attach(wait_seconds=1.0) is None:
        return False
    board.show(
        StatusView(JobState.CANCELLED, request, target.job_id, target.user_id, cancelled_by=user_id),
        force=True,
    )
    return True
