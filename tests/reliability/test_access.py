"""Allowed workspaces and channels, checked for every kind of request before any listener runs, through
the real HTTP app: a refused request gets one line (never the allow-list) and enqueues nothing. And who
may change indicators is checked on every change, not once per person."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from redis import Redis

from bot.access import Access
from bot.settings import Settings
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, event, interaction, serve, slash

pytestmark = pytest.mark.e2e
QUEUE = "rq:queue:flowbot-e2e"
WORKSPACE_LINE = "Flowbot is not set up for this workspace"
CHANNEL_LINE = "Flowbot answers only in its incident channels; ask an admin to add this one (`C0OTHER`)"


@pytest.fixture
def env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The scenario environment, answering only in workspace T0001 and its channels C0INC and C0IR."""
    return {
        **env,
        "FLOWBOT_ALLOWED_TEAMS": "T0001",
        "FLOWBOT_ALLOWED_CHANNELS": "C0INC,C0IR",
        "FLOWBOT_IOC_STORE": str(tmp_path / "iocs"),
    }


def queued(redis_url: str) -> int:
    return int(Redis.from_url(redis_url).llen(QUEUE))


def ack_text(body: str) -> str:
    return str(json.loads(body).get("text", "")) if body else ""


def assert_private(text: str) -> None:
    """The line names the asker's own workspace or channel, never who else is allowed."""
    assert "T0001" not in text and "C0INC" not in text and "C0IR" not in text


def mention(text: str, *, channel: str = "C0INC", team: str = "T0001", event_id: str) -> dict[str, object]:
    return {
        "token": "unused",
        "team_id": team,
        "api_app_id": "A0FLOWBOT",
        "event": {
            "type": "app_mention",
            "user": "U0AAA",
            "text": f"<@U0BOT> {text}",
            "ts": "1700000050.000200",
            "thread_ts": "1700000000.000100",
            "channel": channel,
            "event_ts": "1700000050.000200",
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000050,
        "authorizations": [{"user_id": "U0BOT", "is_bot": True, "team_id": team}],
    }


def lookup_shortcut(channel: str, response_url: str) -> dict[str, object]:
    return {
        "type": "message_action",
        "callback_id": "flowbot_lookup_ips",
        "trigger_id": "trig-access-lookup",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": channel},
        "message": {"ts": "1700000300.000100", "text": "beacon from 10.0.1[.]25"},
        "response_url": response_url,
    }


def lookup_choice(channel: str, response_url: str) -> dict[str, object]:
    return {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": channel},
        "container": {"type": "message", "is_ephemeral": True, "channel_id": channel},
        "response_url": response_url,
        "actions": [
            {
                "action_id": "flowbot_lookup",
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "ratio"},
                    "value": json.dumps({"q": "ratio", "ip": "10.0.1.25", "t": None}),
                },
                "action_ts": "9.1",
            }
        ],
    }


