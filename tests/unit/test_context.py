"""A channel's context: parsing `context …`, how queries use it field by field, its store, its replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from redis import Redis

from bot.parse.channel_context import (
    ChannelContext,
    ContextRequest,
    ContextScope,
    ContextStore,
    parse_context,
)
from bot.parse.command import HelpRequest, parse_command
from bot.parse.help import help_text
from bot.parse.in_channel import parse, parse_in_channel
from bot.query.catalog import load_catalog
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.words import CommandError, normalise
from handlers.context import UNAVAILABLE, handle_context

NOW = datetime(2026, 11, 25, 14, 30, 15, tzinfo=UTC)
CATALOG = load_catalog()
SETTINGS = Settings()
LISTED = Settings(accounts=("012345678901", "111122223333"), regions=("us-east-1", "eu-west-1"))
USER = "U0123ABCD"
INCIDENT = Window(start=datetime(2026, 11, 18, tzinfo=UTC), end=datetime(2026, 11, 19, 12, tzinfo=UTC))
FULL = ChannelContext(account="012345678901", region="us-east-1", last="6h", set_by=USER, set_at=NOW)
PAST = ChannelContext(window=INCIDENT, set_by=USER, set_at=NOW)
DAY = 86400


def context_of(text: str, with_settings: Settings = SETTINGS) -> ContextRequest:
    result = parse_in_channel(f"context {text}", CATALOG, with_settings, NOW)
    assert isinstance(result, ContextRequest)
    return result


def scope_of(text: str, with_settings: Settings = SETTINGS) -> ContextScope:
    request = context_of(text, with_settings)
    assert request.action == "set" and request.scope is not None
    return request.scope


def query(text: str, context: ChannelContext | None, with_settings: Settings = SETTINGS) -> FlowRequest:
    result = parse_command(text, CATALOG, with_settings, NOW, context)
    assert isinstance(result, FlowRequest)
    return result


# Parsing `context …`


@pytest.mark.parametrize(
    ("text", "action"),
    [("", "show"), ("show", "show"), ("clear", "clear"), ("CLEAR", "clear"), ("--clear", "clear")],
)
def test_show_and_clear(text: str, action: str) -> None:
    assert context_of(text) == ContextRequest(action)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "account 012345678901 region us-east-1 last 6h",
        "region US-EAST-1 last 6H account 012345678901",
        "--account 012345678901 --region us-east-1 --last 6h",
        "--account=012345678901 --region=us-east-1 --last=6h",
        "account=012345678901 region=us-east-1 last=6h",
        "\u2014account 012345678901 \u2013region us-east-1 \u2014last 6h",
        "account <tel:012345678901|012345678901> region us-east-1 last 6h",
    ],
)
def test_every_spelling_sets_the_same_context(text: str) -> None:
    scope = scope_of(text)
    assert scope == ContextScope(account="012345678901", region="us-east-1", last="6h")
    assert scope.describe() == "account 012345678901 · us-east-1 · last 6h"


def test_a_leading_option_dash_and_capitals_still_reach_context() -> None:
    assert parse_in_channel("-- CONTEXT clear", CATALOG, SETTINGS, NOW) == ContextRequest("clear")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("account 012345678901", ContextScope(account="012345678901")),
        ("region eu-west-1", ContextScope(region="eu-west-1")),
        ("last 7d", ContextScope(last="7d")),
        ("region us-east-1 last 15m", ContextScope(region="us-east-1", last="15m")),
    ],
)
def test_any_subset_of_fields(text: str, expected: ContextScope) -> None:
    assert scope_of(text) == expected


def test_an_absolute_window_for_a_past_incident() -> None:
    scope = scope_of("account 012345678901 from 2026-11-18T00:00 to 2026-11-19T12:00")
    assert scope.window == INCIDENT and scope.last is None
    assert scope.describe() == "account 012345678901 · 2026-11-18 00:00 → 2026-11-19 12:00 UTC"


def test_an_absolute_window_with_a_zone_is_converted_to_utc() -> None:
    scope = scope_of("from 2026-11-18T02:00+02:00 to 2026-11-19T12:00Z")
    assert scope.window == INCIDENT


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("frob", "unexpected `frob`; the forms are `context account <12 digits>"),
        ("account 012345678901 us-east-1", "unexpected `us-east-1`"),
        ("clear now", "`context clear` takes nothing more"),
        ("show account 012345678901", "`context show` takes nothing more"),
        ("account", "`account` needs a value"),
        ("account last 6h", "`account` needs a value"),
        ("--account=", "`account` needs a value"),
        ("last 6h --last 7d", "`last` is given twice"),
        ("account 12345", "account takes a 12-digit AWS account ID"),
        ("region mars", "region takes an AWS region name"),
        ("last 6x", "takes a duration like 15m, 6h or 7d"),
        ("last 91d", "longer than 90 days"),
        ("last 999999w", "longer than 90 days"),
        ("last 6h from 2026-11-18", "either `last 6h` or `from … to …`"),
        ("from 2026-11-18", "needs both ends"),
        ("to 2026-11-18", "needs both ends"),
        ("from yesterday to today", "takes an ISO 8601 time"),
        ("from 2026-11-19 to 2026-11-18", "must be before"),
        ("from 2026-01-01 to 2026-11-18", "longer than 90 days"),
    ],
)
def test_errors_say_what_was_wrong(text: str, says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_in_channel(f"context {text}", CATALOG, SETTINGS, NOW)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_longest_window_is_the_settings() -> None:
    with pytest.raises(CommandError, match="longer than 7 days"):
        context_of("last 8d", Settings(max_window_days=7))
    assert scope_of("last 7d", Settings(max_window_days=7)).last == "7d"


def test_accounts_and_regions_must_be_ones_the_table_covers() -> None:
    with pytest.raises(CommandError) as caught:
        context_of("account 999999999999", LISTED)
    assert "account must be an account the table covers: 012345678901, 111122223333" in str(caught.value)
    with pytest.raises(CommandError, match="region must be a region the table covers: us-east-1, eu-west-1"):
        context_of("region ap-south-1", LISTED)
    assert scope_of("account 111122223333 region EU-WEST-1", LISTED).region == "eu-west-1"


def test_the_same_check_applies_to_query_options() -> None:
    with pytest.raises(CommandError, match="--account must be an account the table covers"):
        parse_command("count --account 999999999999", CATALOG, LISTED, NOW)
    assert query("count --account 111122223333", None, LISTED).account == "111122223333"


def test_the_terminal_has_no_channel_to_hold_a_context() -> None:
    with pytest.raises(CommandError, match="belongs to a Slack channel"):
        parse("context last 6h", CATALOG, SETTINGS, NOW)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_no_context_text_raises_anything_but_a_command_error(text: str) -> None:
    try:
        result = parse_in_channel(f"context {text}", CATALOG, SETTINGS, NOW)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, ContextRequest)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "account",
                "--account",
                "region",
                "—region",
                "last",
                "from",
                "to",
                "--to=",
                "clear",
                "show",
                "012345678901",
                "us-east-1",
                "6h",
                "99999999w",
                "0001-01-01",
                "9999-12-31T23:59:59-23:59",
                "2026-11-18",
                "=",
            ]
        ),
        max_size=8,
    ).map(" ".join)
)
def test_context_soup_never_escapes(text: str) -> None:
    try:
        parse_context(normalise(text), LISTED, NOW)
    except CommandError:
        pass


# The model


def test_a_context_has_one_window_and_at_least_one_value() -> None:
    with pytest.raises(ValidationError, match="not both"):
        ContextScope(last="6h", window=INCIDENT)
    with pytest.raises(ValidationError, match="at least one"):
        ContextScope()
    with pytest.raises(ValidationError, match="duration"):
        ContextScope(last="forever")
    with pytest.raises(ValidationError):
        ChannelContext(last="6h", set_by="not a user", set_at=NOW)
    with pytest.raises(ValidationError, match="time zone"):
        ChannelContext(last="6h", set_by=USER, set_at=NOW.replace(tzinfo=None))


# Queries in a channel with a context


def test_without_a_context_nothing_changes() -> None:
    request = query("count", None)
    assert request.context is None and request.account is None
    assert request.window.end - request.window.start == timedelta(hours=24)


def test_a_query_naming_nothing_uses_the_whole_context() -> None:
    request = query("ratio 10.0.1.25", FULL)
    assert (request.account, request.region) == ("012345678901", "us-east-1")
    assert (request.window.start, request.window.end) == (NOW - timedelta(hours=6), NOW)
    assert request.context == "account 012345678901 · us-east-1 · last 6h"
    assert request.text == "ratio 10.0.1.25"  # what the user typed, not the context


@pytest.mark.parametrize(
    ("options", "account", "region", "span", "used"),
    [
        ("--account 111122223333", "111122223333", "us-east-1", timedelta(hours=6), "us-east-1 · last 6h"),
        ("--region eu-west-1", "012345678901", "eu-west-1", timedelta(hours=6),
         "account 012345678901 · last 6h"),
        ("--last 1h", "012345678901", "us-east-1", timedelta(hours=1), "account 012345678901 · us-east-1"),
        ("--from 2026-11-25T00:00", "012345678901", "us-east-1", timedelta(hours=14, minutes=30, seconds=15),
         "account 012345678901 · us-east-1"),
        ("--account 111122223333 --region eu-west-1 --last 2h", "111122223333", "eu-west-1",
         timedelta(hours=2), None),
    ],
)  # fmt: skip
def test_an_explicit_option_overrides_only_its_own_field(
    options: str, account: str, region: str, span: timedelta, used: str | None
) -> None:
    request = query(f"count {options}", FULL)
    assert (request.account, request.region) == (account, region)
    assert request.window.end - request.window.start == span
    assert request.context == used
    assert request.text == query(f"count {options}", None).text  # the context is not in the text


def test_an_absolute_context_window_is_the_window() -> None:
    request = query("top src", PAST)
    assert request.window == INCIDENT
    assert request.context == "2026-11-18 00:00 → 2026-11-19 12:00 UTC"
    assert request.account is None


def test_a_context_without_a_window_leaves_the_default_window() -> None:
    only_region = ChannelContext(region="eu-west-1", set_by=USER, set_at=NOW)
    request = query("count", only_region)
    assert request.window.end - request.window.start == timedelta(hours=24)
    assert (request.region, request.context) == ("eu-west-1", "eu-west-1")


def test_a_template_without_account_or_region_filters_takes_only_the_window() -> None:
    request = query("count", FULL, Settings(table_kind="json"))
    assert (request.account, request.region) == (None, None)
    assert request.context == "last 6h"


def test_a_context_the_settings_no_longer_allow_is_refused_with_the_way_out() -> None:
    stale = ChannelContext(account="222233334444", set_by=USER, set_at=NOW)
    with pytest.raises(CommandError) as caught:
        query("count", stale, LISTED)
    assert "context account must be an account the table covers" in str(caught.value)
    assert "`context clear` removes it" in str(caught.value)
    assert query("count --account 012345678901", stale, LISTED).context is None  # overridden: unused
    with pytest.raises(CommandError, match=r"longer than 1 days.*`context clear`"):
        query("count", PAST, Settings(max_window_days=1))
    with pytest.raises(CommandError, match=r"longer than 1 days.*`context clear`"):
        query("count", ChannelContext(last="2d", set_by=USER, set_at=NOW), Settings(max_window_days=1))


def test_help_and_errors_ignore_the_context() -> None:
    assert parse_command("help", CATALOG, SETTINGS, NOW, FULL) == HelpRequest()
    with pytest.raises(CommandError, match="--to needs --from"):
        parse_command("count --to 2026-11-25", CATALOG, SETTINGS, NOW, FULL)


def test_the_listener_entry_point_passes_the_context_on() -> None:
    request = parse_in_channel("count", CATALOG, SETTINGS, NOW, FULL)
    assert isinstance(request, FlowRequest) and request.context == FULL.describe()


def test_a_request_with_its_context_survives_the_queue() -> None:
    request = query("ratio 10.0.1.25", FULL)
    assert FlowRequest.model_validate_json(request.model_dump_json()) == request


# The store (real Redis)


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def test_store_round_trip_and_clear(redis: Redis) -> None:
    store = ContextStore(redis, ttl_seconds=90 * DAY)
    assert store.get("T1", "C1") is None
    assert store.put("T1", "C1", FULL) is None
    assert store.get("T1", "C1") == FULL
    assert store.get("T1", "C2") is None and store.get("T2", "C1") is None
    assert redis.exists("flowbot:context:T1:C1")
    assert store.put("T1", "C1", PAST) == FULL  # replaced whole, and says what it replaced
    assert store.get("T1", "C1") == PAST
    assert store.clear("T1", "C1") is True
    assert store.clear("T1", "C1") is False
    assert store.get("T1", "C1") is None


def test_store_expires_contexts_and_a_get_renews_the_ttl(redis: Redis) -> None:
    store = ContextStore(redis, ttl_seconds=DAY)
    store.put("T1", "C1", FULL)
    key = ContextStore.key("T1", "C1")
    assert DAY - 5 <= redis.ttl(key) <= DAY
    redis.expire(key, 10)
    assert store.get("T1", "C1") == FULL
    assert redis.ttl(key) > DAY - 5


def test_store_ignores_an_unreadable_context(redis: Redis) -> None:
    store = ContextStore(redis, ttl_seconds=DAY)
    redis.set(ContextStore.key("T1", "C1"), '{"account": "nope"}')
    assert store.get("T1", "C1") is None
    assert store.put("T1", "C1", FULL) is None
    assert store.get("T1", "C1") == FULL


def test_store_needs_a_ttl(redis: Redis) -> None:
    with pytest.raises(ValueError, match="TTL"):
        ContextStore(redis, ttl_seconds=0)


# The handler's replies


class FakeAck:
    """Records what the handler acknowledged with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    @property
    def last(self) -> dict[str, Any]:
        assert self.calls
        return self.calls[-1]


