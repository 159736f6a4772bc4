"""A channel's context: the account, region and window an incident channel investigates.

`/flow context account 012345678901 region us-east-1 last 6h` binds them to the channel; every query
there uses them unless it names its own (bot/parse/command.py applies them, field by field). A new
`context …` replaces the whole context rather than merging into it, so what a channel uses is always
exactly what its last `context` message said. Contexts live in Redis, one JSON key per channel, and
expire after `context_ttl_days` without use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from redis import Redis

from bot.echo import shown
from bot.identifiers import ACCOUNT_ID, REGION, USER_ID
from bot.parse.command import parse_account, parse_duration, parse_region, parse_window
from bot.redis_keys import CONTEXT_KEY
from bot.request import UtcDatetime, Window
from bot.settings import Settings
from bot.words import CommandError

log = logging.getLogger(__name__)
CONTEXT_FORMS = (
    "the forms are `context account <12 digits> region <name> last 6h` (any of them), "
    "`context from <ISO 8601> to <ISO 8601>`, `context clear`, or `context` alone to show it"
)
_FIELDS = ("account", "region", "last", "from", "to")


class ContextScope(BaseModel):
    """The values a context sets: any of account, region and one window (a duration or absolute)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    account: str | None = Field(None, pattern=ACCOUNT_ID.pattern, description="AWS account ID.")
    region: str | None = Field(None, pattern=REGION.pattern, description="AWS region name.")
    last: str | None = Field(None, description="A rolling window, `6h`: the last 6 hours before each query.")
    window: Window | None = Field(None, description="An absolute window, for a past incident.")

    @field_validator("last")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        """The same durations `--last` takes."""
        if value is not None:
            parse_duration(value)  # a CommandError is a ValueError: pydantic reports it
            return value.lower()
        return value

    @model_validator(mode="after")
    def _one_window(self) -> ContextScope:
        if self.last is not None and self.window is not None:
            raise ValueError("a context has a rolling `last` window or an absolute one, not both")
        if self.account is None and self.region is None and self.last is None and self.window is None:
            raise ValueError("a context sets at least one of account, region and window")
        return self

    def describe(self) -> str:
        """Short text for a phone: `account 012345678901 · us-east-1 · last 6h`."""
        parts = [f"account {self.account}"] if self.account else []
        parts += [self.region] if self.region else []
        parts += [f"last {self.last}"] if self.last else []
        parts += [self.window.describe()] if self.window else []
        return " · ".join(parts)

    def only(self, *, account: bool, region: bool, window: bool) -> ContextScope | None:
        """The part of this context a request used, or None when it used none of it."""
        values = {
            "account": self.account if account else None,
            "region": self.region if region else None,
            "last": self.last if window else None,
            "window": self.window if window else None,
        }
        if all(value is None for value in values.values()):
            return None
        return ContextScope.model_validate(values)


class ChannelContext(ContextScope):
    """A channel's context as stored: its values, who set them and when."""

    set_by: str = Field(pattern=USER_ID.pattern, description="Slack user ID of who set it.")
    set_at: UtcDatetime


@dataclass(frozen=True)
class ContextRequest:
    """`/flow context …`: show the channel's context, replace it with `scope`, or clear it."""

    action: Literal["show", "set", "clear"]
    scope: ContextScope | None = None


def parse_context(words: list[str], settings: Settings, now: datetime) -> ContextRequest:
    """The (normalised) words after `context`; one clear line of error when they are wrong.

    Field names may be typed bare (`account 0123…`) or as the query options (`--account 0123…`,
    `--account=0123…`), since people type those by habit. Values are checked as a query's would be,
    against today's settings: the accounts and regions the table covers, and the longest window.
    """
    if not words:
        return ContextRequest("show")
    first = words[0].removeprefix("--").lower()
    if first in {"show", "clear"}:
        if len(words) > 1:
            raise CommandError(f"`context {first}` takes nothing more; {CONTEXT_FORMS}")
        return ContextRequest("clear" if first == "clear" else "show")
    values: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        name, equals, inline = word.removeprefix("--").partition("=")
        name = name.lower()
        if name not in _FIELDS:
            raise CommandError(f"unexpected `{shown(word)}`; {CONTEXT_FORMS}")
        if name in values:
            raise CommandError(f"`{name}` is given twice; {CONTEXT_FORMS}")
        if equals and inline:
            values[name] = inline
            i += 1
        elif not equals and i + 1 < len(words) and words[i + 1].removeprefix("--").lower() not in _FIELDS:
            values[name] = words[i + 1]
            i += 2
        else:
            raise CommandError(f"`{name}` needs a value; {CONTEXT_FORMS}")
    if "last" in values and ("from" in values or "to" in values):
        raise CommandError("a context's window is either `last 6h` or `from … to …`, not both")
    if ("from" in values) != ("to" in values):
        raise CommandError(
            "a context's absolute window needs both ends, e.g. `context from 2026-11-18T00:00 "
            "to 2026-11-19T12:00`; for an ongoing incident use `last 6h`"
        )
    account = parse_account(values["account"], settings, "account") if "account" in values else None
    region = parse_region(values["region"], settings, "region") if "region" in values else None
    window = None
    if "last" in values or "from" in values:
        window = parse_window({k: v for k, v in values.items() if k in {"last", "from", "to"}}, settings, now)
    try:
        scope = ContextScope(
            account=account,
            region=region,
            last=values.get("last"),
            window=window if "from" in values else None,
        )
    except ValidationError as exc:  # every field was checked above; this is a last guard
        raise CommandError(f"that context could not be understood: {exc.errors()[0]['msg']}") from None
    return ContextRequest("set", scope)


class ContextStore:
    """Channel contexts in Redis, one JSON key per channel.

    Each `get` renews the key's TTL, so a context lasts as long as its channel keeps querying and
    expires `ttl_seconds` after its last use.
    """

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        if ttl_seconds < 1:
            raise ValueError("a context's TTL is at least one second")
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def key(team_id: str, channel_id: str) -> str:
        """The Redis key of one channel's context."""
        return CONTEXT_KEY.format(team=team_id, channel=channel_id)

    def get(self, team_id: str, channel_id: str) -> ChannelContext | None:
        """The channel's context, if one is set; renews its TTL."""
        raw = self.redis.getex(self.key(team_id, channel_id), ex=self.ttl_seconds)
        return self._load(raw, team_id, channel_id)

    def put(self, team_id: str, channel_id: str, context: ChannelContext) -> ChannelContext | None:
        """Set the channel's context, replacing any; return the one it replaced."""
        raw = self.redis.set(
            self.key(team_id, channel_id), context.model_dump_json(), ex=self.ttl_seconds, get=True
        )
        return self._load(raw, team_id, channel_id)

    def clear(self, team_id: str, channel_id: str) -> bool:
        """Remove the channel's context; False when it had none."""
        return bool(self.redis.delete(self.key(team_id, channel_id)))

    @staticmethod
    def _load(raw: object, team_id: str, channel_id: str) -> ChannelContext | None:
        """A stored context; one written by an incompatible version counts as none (a put replaces it)."""
        if not isinstance(raw, bytes | str):  # None: no key (redis-py types `SET … GET` as bool too)
            return None
        try:
            return ChannelContext.model_validate_json(raw)
        except ValidationError:
            log.warning("ignoring an unreadable context for %s/%s", team_id, channel_id)
            return None
