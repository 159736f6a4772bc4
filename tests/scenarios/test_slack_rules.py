"""Slack's own rules end to end, where a reply is most easily lost: a channel Flowbot was not invited to
(public: messages yes, files no; private: nothing), a response_url that has expired, and a user-group
lookup Slack rate-limits while a form waits. Real HTTP app, Redis, worker processes, and the mock Slack
playing Slack's documented behaviour (tests/mock_slack.py cites each rule)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from tests.flowlog_oracle import RATIO_COLUMNS, Row
from tests.mock_slack import MockSlack, RecordedCall
from tests.scenarios.flowbot_processes import (
    WINDOW,
    form_submission,
    interaction,
    run_worker,
    serve,
    slash,
    window_ratio,
)

pytestmark = pytest.mark.e2e
ASKER = "U0AAA"
RESPONSE_URL_LIFETIME_SECONDS = 30 * 60


def expected_csv(oracle_rows: list[Row]) -> list[list[str]]:
    """The ratio CSV for 10.0.1.25 over the scenario window, computed by the oracle, not by Flowbot."""
    rows = window_ratio(oracle_rows, "10.0.1.25")
    assert rows, "the sample data must hold traffic of 10.0.1.25 in the window"
    return [list(RATIO_COLUMNS), *[["" if v is None else str(v) for v in row] for row in rows]]


def accepted(mock: MockSlack, method: str, **params: str) -> list[RecordedCall]:
    """The calls of `method` Slack took, whose parameters include `params`."""
    return [
        c for c in mock.calls(method) if c.ok and all(str(c.params.get(k)) == v for k, v in params.items())
    ]


def the_csv(mock: MockSlack) -> list[list[str]]:
    """The rows of the one file Slack shared (a refused share leaves its bytes uploaded, not shared)."""
    (shared,) = accepted(mock, "files.completeUploadExternal")
    (file,) = shared.json_param("files")
    return list(csv.reader(io.StringIO(mock.uploads[file["id"]].decode())))


def summaries(mock: MockSlack) -> list[RecordedCall]:
    """Posted answers (a summary names its query and who asked); status messages and notes do not."""
    return [
        c
        for c in accepted(mock, "chat.postMessage")
        if "Data ratio" in json.dumps(c.params.get("blocks") or c.params.get("text"))
    ]


def test_a_public_channel_without_flowbot_gets_the_summary_and_the_asker_gets_the_csv_by_dm(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    mock_slack.without_bot("C0PUB", private=False)
    url = mock_slack.response_url("pub")
    status, body = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", channel_id="C0PUB", response_url=url)
    assert status == 200 and not body
    (queued,) = mock_slack.wait_for("chat.postMessage")
    assert queued.ok, "chat:write.public lets Flowbot post in a public channel it is not in"
    run_worker(env)

    (summary,) = summaries(mock_slack)
    assert summary.params["channel"] == "C0PUB" and summary.params["thread_ts"] == queued.response["ts"]
    refused = [c for c in mock_slack.calls("files.completeUploadExternal") if not c.ok]
    assert [c.response["error"] for c in refused] == ["not_in_channel"]
    dm = mock_slack.dm_channel(ASKER)
    assert len(accepted(mock_slack, "files.completeUploadExternal", channel_id=dm)) == 1
    assert the_csv(mock_slack) == expected_csv(oracle_rows)
    (told,) = [
        c for c in accepted(mock_slack, "chat.postMessage", channel="C0PUB") if "/invite" in c.params["text"]
    ]
    assert told.params["thread_ts"] == queued.response["ts"] and f"<@{ASKER}>" in told.params["text"]
    final = mock_slack.calls("chat.update")[-1]
    assert "CSV sent to the asker by direct message" in json.dumps(final.json_param("blocks"))
    assert mock_slack.calls("response_url") == []  # everything was said in the channel


def test_a_private_channel_without_flowbot_gets_the_answer_in_the_askers_dm(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    mock_slack.without_bot("G0PRIV")
    url = mock_slack.response_url("priv")
    slash(app_url, f"ratio 10.0.1.25 {WINDOW}", channel_id="G0PRIV", response_url=url)
    (queued_note,) = mock_slack.wait_for("response_url")
    assert queued_note.ok and "/invite @Flowbot" in queued_note.params["text"]
    run_worker(env)

    assert accepted(mock_slack, "chat.postMessage", channel="G0PRIV") == []
    (answer,) = summaries(mock_slack)
    assert answer.params["channel"] == ASKER and answer.response["channel"] == mock_slack.dm_channel(ASKER)
    assert "G0PRIV" in json.dumps(answer.json_param("blocks"))  # says where it was asked
    (shared,) = accepted(mock_slack, "files.completeUploadExternal")
    assert shared.params["channel_id"] == mock_slack.dm_channel(ASKER)
    assert shared.params["thread_ts"] == answer.response["ts"]
    assert the_csv(mock_slack) == expected_csv(oracle_rows)
    pointer = mock_slack.wait_for("response_url", count=2)[1]
    assert pointer.ok and "direct messages" in pointer.params["text"]


def test_an_answer_after_the_response_url_expired_still_reaches_the_asker(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    mock_slack.without_bot("G0LATE")
    url = mock_slack.response_url("late")
    slash(app_url, f"ratio 10.0.1.25 {WINDOW}", channel_id="G0LATE", response_url=url)
    mock_slack.wait_for("response_url")
    mock_slack.advance(RESPONSE_URL_LIFETIME_SECONDS + 60)  # the query waited in line half an hour
    run_worker(env)

    late = mock_slack.wait_for("response_url", count=2)[1]
    assert late.status == 404, "Slack refuses a response_url after 30 minutes"
    (answer,) = summaries(mock_slack)
    assert answer.response["channel"] == mock_slack.dm_channel(ASKER)
    assert the_csv(mock_slack) == expected_csv(oracle_rows)
    assert answer.response["ts"] in [m["ts"] for m in mock_slack.dms(ASKER)]


def test_a_channel_that_refuses_everything_keeps_the_answer_for_the_operators(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, tmp_path: Path
) -> None:
    undelivered = tmp_path / "undelivered"
    mock_slack.without_bot("G0NONE")
    slash(
        app_url, f"ratio 10.0.1.25 {WINDOW}", channel_id="G0NONE", response_url=mock_slack.response_url("x")
    )
    mock_slack.wait_for("response_url")
    mock_slack.fail_next("chat.postMessage", error="user_disabled", times=10)  # the DM is refused too
    run_worker({**env, "FLOWBOT_UNDELIVERED_DIR": str(undelivered)})
    (kept,) = list(undelivered.iterdir())
    assert "10.0.1.25" in (kept / "summary.txt").read_text()
    assert (kept / "result.csv").read_text().startswith("sourceaddress,destinationaddress")
    # The query ran once: a post that failed is never a reason to scan the logs again.
    assert Redis.from_url(env["FLOWBOT_REDIS_URL"]).llen("rq:queue:flowbot-e2e") == 0


def ioc_form_command(app_url: str, mock: MockSlack, user: str) -> tuple[int, dict[str, Any], str]:
    """`/flow ioc` with a trigger the mock issued (it expires after 3 s, as Slack's)."""
    trigger = mock.trigger_id()
    status, body = slash(
        app_url, "ioc", trigger_id=trigger, user_id=user, response_url=mock.response_url(trigger)
    )
    return status, json.loads(body) if body else {}, trigger


def test_a_rate_limited_user_group_never_delays_the_ack_or_the_form(
    env: dict[str, str], mock_slack: MockSlack, redis_url: str, tmp_path: Path
) -> None:
    mock_slack.usergroup("S0IRTEAM", ["U0LEAD"])
    settings = {**env, "FLOWBOT_IOC_ADD_ALLOWED": "S0IRTEAM", "FLOWBOT_IOC_STORE": str(tmp_path / "iocs")}
    app = serve(settings)
    app_url = next(app)
    try:
        mock_slack.wait_for("usergroups.users.list")  # read at start-up
        group = Redis.from_url(redis_url).get("flowbot:usergroup:S0IRTEAM")
        assert group and json.loads(group)["members"] == ["U0LEAD"]
        Redis.from_url(redis_url).set(  # ten minutes old: due for a refresh
            "flowbot:usergroup:S0IRTEAM", json.dumps({"members": ["U0LEAD"], "at": 0})
        )
        mock_slack.fail_next("usergroups.users.list", status=429, retry_after=30, times=5)
        before = len(mock_slack.calls("usergroups.users.list"))

        status, _, _ = ioc_form_command(app_url, mock_slack, "U0LEAD")
        assert status == 200  # within Slack's 3 s (the test client gives up after 3 s)
        (opened,) = mock_slack.wait_for("views.open")
        assert opened.ok, opened.response  # the trigger was still alive: the kept members answered
        refreshed = mock_slack.wait_for("usergroups.users.list", count=before + 1)[before:]
        assert refreshed[0].status == 429  # tried after the ack, refused, not slept out

        form = opened.json_param("view")
        submitted = form_submission(form, "V0RATE1", "203.0.113.99", "beacon", "U0LEAD")
        assert interaction(app_url, submitted) == (200, "")
        run_worker({**settings})
        added = "Added `203.0.113.99`"  # the reply, not its retro-hunt
        answers = [c for c in accepted(mock_slack, "chat.postMessage") if added in c.params["text"]]
        assert len(answers) == 1 and answers[0].params["channel"] == "C0INC"
    finally:
        app.close()


def test_a_user_group_slack_will_not_list_gets_one_clear_line_after_the_ack(
    env: dict[str, str], mock_slack: MockSlack, tmp_path: Path
) -> None:
    mock_slack.usergroup("S0IRTEAM", ["U0LEAD"])
    mock_slack.fail_next("usergroups.users.list", status=429, retry_after=60, times=20)
    settings = {**env, "FLOWBOT_IOC_ADD_ALLOWED": "S0IRTEAM", "FLOWBOT_IOC_STORE": str(tmp_path / "iocs")}
    app = serve(settings)
    app_url = next(app)
    try:
        status, body, _ = ioc_form_command(app_url, mock_slack, "U0LEAD")
        assert status == 200 and body.get("text") is None  # acknowledged at once, nothing to show yet
        (told,) = mock_slack.wait_for("response_url")
        assert told.ok and "could not read the members of <!subteam^S0IRTEAM>" in told.params["text"]
        assert mock_slack.calls("views.open") == []
    finally:
        app.close()


def test_an_alert_with_its_address_only_in_attachments_fills_the_form(
    app_url: str, mock_slack: MockSlack
) -> None:
    alert = {  # how alerting bots post: `text` a fallback, the content in legacy attachment fields
        "type": "message",
        "ts": "1700000100.000100",
        "text": "GuardDuty finding",
        "attachments": [
            {
                "fallback": "GuardDuty finding",
                "title": "UnauthorizedAccess:EC2/SSHBruteForce",
                "fields": [{"title": "Remote IP", "value": "198.51.100.23", "short": True}],
            }
        ],
    }
    payload = {
        "type": "message_action",
        "callback_id": "flowbot_iocs_from_message",
        "trigger_id": mock_slack.trigger_id(),
        "team": {"id": "T0001"},
        "user": {"id": ASKER},
        "channel": {"id": "C0INC"},
        "message": alert,
        "response_url": mock_slack.response_url("alert"),
    }
    assert interaction(app_url, payload)[0] == 200
    (opened,) = mock_slack.wait_for("views.open")
    assert opened.ok
    box = next(b for b in opened.json_param("view")["blocks"] if b.get("block_id") == "indicators")
    assert box["element"]["initial_value"].splitlines() == ["198.51.100.23"]


def test_a_link_whose_label_hides_another_address_is_refused_with_both_shown(app_url: str) -> None:
    status, body = slash(app_url, f"ratio <http://198.51.100.77|10.0.1.25> {WINDOW}")
    text = json.loads(body)["text"]
    assert status == 200 and "10.0.1.25" in text and "198.51.100.77" in text


def test_an_ioc_comment_is_stored_as_typed_not_as_slack_escaped_it(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, tmp_path: Path
) -> None:
    store = tmp_path / "iocs"
    slash(app_url, "ioc add 203.0.113.5 -- R&amp;D build box &lt;prod&gt;", trigger_id="trig-amp-1")
    run_worker({**env, "FLOWBOT_IOC_STORE": str(store)})
    (row,) = [p.read_text() for p in (store / "table").glob("*.csv")]
    assert "R&D build box <prod>" in row


def test_slacks_rate_limits_by_method_delay_answers_but_never_lose_or_double_one(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    mock_slack.rate_limits(burst=3)  # chat.postMessage: 1 a second per channel after 3; other methods by tier
    asked = 6
    for n in range(asked):
        assert slash(app_url, f"count {WINDOW}", trigger_id=f"trig-tier-{n}")[0] == 200
    run_worker(env)

    refused = [c for c in mock_slack.calls() if c.status == 429]
    assert "chat.postMessage" in {c.method for c in refused}  # the limits were in play
    statuses = [
        c for c in accepted(mock_slack, "chat.postMessage", channel="C0INC") if "thread_ts" not in c.params
    ]
    assert len(statuses) == asked  # one status message per job, whoever posted it
    answers = [
        c for c in accepted(mock_slack, "chat.postMessage", channel="C0INC") if "thread_ts" in c.params
    ]
    assert sorted(c.params["thread_ts"] for c in answers) == sorted(c.response["ts"] for c in statuses)
    assert len(accepted(mock_slack, "files.completeUploadExternal")) == asked
