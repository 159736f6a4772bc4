"""`/flow ioc ...`: the words a responder types about indicators, parsed into typed requests.

Parsing only: what a user may do is checked by the listener (bot/permissions.py), and the store is
touched by the worker, never by the listener.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.echo import shown
from bot.iocs.indicators import IndicatorError, parse_indicator
from bot.words import CommandError

MAX_COMMENT = 500
"""The longest comment a responder may give, after `ioc add` or in the form (whose input stops there);
the store's own bound on a record is looser (`store.MAX_STORED_COMMENT`)."""
IOC_FORMS = (
    "`ioc add <ip|cidr>… [comment]`, `ioc remove <ip|cidr>…`, `ioc list [page]`, `ioc export`, "
    "`ioc history <ip|cidr>`, or `ioc` alone for a form"
)


class IocAdd(BaseModel):
    """Add one or more indicators with one comment."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["add"] = "add"
    indicators: tuple[str, ...] = Field(min_length=1)
    comment: str = Field("", max_length=MAX_COMMENT)


class IocRemove(BaseModel):
    """Remove indicators from the list hunts use (their history stays)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["remove"] = "remove"
    indicators: tuple[str, ...] = Field(min_length=1)


class IocList(BaseModel):
    """One page of the current indicators."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["list"] = "list"
    page: int = Field(1, ge=1)


class IocExport(BaseModel):
    """Every current indicator as a CSV file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["export"] = "export"


class IocHistory(BaseModel):
    """The audit log of one indicator."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["history"] = "history"
    indicator: str


class IocForm(BaseModel):
    """`/flow ioc` alone: open the form to paste many indicators."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["form"] = "form"


IocRequest = IocAdd | IocRemove | IocList | IocExport | IocHistory | IocForm
IOC_REQUEST: TypeAdapter[IocRequest] = TypeAdapter(Annotated[IocRequest, Field(discriminator="kind")])
"""Reads a request back from the JSON it crossed the queue as."""


def _indicator(word: str) -> str:
    try:
        return parse_indicator(word).value
    except IndicatorError as exc:
        raise CommandError(str(exc)) from None


def parse_ioc(words: list[str]) -> IocRequest:
    """The words after `ioc`; one clear line of error when they are wrong."""
    if not words:
        return IocForm()
    verb, rest = words[0].lower(), words[1:]
    if verb == "add":
        indicators: list[str] = []
        while rest and not rest[0].startswith("--"):
            try:
                indicators.append(parse_indicator(rest[0]).value)
            except IndicatorError:
                if not indicators:
                    raise CommandError(
                        f"`{shown(rest[0])}` is not an IP address or CIDR range; "
                        "the form is `ioc add <ip|cidr>… [comment]`"
                    ) from None
                break
            rest = rest[1:]
        if not indicators:
            raise CommandError(
                "`ioc add` needs at least one IP address or CIDR range, e.g. `ioc add 203.0.113.7 C2`"
            )
        comment = " ".join(rest[1:] if rest[:1] == ["--"] else rest).strip().encode(errors="replace").decode()
        if len(comment) > MAX_COMMENT:
            raise CommandError(f"the comment is longer than {MAX_COMMENT} characters")
        return IocAdd(indicators=tuple(dict.fromkeys(indicators)), comment=comment)
    if verb == "remove":
        if not rest:
            raise CommandError("`ioc remove` needs the IP addresses or ranges to remove")
        return IocRemove(indicators=tuple(dict.fromkeys(_indicator(w) for w in rest)))
    if verb == "list":
        if (
            len(rest) > 1
            or (rest and not (rest[0].isascii() and rest[0].isdigit()))
            or (rest and int(rest[0]) < 1)
        ):
            raise CommandError("`ioc list` takes an optional page number, e.g. `ioc list 2`")
        return IocList(page=int(rest[0]) if rest else 1)
    if verb == "export":
        if rest:
            raise CommandError("`ioc export` takes nothing more")
        return IocExport()
    if verb == "history":
        if len(rest) != 1:
            raise CommandError("`ioc history` takes one IP address or range, e.g. `ioc history 203.0.113.7`")
        return IocHistory(indicator=_indicator(rest[0]))
    raise CommandError(f"unknown `ioc {shown(words[0])}`; the forms are {IOC_FORMS}")
