"""One status message per job, posted once and edited as the job moves.

The listener posts it right after acknowledging the command; a fast worker may start the job
before that post has returned. Whoever sets the `claim` field of `flowbot:status:<job id>` first
posts the message and then records its `ts`; the other waits briefly for that `ts`. A `ts` of ""
means the message could not be posted (Flowbot is not in the channel): the answer then goes
where the command's response_url points.

A job's final state (answered, failed, cancelled) is kept in the same hash before it is shown. A post
that lands after the job ended (Slack slow or rate-limiting the listener's "queued") reads it and edits
itself to it at once, so a "queued" message never outlives its answer: whichever of the two writes
second sees the other's (issue #16).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.redis_keys import STATUS_KEY, STATUS_TTL_SECONDS
from bot.rendering.status import FINAL_STATES, StatusView
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.slack.pacing import MAX_WAIT_SECONDS, ChannelPacer

log = logging.getLogger(__name__)
ATTACH_WAIT_SECONDS = 5.0
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
"""Slack's answers for a channel Flowbot may not post in: explain how to invite it, do not retry."""


class StatusBoard:
    """A job's status message in its channel (or in the thread it was asked from)."""

    def __init__(
        self,
        client: WebClient,
        redis: Redis,
        *,
        job_id: str,
        channel_id: str,
        thread_ts: str | None,
        pacer: ChannelPacer,
        min_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.redis = redis
        self.job_id = job_id
        self.channel_id = channel_id
        self.thread_ts = thread_ts
        self.pacer = pacer
        self.min_interval = min_interval_seconds
        self._clock = clock
        self._key = STATUS_KEY.format(job_id=job_id)
        self._ts: str | None = None
        self._last_edit: float | None = None

    @property
    def ts(self) -> str | None:
        """The status message's ts, once it exists."""
        return self._ts

    @property
    def answer_thread(self) -> str | None:
        """Where the answer goes: the request's own thread, else the status message's."""
        return self.thread_ts or self._ts

    def open(self, view: StatusView) -> str | None:
        """Listener side: post the status message unless the worker already did; its ts, or None
        when Flowbot may not post in the channel.

        Raises SlackApiError for other failures (the caller decides whether that matters).
        """
        if not self.redis.hsetnx(self._key, "claim", "1"):
            return self.attach()
        return self._post(view)

    def ensure(self, view: StatusView) -> str | None:
        """Worker side: show `view` on the listener's message, or post it when nobody has."""
        if self.redis.hsetnx(self._key, "claim", "1"):
            return self._post(view)
        if self.attach() is not None:
            self.show(view, force=True)
        return self._ts

    def _post(self, view: StatusView) -> str | None:
        self.redis.expire(self._key, STATUS_TTL_SECONDS)
        try:
            self.pacer.wait(self.channel_id)
            posted = self.client.chat_postMessage(
                channel=self.channel_id,
                thread_ts=self.thread_ts,
                text=view.fallback(),
                blocks=view.blocks(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_POSTABLE:
                self.redis.hset(self._key, "ts", "")
                return None
            self.redis.hdel(self._key, "claim")
            raise
        self._ts = str(posted["ts"])
        self._last_edit = self._clock()
        self.redis.hset(self._key, "ts", self._ts)
        text, blocks = self.redis.hmget(self._key, ["final_text", "final_blocks"])
        if text is not None and blocks is not None:  # the job ended while this post was under way
            self._edit(_text(text), json.loads(blocks))
        return self._ts

    def attach(self, wait_seconds: float = ATTACH_WAIT_SECONDS) -> str | None:
        """The ts another process posted (or is posting) the status message under; None if none."""
        deadline = self._clock() + wait_seconds
        while True:
            claim, ts = self.redis.hmget(self._key, ["claim", "ts"])
            if ts is not None:
                self._ts = ts.decode() if isinstance(ts, bytes) else str(ts)
                self._ts = self._ts or None
                return self._ts
            if claim is None or self._clock() >= deadline:
                return None
            time.sleep(0.05)

    def unpostable(self) -> bool:
        """Whether Slack refused the status message because Flowbot may not post in the channel."""
        return self.redis.hget(self._key, "ts") in {b"", ""}

    def show(self, view: StatusView, *, force: bool = False) -> None:
        """Edit the message to `view`, at most once per `min_interval` unless forced (final states).

        A final view is kept first, for a status post still under way (see the module's docstring)."""
        if view.state in FINAL_STATES:
            self.redis.hset(
                self._key, mapping={"final_text": view.fallback(), "final_blocks": json.dumps(view.blocks())}
            )
            self.redis.expire(self._key, STATUS_TTL_SECONDS)
            if self._ts is None:
                self.attach(wait_seconds=0)
        if self._ts is None:
            return
        now = self._clock()
        if not force and self._last_edit is not None and now - self._last_edit < self.min_interval:
            return
        self._last_edit = now
        self._edit(view.fallback(), view.blocks())

    def _edit(self, text: str, blocks: list[dict[str, object]]) -> None:
        if self._ts is None:
            return
        try:
            self.client.chat_update(channel=self.channel_id, ts=self._ts, text=text, blocks=blocks)
        except SlackApiError as exc:  # the answer itself is in the thread; a stale status is not fatal
            log.warning("status edit for job %s failed: %s", self.job_id, exc.response.get("error"))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def status_board(
    client: WebClient, redis: Redis, target: ReplyTarget, settings: Settings, *, in_listener: bool = False
) -> StatusBoard:
    """The job's status message, wherever it was asked.

    A listener never waits for the channel's pace: Bolt runs listeners on a small thread pool, and
    listeners waiting their turn in a busy channel would hold every thread and make Slack's next
    commands miss their 3-second acknowledgement. Its post still counts in the channel's pace, and the
    per-channel query limit bounds how many there can be.
    """
    return StatusBoard(
        client,
        redis,
        job_id=target.job_id,
        channel_id=target.channel_id,
        thread_ts=target.thread_ts,
        pacer=ChannelPacer(
            redis,
            settings.channel_post_interval_seconds,
            max_wait_seconds=0.0 if in_listener else MAX_WAIT_SECONDS,
        ),
        min_interval_seconds=settings.status_update_seconds,
    )
