"""The `/flow` parser: every command and option, Slack's rewrites, and no text that escapes its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parse.command import CancelRequest, HelpRequest, parse_command
from bot.query.catalog import load_catalog
from bot.request import FlowRequest
from bot.settings import Settings
from bot.words import CommandError

NOW = datetime(2026, 11, 25, 14, 30, 15, tzinfo=UTC)
CATALOG = load_catalog()
SETTINGS = Settings()


def parse(text: str) -> FlowRequest:
    result = parse_command(text, CATALOG, SETTINGS, NOW)
    assert isinstance(result, FlowRequest)
    return result


def error_of(text: str) -> str:
    with pytest.raises(CommandError) as caught:
        parse_command(text, CATALOG, SETTINGS, NOW)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "query", "params"),
    [
        ("count", "count", {}),
        ("sample", "sample", {}),
        ("top src", "top_src", {}),
        ("TOP DST", "top_dst", {}),
        ("timeline 198.51.100.23", "timeline", {"ip": "198.51.100.23"}),
        ("ratio 10.10.10.10", "ratio", {"ip": "10.10.10.10"}),
        ("ratio 2600:1F18:0:0::1", "ratio", {"ip": "2600:1f18::1"}),
        ("-- ratio 10.0.1.25", "ratio", {"ip": "10.0.1.25"}),
    ],
)
def test_every_command(text: str, query: str, params: dict[str, str]) -> None:
    request = parse(text)
    assert request.query == query
    assert {k: str(v) for k, v in request.params.items()} == params


@pytest.mark.parametrize(
    "typed",
    [
        "<http://10.1.1.1|10.1.1.1>",
        "<http://10.1.1.1>",
        "10[.]1[.]1[.]1",
        "10(.)1(.)1(.)1",
        "10[dot]1[dot]1[dot]1",
        "hxxp://10[.]1[.]1[.]1/",
        "hxxps[:]//10.1.1.1",
        "`10.1.1.1`",
    ],
)
def test_slack_links_and_defanged_addresses(typed: str) -> None:
    assert str(parse(f"ratio {typed}").params["ip"]) == "10.1.1.1"


def test_defanged_ipv6() -> None:
    assert str(parse("timeline 2600[:]1f18[:][:]1").params["ip"]) == "2600:1f18::1"


@pytest.mark.parametrize("dash", ["--", "\u2014", "\u2013", "-", "\u2013\u2013", "\u2212"])
def test_phone_dashes(dash: str) -> None:
    request = parse(f"count {dash}last 6h")
    assert request.window.end - request.window.start == timedelta(hours=6)


def test_default_window_is_last_24h_ending_now() -> None:
    window = parse("count").window
    assert window.end == NOW
    assert window.end - window.start == timedelta(hours=24)


@pytest.mark.parametrize(
    ("value", "span"),
    [
        ("15m", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_last(value: str, span: timedelta) -> None:
    window = parse(f"count --last {value}").window
    assert (window.start, window.end) == (NOW - span, NOW)


def test_from_to_without_zone_is_utc_and_with_zone_converted() -> None:
    window = parse("count --from 2026-11-20T10:00 --to 2026-11-21T12:00+02:00").window
    assert window.start == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_from_alone_runs_to_now_and_date_only_is_midnight() -> None:
    window = parse("count --from=2026-11-24").window
    assert window.start == datetime(2026, 11, 24, tzinfo=UTC)
    assert window.end == NOW


def test_partition_days_cover_the_window_plus_the_delivery_margin() -> None:
    request = parse("count --from 2026-11-24T00:00Z --to 2026-11-25T00:00Z")
    bound = request.bindings()
    assert (bound["first_day"], bound["last_day"]) == ("2026/11/24", "2026/11/25")
    assert (bound["from_ts"], bound["to_ts"]) == (1795478400, 1795564800)


def test_account_region_limit() -> None:
    request = parse("ratio 10.0.1.25 --account 012345678901 --region US-EAST-1 --limit 1,000")
    assert (request.account, request.region, request.limit) == ("012345678901", "us-east-1", 1000)
    assert request.bindings()["account"] == "012345678901"


def test_limits_default_per_template() -> None:
    assert parse("sample").limit == 1000
    assert parse("top src").limit == 100
    assert parse("ratio 10.0.1.25").limit == SETTINGS.default_limit


@pytest.mark.parametrize("text", ["help", "", "  ", "?", "--help"])
def test_help(text: str) -> None:
    assert parse_command(text, CATALOG, SETTINGS, NOW) == HelpRequest()


def test_cancel_takes_a_job_id() -> None:
    assert parse_command("cancel 3F2A9C1D", CATALOG, SETTINGS, NOW) == CancelRequest("3f2a9c1d")
    for bad in ("cancel", "cancel me", "cancel 3f2a9c1d now"):
        with pytest.raises(CommandError, match="cancel takes the job id"):
            parse_command(bad, CATALOG, SETTINGS, NOW)


def test_unknown_word_is_help_naming_it() -> None:
    assert parse_command("frobnicate 1.2.3.4", CATALOG, SETTINGS, NOW) == HelpRequest(unknown="frobnicate")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ratio", "`ratio` needs"),
        ("ratio 10.0.1", "`10.0.1` is not an IP address"),
        ("ratio 10.0.1.25 10.0.1.26", "unexpected `10.0.1.26`"),
        ("top", "`top dst` or `top src`"),
        ("top sideways", "`top dst` or `top src`"),
        ("count --last 6x", "--last takes a duration like 15m, 6h or 7d"),
        ("count --last 0m", "--last takes a duration"),
        ("count --last 91d", "longer than 90 days"),
        ("count --from yesterday", "--from takes an ISO 8601 time"),
        ("count --from 2026-11-25T10:00 --to 2026-11-25T09:00", "--from must be before --to"),
        ("count --to 2026-11-25T09:00", "--to needs --from"),
        ("count --last 6h --from 2026-11-25", "either --last or --from/--to"),
        ("count --account 12345", "--account takes a 12-digit"),
        ("count --region mars", "--region takes an AWS region"),
        ("count --limit 0", "--limit takes a whole number from 1 to 1,000,000"),
        ("count --limit 1000001", "--limit takes a whole number"),
        ("count --limit", "--limit needs a value"),
        ("count --frob 1", "unknown option `--frob`"),
        ("count --last 1h --last 2h", "--last is given twice"),
    ],
)
def test_errors_say_what_was_wrong(text: str, says: str) -> None:
    message = error_of(text)
    assert says in message
    assert "\n" not in message


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_no_text_raises_anything_but_a_command_error(text: str) -> None:
    try:
        result = parse_command(text, CATALOG, SETTINGS, NOW)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, FlowRequest | HelpRequest | CancelRequest)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "ratio",
                "timeline",
                "top",
                "src",
                "count",
                "--last",
                "—last",
                "--from",
                "--to",
                "--limit",
                "--account",
                "--region",
                "6h",
                "99999999w",
                "0001-01-01",
                "9999-12-31T23:59:59-23:59",
                "10.0.1.25",
                "::1",
                "<http://1.2.3.4|1.2.3.4>",
                "012345678901",
                "us-east-1",
                "-1",
                "1e9",
            ]
        ),
        max_size=8,
    ).map(" ".join)
)
def test_option_soup_never_escapes(text: str) -> None:
    try:
        parse_command(text, CATALOG, SETTINGS, NOW)
    except CommandError:
        pass
