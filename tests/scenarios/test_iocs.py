"""Indicators end to end: `/flow ioc …`, the form, the message shortcut, permissions and the announce
channel, through the real HTTP app, Redis, a worker process and a store on disk; then a hunt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flowlog_oracle import HUNT_COLUMNS
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, form_submission, interaction, run_worker, slash

pytestmark = pytest.mark.e2e
ANNOUNCE = "C0SECOPS"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "iocs"


@pytest.fixture
def env(env: dict[str, str], store: Path) -> dict[str, str]:
    """The scenario environment with a store on disk and an announce channel; no retro-hunts, whose
    answers would add to the messages counted here (tests/scenarios/test_retrohunt.py has them)."""
    return {
        **env,
        "FLOWBOT_IOC_STORE": str(store),
        "FLOWBOT_IOC_ANNOUNCE_CHANNEL": ANNOUNCE,
        "FLOWBOT_RETROHUNT_DAYS": "0",
    }


def ack_text(body: str) -> str:
    return str(json.loads(body).get("text", "")) if body else ""


def table_rows(store: Path) -> list[str]:
    return sorted(p.read_text() for p in (store / "table").glob("*.csv"))


def test_add_list_history_remove_from_the_command(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, store: Path
) -> None:
    status, body = slash(
        app_url,
        "ioc add 203.0.113[.]66 198.51.100.0/24 -- exfil target, from GuardDuty",
        trigger_id="trig-ioc-1",
    )
    assert status == 200 and "On it" in ack_text(body)
    run_worker(env)
    posted = mock_slack.wait_for("chat.postMessage", count=2)
    by_channel = {c.params["channel"]: c.params["text"] for c in posted}
    assert "Added `203.0.113.66`, `198.51.100.0/24`" in by_channel["C0INC"]
    assert "<@U0AAA>" in by_channel[ANNOUNCE] and "exfil target" in by_channel[ANNOUNCE]
    rows = table_rows(store)
    assert len(rows) == 2 and all(r.count("\n") == 1 for r in rows)
    assert any(r.startswith('"198.51.100.0/24","exfil target, from GuardDuty","U0AAA"') for r in rows)

    slash(app_url, "ioc add 203.0.113.66 seen again", trigger_id="trig-ioc-2")
    slash(app_url, "ioc history 203.0.113.66", trigger_id="trig-ioc-3")
    run_worker(env)
    texts = [c.params["text"] for c in mock_slack.calls("chat.postMessage") if c.params["channel"] == "C0INC"]
    assert any("Recorded another submission of `203.0.113.66`" in t for t in texts)
    history = next(t for t in texts if t.startswith("*History of `203.0.113.66`*"))
    assert history.count("add by <@U0AAA>") == 2

    slash(app_url, "ioc remove 198.51.100.0/24", trigger_id="trig-ioc-4")
    run_worker(env)
    assert len(table_rows(store)) == 2  # 203.0.113.66 twice (two submissions), the range gone
    assert len(list((store / "audit").rglob("*_remove.json"))) == 1


def test_refusals_are_answered_at_once_with_the_reason(app_url: str, store: Path) -> None:
    _, body = slash(app_url, "ioc add 10.0.0.0/8 our own network", trigger_id="trig-ioc-5")
    assert "private" in ack_text(body) and "admin" in ack_text(body)
    _, body = slash(app_url, "ioc add nonsense", trigger_id="trig-ioc-6")
    assert "is not an IP address or CIDR range" in ack_text(body)
    assert not (store / "table").exists() or table_rows(store) == []


def test_only_the_allowed_may_add(env: dict[str, str], mock_slack: MockSlack, store: Path) -> None:
    from tests.scenarios.flowbot_processes import serve

    app = serve({**env, "FLOWBOT_IOC_ADD_ALLOWED": "U0BOSS"})
    url = next(app)
    try:
        _, body = slash(url, "ioc add 203.0.113.9 c2", trigger_id="trig-ioc-7")
        assert "you may not add indicators here" in ack_text(body) and "<@U0BOSS>" in ack_text(body)
        _, body = slash(url, "ioc add 203.0.113.9 c2", trigger_id="trig-ioc-8", user_id="U0BOSS")
        assert "On it" in ack_text(body)
    finally:
        app.close()


def test_the_form_and_the_message_shortcut(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, store: Path
) -> None:
    status, _ = slash(app_url, "ioc", trigger_id="trig-form-1")
    assert status == 200
    (opened,) = mock_slack.wait_for("views.open")
    assert opened.json_param("view")["callback_id"] == "flowbot_ioc_form"

    message = {
        "type": "message_action",
        "callback_id": "flowbot_iocs_from_message",
        "trigger_id": "trig-msg-1",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0INC"},
        "message": {
            "text": "GuardDuty: beacon to 192.0.2[.]77 port 3333 and <http://203.0.113.66|203.0.113.66>"
        },
    }
    assert interaction(app_url, message)[0] == 200
    form = mock_slack.wait_for("views.open", count=2)[1].json_param("view")
    box = next(b for b in form["blocks"] if b.get("block_id") == "indicators")
    assert box["element"]["initial_value"].splitlines() == ["192.0.2.77", "203.0.113.66"]

    submitted = form_submission(form, "V0FORM1", "192.0.2[.]77\n10.1.2.3", "miner pool", "U0AAA")
    status, body = interaction(app_url, submitted)
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    assert "10.1.2.3" in json.loads(body)["errors"]["indicators"]

    submitted["view"]["state"]["values"]["indicators"]["value"]["value"] = "192.0.2[.]77"  # type: ignore[index]
    status, body = interaction(app_url, submitted)
    assert status == 200 and not body
    run_worker(env)
    posted = mock_slack.wait_for("chat.postMessage", count=2)
    assert any(
        "Added `192.0.2.77` — miner pool" in c.params["text"]
        for c in posted
        if c.params["channel"] == "C0INC"
    )
    assert any("via message shortcut" in c.params["text"] for c in posted if c.params["channel"] == ANNOUNCE)


def test_a_hunt_finds_the_flows_of_the_indicators_just_added(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    slash(app_url, "ioc add 203.0.113.66 192.0.2.0/24 -- exfil and miner", trigger_id="trig-hunt-1")
    run_worker(env)
    mock_slack.reset()
    status, _ = slash(app_url, f"hunt {WINDOW}", trigger_id="trig-hunt-2")
    assert status == 200
    run_worker(env)
    mock_slack.wait_for("files.completeUploadExternal")
    posted = mock_slack.wait_for("chat.postMessage", count=2)[1]
    text = json.dumps(posted.json_param("blocks"), ensure_ascii=False)
    assert "10.0.1.25" in text and "→ 203.0.113.66" in text  # the exfiltrating host, sending to the indicator
    assert "10.0.2.40" in text and "→ 192.0.2.0/24" in text  # the miner, matched through the range
    assert "host/indicator pairs" in text
    (uploaded,) = mock_slack.uploads.values()
    header = uploaded.decode().splitlines()[0].split(",")
    assert header == list(HUNT_COLUMNS)
