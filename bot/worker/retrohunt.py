"""A new indicator hunted back at once: the retro-hunt an `ioc add` queues, and its announcement.

"Did we ever talk to it?" is the first question about a new indicator. Adding indicators (command, form,
shortcut) queues one hunt over the last FLOWBOT_RETROHUNT_DAYS for the new ones only, as an ordinary query:
the pre-flight estimate, the confirmation and the channel's budget apply as to any. Its job id comes from
the submission's, and the queue makes one job per id, so a submission gets one retro-hunt however often its
job or Slack's delivery is repeated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.flowlog_format import format_columns
from bot.query.catalog import TABLE_OF_KIND, Catalog, QueryTemplate
from bot.query.ocsf import OCSF_FORMAT
from bot.rendering.finding import some_indicators
from bot.request import MAX_HUNTED_INDICATORS, FlowRequest, ReplyTarget, Window
from bot.settings import Settings

HUNTS = ("hunt", "tgw_hunt")
"""The hunt templates, VPC first: a retro-hunt uses the first the configured flow-log format can answer."""


def retrohunt_job_id(submission_job_id: str) -> str:
    """The retro-hunt's job id: one per submission (an `ioc add` job), whatever re-runs it."""
    return hashlib.sha256(f"retrohunt:{submission_job_id}".encode()).hexdigest()[:32]


def hunt_template(catalog: Catalog, settings: Settings) -> QueryTemplate | None:
    """The hunt this Flowbot's table and flow-log format can run; None when none can (the JSON table)."""
    ocsf = settings.flow_layout.file_format == "ocsf"
    fields = format_columns(OCSF_FORMAT if ocsf else settings.log_format)
    table = TABLE_OF_KIND[settings.table_kind]
    for name in HUNTS:
        template = catalog[name]
        if template.table == table and template.fields_used <= fields:
            return template
    return None


def retrohunt_request(
    indicators: Sequence[str], catalog: Catalog, settings: Settings, now: datetime
) -> FlowRequest | None:
    """The hunt of `indicators` over the last FLOWBOT_RETROHUNT_DAYS before `now`; None when retro-hunts
    are off, there is nothing new, or no hunt can run here."""
    days = settings.retrohunt_window_days
    template = hunt_template(catalog, settings)
    if days == 0 or not indicators or template is None:
        return None
    if settings.engine == "athena" and settings.account_projection == "injected" and not settings.accounts:
        return None  # the table needs its accounts named, and an indicator names none (README)
    end = now.astimezone(UTC).replace(microsecond=0)
    return FlowRequest(
        query=template.name,
        window=Window(start=end - timedelta(days=days), end=end),
        limit=min(template.default_limit or settings.default_limit, settings.max_limit),
        text=f"{' '.join(template.command)} {some_indicators(indicators)} --last {days}d (retro-hunt)",
        indicators=tuple(indicators[:MAX_HUNTED_INDICATORS]),
    )


def retrohunt_target(submission: ReplyTarget, channel: str, thread_ts: str | None) -> ReplyTarget:
    """Where the retro-hunt answers: the thread of the submission's reply (`channel`, `thread_ts`), for the
    submitter."""
    return submission.model_copy(
        update={
            "job_id": retrohunt_job_id(submission.job_id),
            "channel_id": channel,
            "thread_ts": thread_ts,
            "response_url": None,
        }
    )


def announce_retrohunt(
    client: WebClient,
    settings: Settings,
    request: FlowRequest,
    target: ReplyTarget,
    finding: str,
    link: str | None,
) -> None:
    """The retro-hunt's finding in the announce channel too, where the team follows indicators; nothing
    when there is none or the hunt ran there already."""
    channel = settings.ioc_announce_channel
    if not request.indicators or not channel or channel == target.channel_id:
        return
    where = f" (<{link}|answer and CSV>)" if link else f" (in <#{target.channel_id}>)"
    client.chat_postMessage(
        channel=channel,
        text=f":mag: Retro-hunt for <@{target.user_id}>'s new indicators: {finding}{where}",
        unfurl_links=False,
        unfurl_media=False,
    )
