"""What a kept answer posts when it is sent late: the summary in its thread, the CSV, and afterwards the
status message, the App Home and a direct message to the asker (bot/worker/redelivery.py decides when).

The summary was kept as text (`summary.txt`): it goes as Slack text, its finding in bold and its table in
monospace, under a first line saying when Slack would not take it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.recent import note_query
from bot.redis_keys import ROWS_KEY
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest
from bot.settings import Settings
from bot.slack.delivery import Delivered, Posted, permalink, post_message, upload_csv
from bot.slack.installations import bot_client
from bot.slack.pacing import ChannelPacer
from bot.slack.status_board import status_board
from bot.worker.undelivered import CSV, SUMMARY, About, write_about

log = logging.getLogger(__name__)
MAX_ASKED = 200
"""The question is quoted in the asker's DM up to this many characters."""


def send_kept(
    settings: Settings, redis: Redis, folder: Path, about: About, now: datetime
) -> tuple[WebClient, Posted, bool]:
    """The summary (or reply) where it was to go, then its CSV: the client, where it landed, and whether
    the CSV went to the asker's DM. A summary posted by an earlier try is not posted again; the channel's
    pace is kept, as the job keeps it (a sweep after an outage may hold many answers for one channel)."""
    target = about.target
    assert target is not None  # resendable
    client = bot_client(settings, team_id=target.team_id, enterprise_id=target.enterprise_id)
    if about.posted is not None:
        posted = Posted(**about.posted)
    else:
        text = (folder / SUMMARY).read_text(encoding="utf-8").strip()
        words = _answer_words(about, text) if about.kind == "answer" else text
        thread = (about.answer_thread or target.thread_ts) if about.kind == "answer" else target.thread_ts
        pacer = ChannelPacer(redis, settings.channel_post_interval_seconds)
        late = f"{_late(about, now)}\n{words}"
        posted = post_message(client, target, text=late, thread_ts=thread, pacer=pacer)
        try:
            write_about(folder, about.model_copy(update={"posted": asdict(posted)}))
        except OSError as exc:  # a retry would post the summary again: say so
            log.error("job %s: could not note its posted summary in %s: %s", about.job_id, folder, exc)
    csv = folder / CSV
    if not csv.exists() or about.rows == 0:
        return client, posted, False
    request = FlowRequest.model_validate(about.request) if about.request else None
    rows = f" ({about.rows:,} rows)" if about.rows is not None else ""
    direct = upload_csv(
        client,
        target,
        posted,
        csv,
        filename=f"flowbot-{request.query}-{about.job_id[:8]}.csv" if request else "flowbot-iocs.csv",
        title=f"{about.asked}{rows}" if request else "Flowbot indicators",
        about=f"`{about.asked}`" if request else "the indicator export",
    )
    return client, posted, direct


def tell_delivered(
    settings: Settings, redis: Redis, client: WebClient, about: About, posted: Posted, csv_direct: bool
) -> None:
    """After delivery: the status message to the answer, the App Home's recent queries, a DM to the asker.
    Best effort: the answer is in Slack, and is not sent again for any of these."""
    target = about.target
    assert target is not None
    shown: str | None = posted.ts
    try:
        if about.kind == "answer" and about.request is not None:
            board = status_board(client, redis, target, settings)
            board.attach(wait_seconds=0)
            where = Delivered(posted, csv_direct=csv_direct).where()
            view = StatusView(
                JobState.ANSWERED,
                FlowRequest.model_validate(about.request),
                about.job_id,
                target.user_id,
                finding=about.finding,
                more_rows=bool(redis.exists(ROWS_KEY.format(job_id=about.job_id))),
                in_thread=not target.thread_ts,
                where=f"delivered late · {where}" if where else "delivered late",
            )
            board.show(view, force=True)
            shown = posted.ts if posted.direct else board.ts or posted.ts
    except (SlackClientError, RedisError, ValueError) as exc:
        log.warning("job %s: status message not edited after re-sending: %s", about.job_id, exc)
    link = permalink(client, posted.channel, shown)
    note_query(redis, settings, target, about.asked, "answered", about.finding, link)
    noun = "answer" if about.kind == "answer" else "reply"
    found_at = f": {link}" if link else " in the channel you asked in."
    asked = _escape(about.asked if len(about.asked) <= MAX_ASKED else about.asked[: MAX_ASKED - 1] + "…")
    try:
        client.chat_postMessage(
            channel=target.user_id,
            text=f":mailbox_with_mail: `{asked}` (job {about.job_id[:8]}): Slack would not take the {noun} "
            f"at {_when(about)}; it is now posted{found_at}",
            unfurl_links=False,
        )
    except SlackClientError as exc:
        log.warning("job %s: the asker was not told of the late answer: %s", about.job_id, exc)


def _when(about: About) -> str:
    kept_at = about.kept_at or datetime.now(UTC)
    return f"{kept_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _late(about: About, now: datetime) -> str:
    kept_at = (about.kept_at or now).astimezone(UTC)
    when = f"{kept_at:%H:%M} UTC" if kept_at.date() == now.date() else _when(about)
    noun = "answer" if about.kind == "answer" else "reply"
    return f"_Delivered late: Slack would not take this {noun} at {when}._"


def _answer_words(about: About, text: str) -> str:
    """The kept summary as Slack text: its finding in bold, the table and scope in monospace."""
    finding, _, rest = text.partition("\n")
    body = f"\n```\n{_escape(rest.strip())}\n```" if rest.strip() else ""
    return f"*{_escape(about.finding or finding)}*{body}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
