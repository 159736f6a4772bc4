"""From a parsed request to a queued job and its status message, whichever way it was asked.

The slash command, an @mention, the "Look up IPs" shortcut and the *Rerun* button all end here:
check the rate limits, enqueue once (before acknowledging, so a queue that is down or a limit reached
is reported at once), then, after the acknowledgement, post the job's status message where it was asked.

Only queries reach `submit`, so only queries count against the limits (help, mistakes, cancel and
context do not). A Slack retry never takes a second slot: a request already enqueued is recognised by
its dedupe key before the limiter is asked, and the limiter itself holds one slot per request id, which
covers a retry racing its first delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from redis.exceptions import RedisError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.parse.channel_context import ChannelContext, ContextStore
from bot.queue.enqueue import FlowQueue
from bot.ratelimit import RateLimiter
from bot.recent import note_query
from bot.redis_keys import REQUEST_KEY
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from bot.slack import response_url
from bot.slack.delivery import NOT_IN_CHANNEL_NOTE
from bot.slack.status_board import status_board
from handlers import ingress
from handlers.replying import QUEUE_DOWN, tell_presser

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """A query refused by the per-person or per-channel limit; `str()` is the line to show the asker."""


class Asker:
    """Submits requests to the queue and opens their status messages.

    Status messages are posted on threads of their own: a listener thread is what acknowledges the next
    command, and one held for Slack's answer to the post (or a 429's Retry-After) would make later
    commands miss Slack's 3 s. When Slack is slow, status messages wait in line instead; a worker that
    starts a job first posts its status itself (bot/slack/status_board.py).
    """

    def __init__(self, settings: Settings, queue: FlowQueue, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.queue = queue
        self.contexts = ContextStore(queue.redis, settings.context_ttl_days * 86400)
        self.limiter = limiter or RateLimiter(queue.redis, settings)
        self._posting = ThreadPoolExecutor(settings.status_post_threads, thread_name_prefix="flowbot-status")
        self._pending: set[Future[None]] = set()

    def context_of(self, team_id: str, channel_id: str) -> ChannelContext | None:
        """The channel's context (`/flow context`), which its queries use. Raises RedisError."""
        return self.contexts.get(team_id, channel_id)

    def submit(self, request: FlowRequest, target: ReplyTarget) -> bool:
        """Enqueue; False when this Slack request was already enqueued (a retry).

        Raises RateLimited (nothing enqueued) when the asker or the channel is over its limit, and
        RedisError when the queue is unavailable."""
        fresh = self.counted(target, lambda: self.queue.submit(request, target))
        if fresh:
            note_query(self.queue.redis, self.settings, target, request.text, "queued")
        return fresh

    def counted(self, target: ReplyTarget, enqueue: Callable[[], bool]) -> bool:
        """Run `enqueue` for a request within the asker's and the channel's rate limits; False when the
        request was already enqueued (a retry: neither counted nor enqueued again). Raises RateLimited
        (nothing enqueued), or what `enqueue` raised (then not counted)."""
        if self.queue.redis.exists(REQUEST_KEY.format(job_id=target.job_id)):
            return False
        where = (target.team_id, target.channel_id, target.user_id)
        if refusal := self.limiter.check(*where, request_id=target.job_id):
            raise RateLimited(refusal)
        try:
            return enqueue()
        except Exception:
            self.limiter.release(*where, request_id=target.job_id)  # not enqueued: not counted
            raise

    def ask_from_action(
        self,
        client: WebClient,
        request: FlowRequest,
        body: dict[str, Any],
        *,
        kind: str,
        thread_ts: str | None,
    ) -> None:
        """A query from a button or a menu (`kind`): its target from the payload, enqueued once, what
        went wrong said to the presser alone, then the status message."""
        target = ingress.from_action(body, kind=kind, thread_ts=thread_ts)
        try:
            fresh = self.submit(request, target)
        except RateLimited as exc:
            tell_presser(client, body, str(exc))
            return
        except RedisError:
            log.exception("could not enqueue %s", request.text)
            tell_presser(client, body, QUEUE_DOWN)
            return
        if fresh:
            self.announce(client, request, target)

    def announce(self, client: WebClient, request: FlowRequest, target: ReplyTarget) -> None:
        """Have the job's status message posted on the status threads; returns at once."""
        posting = self._posting.submit(self._announce, client, request, target)
        self._pending.add(posting)
        posting.add_done_callback(self._pending.discard)

    def stop_announcing(self) -> int:
        """On shutdown: drop the status messages still waiting (their jobs are queued, and a worker posts
        a job's status itself when it finds none), finish the ones being posted; how many were dropped.
        Without this the process would not exit before posting a whole backlog."""
        waiting = [posting for posting in list(self._pending) if not posting.running()]
        self._posting.shutdown(wait=True, cancel_futures=True)
        return sum(posting.cancelled() for posting in waiting)

    def _announce(self, client: WebClient, request: FlowRequest, target: ReplyTarget) -> None:
        """Post the job's status message ("queued", with its place in line); where Flowbot may not
        post, tell the asker privately how to invite it. Never raises: the worker posts the status
        message itself if this one did not make it."""
        board = status_board(client, self.queue.redis, target, self.settings, in_listener=True)
        try:
            position = self.queue.position(target.job_id)
            ts = board.open(
                StatusView(JobState.QUEUED, request, target.job_id, target.user_id, position=position)
            )
        except SlackApiError as exc:
            log.warning("status message for job %s not posted: %s", target.job_id, exc.response.get("error"))
            return
        except Exception:  # the job is queued; its worker will post the status itself
            log.exception("status message for job %s not posted", target.job_id)
            return
        if ts is None and board.unpostable():
            # Only the asker may know: no DM yet, the answer itself will go there (bot/slack/delivery.py).
            response_url.send(
                target.response_url,
                text=f":hourglass_flowing_sand: Queued `{request.text}` (job {target.job_id[:8]}).\n"
                f"{NOT_IN_CHANNEL_NOTE}",
                response_type="ephemeral",
            )