def test_a_slash_command_from_another_workspace_or_channel_gets_the_line_and_enqueues_nothing(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    status, body = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-acc-1", team_id="T0OTHER")
    assert status == 200
    line = ack_text(body)
    assert WORKSPACE_LINE in line and "`T0OTHER`" in line and "FLOWBOT_ALLOWED_TEAMS" in line
    assert json.loads(body)["response_type"] == "ephemeral"
    assert_private(line)

    _, body = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-acc-2", channel_id="C0OTHER")
    assert CHANNEL_LINE in ack_text(body) and "FLOWBOT_ALLOWED_CHANNELS" in ack_text(body)
    assert_private(ack_text(body))

    for text in ("help", "ioc add 203.0.113.9 c2", "context show"):  # every command, not only queries
        _, body = slash(app_url, text, trigger_id=f"trig-acc-{text}", channel_id="C0OTHER")
        assert CHANNEL_LINE in ack_text(body), text
    assert queued(redis_url) == 0
    assert mock_slack.calls("chat.postMessage") == []


def test_a_mention_elsewhere_is_told_privately_in_its_thread_once(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    payload = mention(f"ratio 10.0.1.25 {WINDOW}", channel="C0OTHER", event_id="Ev0ACC1")
    assert event(app_url, payload)[0] == 200
    (told,) = mock_slack.wait_for("chat.postEphemeral")
    assert CHANNEL_LINE in told.params["text"]
    assert told.params["user"] == "U0AAA" and told.params["channel"] == "C0OTHER"
    assert told.params["thread_ts"] == "1700000000.000100"
    assert event(app_url, payload, retry=1)[0] == 200  # Slack's retry: refused again, not told again

    other = mention(f"ratio 10.0.1.25 {WINDOW}", team="T0OTHER", event_id="Ev0ACC2")
    assert event(app_url, other)[0] == 200
    told = mock_slack.wait_for("chat.postEphemeral", count=2)[1]
    assert WORKSPACE_LINE in told.params["text"] and "`T0OTHER`" in told.params["text"]
    time.sleep(0.5)
    assert len(mock_slack.calls("chat.postEphemeral")) == 2
    assert queued(redis_url) == 0
    assert mock_slack.calls("chat.postMessage") == []


def test_a_message_shortcut_elsewhere_gets_the_line_and_no_offer_or_form(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    assert interaction(app_url, lookup_shortcut("C0OTHER", mock_slack.response_url("lookup")))[0] == 200
    (told,) = mock_slack.wait_for("response_url")
    assert CHANNEL_LINE in told.params["text"] and told.params["response_type"] == "ephemeral"

    iocs = {
        "type": "message_action",
        "callback_id": "flowbot_iocs_from_message",
        "trigger_id": "trig-access-iocs",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0OTHER"},
        "message": {"text": "beacon to 192.0.2[.]77"},
        "response_url": mock_slack.response_url("iocs"),
    }
    assert interaction(app_url, iocs)[0] == 200
    told = mock_slack.wait_for("response_url", count=2)[1]
    assert CHANNEL_LINE in told.params["text"]
    assert mock_slack.calls("chat.postEphemeral") == [] and mock_slack.calls("views.open") == []
    assert queued(redis_url) == 0


def test_a_block_action_elsewhere_gets_the_line_and_enqueues_nothing(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    choice = lookup_choice("C0OTHER", mock_slack.response_url("choice"))
    assert interaction(app_url, choice)[0] == 200
    (told,) = mock_slack.wait_for("response_url")
    assert CHANNEL_LINE in told.params["text"] and told.params["response_type"] == "ephemeral"
    assert told.json_param("replace_original") in (False, "false", None)
    assert queued(redis_url) == 0
    assert mock_slack.calls("chat.postMessage") == []


def test_a_global_shortcut_or_form_from_another_workspace_is_refused_in_a_modal(
    app_url: str, mock_slack: MockSlack
) -> None:
    shortcut = {
        "type": "shortcut",
        "callback_id": "flowbot_add_iocs",
        "trigger_id": "trig-access-global",
        "team": {"id": "T0OTHER"},
        "user": {"id": "U0AAA"},
    }
    assert interaction(app_url, shortcut)[0] == 200
    (opened,) = mock_slack.wait_for("views.open")
    view = opened.json_param("view")
    assert view.get("callback_id") != "flowbot_ioc_form" and WORKSPACE_LINE in json.dumps(view)

    submitted = {
        "type": "view_submission",
        "team": {"id": "T0OTHER"},
        "user": {"id": "U0AAA"},
        "view": {"id": "V0ACC", "type": "modal", "callback_id": "flowbot_ioc_form", "state": {"values": {}}},
    }
    status, body = interaction(app_url, submitted)
    assert status == 200
    reply = json.loads(body)
    assert reply["response_action"] == "update"
    assert WORKSPACE_LINE in json.dumps(reply["view"])


def test_the_app_home_checks_the_workspace_only(app_url: str, mock_slack: MockSlack) -> None:
    def opened(team: str, event_id: str) -> dict[str, object]:
        return {
            "token": "unused",
            "team_id": team,
            "api_app_id": "A0FLOWBOT",
            "event": {"type": "app_home_opened", "user": "U0AAA", "channel": "D0HOME", "tab": "home"},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1700000400,
        }

    assert event(app_url, opened("T0OTHER", "Ev0HOMEX"))[0] == 200
    assert event(app_url, opened("T0001", "Ev0HOMEY"))[0] == 200  # its DM channel is not listed: fine
    (published,) = mock_slack.wait_for("views.publish")
    assert published.params["user_id"] == "U0AAA"
    time.sleep(0.5)
    assert len(mock_slack.calls("views.publish")) == 1


def test_an_allowed_channel_is_served(app_url: str, mock_slack: MockSlack, redis_url: str) -> None:
    status, body = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-acc-ok")
    assert status == 200 and not body
    (status_message,) = mock_slack.wait_for("chat.postMessage")
    assert status_message.params["channel"] == "C0INC"
    assert event(app_url, mention(f"count {WINDOW}", channel="C0IR", event_id="Ev0ACC3"))[0] == 200
    mock_slack.wait_for("chat.postMessage", count=2)
    assert queued(redis_url) == 2
    assert mock_slack.calls("chat.postEphemeral") == []


def test_who_may_remove_is_checked_on_every_change(
    env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    app = serve({**env, "FLOWBOT_IOC_ADD_ALLOWED": "U0AAA,U0BOSS", "FLOWBOT_IOC_REMOVE_ALLOWED": "U0BOSS"})
    url = next(app)
    try:
        _, body = slash(url, "ioc add 203.0.113.9 c2", trigger_id="trig-rm-1")
        assert "On it" in ack_text(body)
        _, body = slash(url, "ioc remove 203.0.113.9", trigger_id="trig-rm-2")
        assert "you may not remove indicators here" in ack_text(body) and "<@U0BOSS>" in ack_text(body)
        _, body = slash(url, "ioc add 198.51.100.7 more", trigger_id="trig-rm-3")  # adding still works
        assert "On it" in ack_text(body)
        _, body = slash(url, "ioc remove 203.0.113.9", trigger_id="trig-rm-4")  # and removing still not
        assert "you may not remove indicators here" in ack_text(body)
        _, body = slash(url, "ioc remove 203.0.113.9", trigger_id="trig-rm-5", user_id="U0BOSS")
        assert "On it" in ack_text(body)
        assert queued(redis_url) == 3
    finally:
        app.close()


def test_access_unit_rules() -> None:
    """Empty lists allow everything; an Enterprise Grid org ID allows its workspaces; no channel (App
    Home, a global shortcut, a modal) is checked for its workspace only."""
    assert Access(Settings()).check("T0ANY", "C0ANY") is None
    access = Access(Settings(allowed_teams=("T0001", "E0ORG"), allowed_channels=("C0INC",)))
    assert access.check("T0001", "C0INC") is None
    assert access.check("T0002", "C0INC", enterprise_id="E0ORG") is None
    assert access.check("T0001", None) is None
    assert access.check(None, "C0INC") is not None
    refusal = access.check("T0001", "C0OTHER")
    assert refusal is not None and "C0OTHER" in refusal and "C0INC" not in refusal
