"""Every reply that quotes what was typed quotes a bounded part of it (issue #16: 1 MB typed came back as
a 1,052,243-character reply)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.echo import ECHO_LIMIT, shown
from bot.parse.command import HelpRequest
from bot.parse.help import help_text
from bot.parse.in_channel import parse_in_channel
from bot.query.catalog import load_catalog
from bot.settings import Settings
from bot.words import CommandError

BIG = "A" * 1_000_000
NOW = datetime(2026, 11, 20, tzinfo=UTC)
BOUND = 8_000
"""The longest reply a mistake may get: the command list (the help) plus a quoted word."""


@pytest.mark.parametrize(
    "text",
    [
        BIG,
        f"ratio {BIG}",
        f"ratio 10.0.1.25 {BIG}",
        f"ratio 10.0.1.25 --{BIG}",
        f"ratio 10.0.1.25 --last {BIG}",
        f"ratio 10.0.1.25 --from {BIG}",
        f"ratio 10.0.1.25 --account {BIG}",
        f"ratio 10.0.1.25 --region {BIG}",
        f"ratio 10.0.1.25 --limit {BIG}",
        f"ioc {BIG}",
        f"ioc add {BIG}",
        f"ioc add 10.{BIG}",
        f"ioc history {BIG}",
        f"context {BIG}",
        f"context last {BIG}",
        f"context account {BIG}",
    ],
    ids=lambda t: t.replace(BIG, "<1 MB>"),
)
def test_a_mistake_quotes_a_bounded_part_of_what_was_typed(text: str) -> None:
    catalog, settings = load_catalog(), Settings(accounts="012345678901", regions="us-east-1")
    try:
        parsed = parse_in_channel(text, catalog, settings, NOW)
    except CommandError as exc:
        reply = str(exc)
    else:
        assert isinstance(parsed, HelpRequest), parsed
        reply = help_text(catalog, settings, parsed.unknown)
    assert len(reply) < BOUND, len(reply)
    assert "A" * (ECHO_LIMIT + 1) not in reply


def test_shown_keeps_short_text_and_cuts_long_text_to_one_line() -> None:
    assert shown("10.0.1.25") == "10.0.1.25"
    assert shown("a`b\nc") == "a'b c"
    cut = shown("x" * 100)
    assert len(cut) == ECHO_LIMIT and cut.endswith("...")
