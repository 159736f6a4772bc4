"""Everything `/flow` (and `flowbot ask`) understands, parsed from one place.

Queries go to the template parser (bot/parsing.py), indicator commands to bot/iocs/commands.py; both
share the normalisation of Slack's rewrites, so a link or a phone dash means the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from bot.catalog import Catalog
from bot.iocs.commands import IocRequest, parse_ioc
from bot.parsing import CancelRequest, HelpRequest, normalise, parse_command
from bot.request import FlowRequest
from bot.settings import Settings

Request = FlowRequest | HelpRequest | CancelRequest | IocRequest


def parse(text: str, catalog: Catalog, settings: Settings, now: datetime) -> Request:
    """What the text asks for; raises `CommandError` with one clear line when it is wrong."""
    words = normalise(text)
    if words[:1] == ["--"]:
        words = words[1:]
    if words and words[0].lower() == "ioc":
        return parse_ioc(words[1:])
    return parse_command(text, catalog, settings, now)
