"""The Slack experience end to end: the status message and its buttons, @mentions in threads, the
"Look up IPs" shortcut, graceful fallbacks (a refused table, a channel Flowbot is not in), all on
the real HTTP app, a real Redis, worker processes and a recording mock Slack Web API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis import Redis

from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_count, expected_ratio, expected_top
from tests.mock_slack import MockSlack, RecordedCall
from tests.scenarios.flowbot_processes import START, WINDOW, event, interaction, run_worker, slash

pytestmark = pytest.mark.e2e
DAYS = (f"{START:%Y/%m/%d}", f"{SAMPLE_END:%Y/%m/%d}")
SPAN = (int(START.timestamp()), int(SAMPLE_END.timestamp()))


def blocks_of(call: RecordedCall) -> list[dict[str, Any]]:
    found = call.json_param("blocks")
    return found if isinstance(found, list) else []


def buttons(call: RecordedCall) -> dict[str, dict[str, Any]]:
    """The buttons on a message, by action_id."""
    return {
        e["action_id"]: e
        for b in blocks_of(call)
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    }


def table_cells(call: RecordedCall) -> list[list[str]]:
    """The rows of a message's table block (headings first)."""
    table = next(b for b in blocks_of(call) if b["type"] == "table")
    return [[c["text"] for c in row] for row in table["rows"]]


def press(
    url: str,
    call: RecordedCall,
    action_id: str,
    user: str = "U0AAA",
    response_url: str = "http://127.0.0.1:9/",
) -> None:
    """Press a button of a message Flowbot posted, as Slack sends it."""
    button = buttons(call)[action_id]
    ts = call.response["ts"] if call.method == "chat.postMessage" else call.params["ts"]
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "api_app_id": "A0FLOWBOT",
        "trigger_id": f"trig-{action_id}-{ts}",
        "channel": {"id": call.params["channel"]},
        "container": {"type": "message", "message_ts": ts, "channel_id": call.params["channel"]},
        "message": {"ts": ts, "text": call.params.get("text", ""), "blocks": blocks_of(call)},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": button["value"],
                "action_ts": "1.2",
            }
        ],
    }
    assert interaction(url, payload)[0] == 200