COMMAND = {"team_id": "T1", "channel_id": "C1", "user_id": USER, "text": "context"}


def reply(text: str, store: ContextStore) -> dict[str, Any]:
    ack = FakeAck()
    request = parse_in_channel(f"context {text}", CATALOG, SETTINGS, NOW)
    assert isinstance(request, ContextRequest)
    handle_context(ack, request, COMMAND, store, SETTINGS, NOW)  # type: ignore[arg-type]
    assert len(ack.calls) == 1
    return ack.last


def test_handler_show_set_replace_clear(redis: Redis) -> None:
    store = ContextStore(redis, ttl_seconds=DAY)
    shown = reply("", store)
    assert shown == {
        "text": "No context set; `/flow context account … region … last 6h` sets one.",
        "response_type": "ephemeral",
    }

    put = reply("account 012345678901 region us-east-1 last 6h", store)
    assert put["response_type"] == "in_channel"
    assert put["text"] == (
        f":pushpin: <@{USER}> set this channel's context: account 012345678901 · us-east-1 · last 6h. "
        "Every `/flow` query here uses it unless it says otherwise; `/flow context clear` removes it."
    )
    assert store.get("T1", "C1") == FULL

    shown = reply("", store)
    assert shown["response_type"] == "ephemeral"
    assert "account 012345678901 · us-east-1 · last 6h" in shown["text"]
    assert f"set by <@{USER}>, 2026-11-25 14:30 UTC" in shown["text"]

    replaced = reply("region eu-west-1", store)
    assert replaced["response_type"] == "in_channel"
    assert "context: eu-west-1." in replaced["text"]
    assert replaced["text"].endswith(
        "It replaces the whole previous context (account 012345678901 · us-east-1 · last 6h)."
    )
    assert store.get("T1", "C1") == ChannelContext(region="eu-west-1", set_by=USER, set_at=NOW)

    assert reply("clear", store) == {
        "text": f"<@{USER}> cleared this channel's context.",
        "response_type": "in_channel",
    }
    assert reply("clear", store) == {
        "text": "This channel has no context to clear.",
        "response_type": "ephemeral",
    }


@pytest.mark.parametrize("text", ["", "last 6h", "clear"])
def test_handler_says_when_redis_is_unavailable(text: str) -> None:
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert reply(text, ContextStore(down, ttl_seconds=DAY)) == {
        "text": UNAVAILABLE,
        "response_type": "ephemeral",
    }


def test_slack_help_lists_the_context_command_and_the_terminal_help_does_not() -> None:
    assert "• `context [account …] [region …] [last 6h | from … to …]`" in help_text(CATALOG, SETTINGS)
    assert "context" not in help_text(CATALOG, SETTINGS, markup=False)
