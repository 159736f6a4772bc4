"""`/flow watch …`: a query to repeat on newly delivered logs, the channel's watches, or one to stop.

The query is any `/flow` query, parsed by the same parser (so its addresses, account and region are as
typed and checked as anywhere); only its window is the watch's own, one interval at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.echo import shown
from bot.parse.command import ContextDefaults, Described, parse_command
from bot.query.catalog import Catalog
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.watches import WATCH_ID, WatchCreate, WatchList, WatchRequest, WatchStop, short_duration
from bot.words import CommandError

WATCH_WORD = "watch"
FORMS = "`watch hunt every 15m`, `watch ratio 10.0.1.25 every 1h`, `watch list` or `watch stop <id>`"
LONGEST_EVERY_SECONDS = 86400
_EVERY = re.compile(r"^([0-9]{1,6})\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WINDOW_OPTIONS = ("--last", "--from", "--to")


@dataclass(frozen=True)
class _WithoutWindow:
    """A channel's context as a watch uses it: its account and region, never its window."""

    context: ContextDefaults

    @property
    def account(self) -> str | None:
        return self.context.account

    @property
    def region(self) -> str | None:
        return self.context.region

    @property
    def last(self) -> str | None:
        return None

    @property
    def window(self) -> Window | None:
        return None

    def only(self, *, account: bool, region: bool, window: bool) -> Described | None:
        return self.context.only(account=account, region=region, window=False)


def parse_every(value: str, settings: Settings) -> int:
    """`15m`, `1h`, `1d`: seconds, within FLOWBOT_WATCH_MIN_EVERY_SECONDS and a day."""
    match = _EVERY.match(value)
    shortest = short_duration(settings.watch_min_every_seconds)
    if not match:
        raise CommandError(f"`every` takes an interval like 15m or 1h (got `{shown(value)}`)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]
    if not settings.watch_min_every_seconds <= seconds <= LONGEST_EVERY_SECONDS:
        raise CommandError(f"a watch runs every {shortest} at the most often, and at least once a day")
    return seconds


def parse_watch(
    words: list[str],
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    context: ContextDefaults | None = None,
) -> WatchRequest:
    """The words after `watch`; CommandError with the right form when they are wrong."""
    if not words:
        raise CommandError(f"`watch` takes {FORMS}")
    first = words[0].lower()
    if first == "list":
        if len(words) != 1:
            raise CommandError("`watch list` takes nothing more")
        return WatchList()
    if first == "stop":
        if len(words) != 2 or not WATCH_ID.fullmatch(words[1].lower()):
            raise CommandError("`watch stop` takes the watch's id, e.g. `watch stop w3f2a9c1` (`watch list`)")
        return WatchStop(words[1].lower())
    lowered = [w.lower() for w in words]
    if "every" not in lowered:
        raise CommandError(f"a watch needs its interval: `watch {shown(' '.join(words))} every 15m`")
    if lowered.index("every") != len(words) - 2:
        raise CommandError("`every <interval>` ends a watch, e.g. `watch hunt every 15m`")
    every = parse_every(words[-1], settings)
    query = words[:-2]
    if any(w.lower().split("=")[0] in _WINDOW_OPTIONS for w in query):
        raise CommandError(
            "a watch reads the logs delivered since its last run: leave out --last, --from and --to"
        )
    scope = _WithoutWindow(context) if context is not None else None  # a watch's windows are its own
    request = parse_command(" ".join(query), catalog, settings, now, scope)
    if not isinstance(request, FlowRequest):
        raise CommandError(f"`{shown(' '.join(query)) or 'that'}` is not a query to watch; {FORMS}")
    return WatchCreate(request, every)
