"""Everything `/flow` (and `flowbot ask`) understands, parsed from one place.

Queries go to the template parser (bot/parse/command.py), indicator commands to bot/iocs/commands.py and,
in Slack only, `context …` to bot/parse/channel_context.py; all share the normalisation of Slack's
rewrites, so a link or a phone dash means the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from bot.evidence.request import EvidenceRequest
from bot.iocs.commands import IocRequest, parse_ioc
from bot.parse.channel_context import ChannelContext, ContextRequest, parse_context
from bot.parse.command import CancelRequest, HelpRequest, parse_command
from bot.parse.evidence import parse_evidence
from bot.parse.guardduty import GUARDDUTY_WORD, parse_guardduty
from bot.parse.watch import WATCH_WORD, parse_watch
from bot.query.catalog import Catalog
from bot.request import FlowRequest, GuardDutyRequest
from bot.settings import Settings
from bot.watches import WatchRequest
from bot.words import CommandError, normalise

Request = FlowRequest | HelpRequest | CancelRequest | IocRequest
ChannelRequest = Request | ContextRequest | GuardDutyRequest | EvidenceRequest | WatchRequest
"""What a command typed in a Slack channel can ask: a channel has a context to show, set or clear."""


def _words(text: str) -> list[str]:
    words = normalise(text)
    return words[1:] if words[:1] == ["--"] else words


def parse(
    text: str, catalog: Catalog, settings: Settings, now: datetime, context: ChannelContext | None = None
) -> Request:
    """What the text asks for; raises `CommandError` with one clear line when it is wrong.

    `context` is the channel's context, if any: queries use its values where they name none.
    """
    words = _words(text)
    if words and words[0].lower() == "ioc":
        return parse_ioc(words[1:])
    if words and words[0].lower() == "context":
        raise CommandError("`context` belongs to a Slack channel; here give --account, --region or --last")
    if words and words[0].lower() == GUARDDUTY_WORD:
        raise CommandError(
            "`guardduty` runs from Slack: `/flow guardduty <finding-id>` in a channel, or the *Pivot on "
            "GuardDuty* message shortcut on the finding's message"
        )
    if words and words[0].lower() == WATCH_WORD:
        raise CommandError("`watch` runs from Slack: `/flow watch hunt every 15m` in the channel to watch")
    return parse_command(text, catalog, settings, now, context)


def parse_in_channel(
    text: str, catalog: Catalog, settings: Settings, now: datetime, context: ChannelContext | None = None
) -> ChannelRequest:
    """As `parse`, plus `context …`: the `/flow` listener's entry point (`flowbot ask` has no channel)."""
    words = _words(text)
    if words and words[0].lower() == "context":
        return parse_context(words[1:], settings, now)
    if words and words[0].lower() == "evidence":
        return parse_evidence(words[1:], now)
    if words and words[0].lower() == GUARDDUTY_WORD:
        return parse_guardduty(words[1:], settings)
    if words and words[0].lower() == WATCH_WORD:
        return parse_watch(words[1:], catalog, settings, now, context)
    return parse(text, catalog, settings, now, context)
