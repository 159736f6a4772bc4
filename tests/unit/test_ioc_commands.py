"""`/flow ioc …` parsing: every form, defanged input, one clear line for anything wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.iocs.commands import (
    IOC_REQUEST,
    IocAdd,
    IocExport,
    IocForm,
    IocHistory,
    IocList,
    IocRemove,
    parse_ioc,
)
from bot.parse.in_channel import parse
from bot.query.catalog import load_catalog
from bot.settings import Settings
from bot.words import CommandError

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("", IocForm()),
        ("add 203.0.113[.]7", IocAdd(indicators=("203.0.113.7",))),
        (
            "add 203.0.113.7 198.51.100.0/24 phishing kit C2",
            IocAdd(indicators=("203.0.113.7", "198.51.100.0/24"), comment="phishing kit C2"),
        ),
        ("add 203.0.113.7 203.0.113.7 -- 2 for 1", IocAdd(indicators=("203.0.113.7",), comment="2 for 1")),
        ("add 2600[:]1f18[:][:]1 v6", IocAdd(indicators=("2600:1f18::1",), comment="v6")),
        ("remove 203.0.113.7 10[.]1[.]0[.]0/16", IocRemove(indicators=("203.0.113.7", "10.1.0.0/16"))),
        ("list", IocList()),
        ("list 3", IocList(page=3)),
        ("export", IocExport()),
        ("history 203.0.113[.]7", IocHistory(indicator="203.0.113.7")),
    ],
)
def test_forms(words: str, expected: object) -> None:
    assert parse_ioc(words.split()) == expected


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("add", "needs at least one IP address"),
        ("add c2 203.0.113.7", "`c2` is not an IP address or CIDR range"),
        ("remove", "needs the IP addresses"),
        ("remove nope", "nope"),
        ("list x", "optional page number"),
        ("list 0", "optional page number"),
        ("export now", "takes nothing more"),
        ("history", "takes one IP address"),
        ("frob 1.2.3.4", "unknown `ioc frob`"),
        ("add 203.0.113.7 " + "x" * 501, "longer than 500"),
    ],
)
def test_errors(words: str, says: str) -> None:
    with pytest.raises(CommandError, match=says):
        parse_ioc(words.split())


def test_requests_survive_the_queue() -> None:
    request = IocAdd(indicators=("203.0.113.7",), comment="c2")
    assert IOC_REQUEST.validate_python(request.model_dump(mode="json")) == request


def test_ioc_words_go_to_the_ioc_parser_with_slack_rewrites_undone() -> None:
    parsed = parse("ioc add <http://203.0.113.7|203.0.113.7> —— c2", load_catalog(), Settings(), NOW)
    assert parsed == IocAdd(indicators=("203.0.113.7",), comment="c2")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60).map(lambda t: "ioc " + t))
def test_no_ioc_text_raises_anything_but_a_command_error(text: str) -> None:
    try:
        parse(text, load_catalog(), Settings(), NOW)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc)