def test_one_status_message_moves_from_queued_to_the_finding_and_the_answer_is_in_its_thread(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    status, body = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-status-1")
    assert status == 200 and not body  # the status message is the acknowledgement
    (queued,) = mock_slack.wait_for("chat.postMessage")
    assert queued.params["channel"] == "C0INC"
    assert "is queued" in json.dumps(blocks_of(queued))
    assert "flowbot_cancel" in buttons(queued)

    run_worker(env)
    posted = mock_slack.wait_for("chat.postMessage", count=2)
    answer = posted[1]
    status_ts = queued.response["ts"]
    assert answer.params["thread_ts"] == status_ts
    expected = expected_ratio(oracle_rows, "10.0.1.25", *SPAN, *DAYS)
    cells = table_cells(answer)
    assert [row[:2] for row in cells[1:]] == [[src, dst] for src, dst, *_ in expected[:10]]

    edits = mock_slack.calls("chat.update")
    assert all(e.params["ts"] == status_ts for e in edits)
    assert "is running" in json.dumps(blocks_of(edits[0]))
    final = edits[-1]
    headline = blocks_of(final)[0]["text"]["text"]
    top_src, top_dst, records = expected[0][0], expected[0][1], expected[0][2]
    assert top_src in headline and top_dst in headline and f"{records:,}" in headline
    assert set(buttons(final)) == {"flowbot_rerun_wider", "flowbot_next_rows"} if len(expected) > 10 else True
    assert "flowbot_cancel" not in buttons(final)
    completed = mock_slack.wait_for("files.completeUploadExternal")
    assert completed[0].params["thread_ts"] == status_ts


def test_show_next_rows_pages_through_the_answer_in_its_thread(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    expected = expected_top(oracle_rows, "src", *SPAN, *DAYS)
    assert len(expected) > 20, "the sample data must have more than two pages of sources"
    slash(app_url, f"top src {WINDOW}", trigger_id="trig-pages-1")
    run_worker(env)
    mock_slack.wait_for("files.completeUploadExternal")
    final = mock_slack.calls("chat.update")[-1]
    assert "flowbot_next_rows" in buttons(final)

    press(app_url, final, "flowbot_next_rows")
    page = mock_slack.wait_for("chat.postMessage", count=3)[2]
    assert page.params["thread_ts"] == final.params["ts"]
    assert [row[0] for row in table_cells(page)[1:]] == [ip for ip, *_ in expected[10:20]]
    assert "Rows 11 to 20" in page.params["text"]

    press(app_url, final, "flowbot_next_rows")
    second = mock_slack.wait_for("chat.postMessage", count=4)[3]
    assert [row[0] for row in table_cells(second)[1:]] == [ip for ip, *_ in expected[20:30]]


def test_rerun_with_a_wider_window_is_a_new_job_over_twice_the_window(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-wider-1")
    run_worker(env)
    final = mock_slack.wait_for("chat.update", count=2)[-1]
    press(app_url, final, "flowbot_rerun_wider", user="U0BBB")
    rerun = mock_slack.wait_for("chat.postMessage", count=3)[2]
    wider_start = START - (SAMPLE_END - START)
    context = json.dumps(blocks_of(rerun), ensure_ascii=False)
    assert f"{wider_start:%Y-%m-%d %H:%M} → {SAMPLE_END:%Y-%m-%d %H:%M} UTC" in context
    assert f"`count --from {wider_start:%Y-%m-%dT%H:%M}Z --to {SAMPLE_END:%Y-%m-%dT%H:%M}Z`" in context
    assert "<@U0BBB>" in context
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 1


def test_the_cancel_button_stops_a_queued_job_and_its_status_says_who(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-cancel-button-1")
    (queued,) = mock_slack.wait_for("chat.postMessage")
    press(app_url, queued, "flowbot_cancel", user="U0CCC", response_url=mock_slack.response_url("cancel"))
    (edit,) = mock_slack.wait_for("chat.update")
    assert "was cancelled by <@U0CCC>" in json.dumps(blocks_of(edit))
    assert buttons(edit) == {}
    (told,) = mock_slack.wait_for("response_url")  # to the presser alone; the status tells the channel
    assert told.params["response_type"] == "ephemeral" and "before it ran" in told.params["text"]
    run_worker(env)
    assert len(mock_slack.calls("chat.postMessage")) == 1  # nothing more was posted


def test_a_refused_table_still_arrives_as_monospace_with_the_csv(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    mock_slack.refuse_tables()
    slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-refused-1")
    run_worker(env)
    mock_slack.wait_for("files.completeUploadExternal")
    answers = [c for c in mock_slack.calls("chat.postMessage") if c.params.get("thread_ts")]
    refused, plain = answers
    assert refused.response["error"] == "invalid_blocks"
    assert plain.ok and not any(b["type"] == "table" for b in blocks_of(plain))
    top = expected_ratio(oracle_rows, "10.0.1.25", *SPAN, *DAYS)[0]
    assert "```" in json.dumps(blocks_of(plain)) and top[0] in json.dumps(blocks_of(plain))


def test_a_result_with_no_rows_says_so_and_offers_a_wider_window(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    slash(app_url, f"ratio 198.18.0.1 {WINDOW}", trigger_id="trig-empty-1")
    run_worker(env)
    final = mock_slack.wait_for("chat.update", count=2)[-1]
    headline = blocks_of(final)[0]["text"]["text"]
    assert "No records matched" in headline and "wider window" in headline
    assert "flowbot_rerun_wider" in buttons(final)
    assert mock_slack.calls("files.completeUploadExternal") == []


def mention(text: str, event_id: str, thread_ts: str | None = "1700000000.000100") -> dict[str, object]:
    inner: dict[str, object] = {
        "type": "app_mention",
        "user": "U0AAA",
        "text": f"<@U0BOT> {text}",
        "ts": "1700000050.000200",
        "channel": "C0INC",
        "event_ts": "1700000050.000200",
    }
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return {
        "token": "unused",
        "team_id": "T0001",
        "api_app_id": "A0FLOWBOT",
        "event": inner,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000050,
        "authorizations": [{"user_id": "U0BOT", "is_bot": True, "team_id": "T0001"}],
    }


def test_a_mention_in_a_thread_is_answered_in_that_thread_once(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    payload = mention(f"ratio 10.0.1.25 {WINDOW}", "Ev0MENTION1")
    assert event(app_url, payload)[0] == 200
    (status,) = mock_slack.wait_for("chat.postMessage")
    assert status.params["thread_ts"] == "1700000000.000100"
    assert event(app_url, payload, retry=1)[0] == 200  # Slack's retry of the same event
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 1
    run_worker(env)
    answer = mock_slack.wait_for("chat.postMessage", count=2)[1]
    assert answer.params["thread_ts"] == "1700000000.000100"
    assert mock_slack.wait_for("files.completeUploadExternal")[0].params["thread_ts"] == "1700000000.000100"


def test_a_mention_with_a_mistake_is_answered_privately_in_the_thread(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    assert event(app_url, mention("ratio 10.0.1", "Ev0MENTION2"))[0] == 200
    (told,) = mock_slack.wait_for("chat.postEphemeral")
    assert "`10.0.1` is not an IP address" in told.params["text"]
    assert told.params["thread_ts"] == "1700000000.000100" and told.params["user"] == "U0AAA"
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 0


def test_look_up_ips_offers_the_queries_for_each_address_and_runs_the_choice(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    shortcut = {
        "type": "message_action",
        "callback_id": "flowbot_lookup_ips",
        "trigger_id": "trig-lookup-1",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0INC"},
        "message": {
            "ts": "1700000300.000100",
            "text": "beacon from 10.0.1[.]25 to <http://203.0.113.66|203.0.113.66>",
        },
        "response_url": mock_slack.response_url("lookup"),
    }
    assert interaction(app_url, shortcut)[0] == 200
    (offer,) = mock_slack.wait_for("chat.postEphemeral")
    menus = [b for b in blocks_of(offer) if b.get("accessory", {}).get("type") == "static_select"]
    assert [b["text"]["text"] for b in menus] == ["`10.0.1.25`", "`203.0.113.66`"]
    options = menus[0]["accessory"]["options"]
    ratio = next(o for o in options if json.loads(o["value"])["q"] == "ratio")

    chosen = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0INC"},
        "container": {"type": "message", "is_ephemeral": True, "channel_id": "C0INC"},
        "response_url": mock_slack.response_url("lookup-choice"),
        "actions": [
            {
                "action_id": "flowbot_lookup",
                "type": "static_select",
                "selected_option": ratio,
                "action_ts": "9.1",
            }
        ],
    }
    assert interaction(app_url, chosen)[0] == 200
    (status,) = mock_slack.wait_for("chat.postMessage")
    assert status.params["thread_ts"] == "1700000300.000100"
    assert "ratio 10.0.1.25" in json.dumps(blocks_of(status))
    run_worker(env)
    answer = mock_slack.wait_for("chat.postMessage", count=2)[1]
    assert answer.params["thread_ts"] == "1700000300.000100"


def test_the_app_home_lists_the_askers_recent_queries_with_links_to_their_answers(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-home-1")
    run_worker(env)
    final = mock_slack.wait_for("chat.update", count=2)[-1]
    opened = {
        "token": "unused",
        "team_id": "T0001",
        "api_app_id": "A0FLOWBOT",
        "event": {"type": "app_home_opened", "user": "U0AAA", "channel": "D0HOME", "tab": "home"},
        "type": "event_callback",
        "event_id": "Ev0HOME1",
        "event_time": 1700000400,
    }
    assert event(app_url, opened)[0] == 200
    (published,) = mock_slack.wait_for("views.publish")
    assert published.params["user_id"] == "U0AAA"
    home = json.dumps(published.json_param("view"), ensure_ascii=False)
    top = expected_ratio(oracle_rows, "10.0.1.25", *SPAN, *DAYS)[0]
    assert f"ratio 10.0.1.25 {WINDOW}" in home and top[1] in home
    link = mock_slack.calls("chat.getPermalink")[-1]
    assert link.params["message_ts"] == final.params["ts"] and link.response["permalink"] in home
    assert "local" in home and "2026-11-17" in home  # the engine and the first day of sample data


def test_a_channel_context_scopes_every_query_there_and_each_answer_says_so(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    start, end = f"{START:%Y-%m-%dT%H:%M}Z", f"{SAMPLE_END:%Y-%m-%dT%H:%M}Z"
    status, body = slash(app_url, f"context account 111122223333 region us-east-1 from {start} to {end}")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "in_channel" and "account 111122223333" in reply["text"]

    slash(app_url, "count", trigger_id="trig-context-1")  # no window, account or region: the context's
    run_worker(env)
    answer = mock_slack.wait_for("chat.postMessage", count=2)[1]
    scope = json.dumps(blocks_of(answer), ensure_ascii=False)
    assert "channel context: account 111122223333 · us-east-1" in scope
    expected = expected_count(oracle_rows, *SPAN, *DAYS, account="111122223333", region="us-east-1")
    everywhere = expected_count(oracle_rows, *SPAN, *DAYS)
    assert 0 < expected < everywhere
    assert table_cells(answer)[1] == [f"{expected:,}"]

    mock_slack.reset()
    slash(app_url, f"count --account 012345678901 {WINDOW}", trigger_id="trig-context-2")
    run_worker(env)
    answer = mock_slack.wait_for("chat.postMessage", count=2)[1]
    overridden = expected_count(oracle_rows, *SPAN, *DAYS, account="012345678901", region="us-east-1")
    assert table_cells(answer)[1] == [f"{overridden:,}"]  # --account wins; the region is still the context's
    assert "channel context: us-east-1" in json.dumps(blocks_of(answer), ensure_ascii=False)
