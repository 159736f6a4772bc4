"""Each kind of Slack payload gives one reply target and one job id, the same on Slack's retry of it
(handlers/ingress.py). The payloads carry the fields Slack's documentation lists for each."""

from __future__ import annotations

from typing import Any

from handlers import ingress

COMMAND: dict[str, Any] = {
    "team_id": "T0001",
    "enterprise_id": "",
    "channel_id": "C0INC",
    "user_id": "U0AAA",
    "text": "ratio 10.0.1.25",
    "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
}
ACTION: dict[str, Any] = {
    "type": "block_actions",
    "team": {"id": "T0001"},
    "enterprise": None,
    "user": {"id": "U0BBB"},
    "channel": {"id": "C0INC"},
    "response_url": "https://hooks.slack.com/actions/T0001/2/def",
    "actions": [{"action_id": "flowbot_rerun", "action_ts": "1700000000.123456"}],
}
MENTION_BODY: dict[str, Any] = {"team_id": "T0001", "event_id": "Ev0123ABC", "enterprise_id": None}
MENTION: dict[str, Any] = {
    "channel": "C0INC",
    "user": "U0CCC",
    "ts": "1700000001.000200",
    "thread_ts": "1700000000.0001",
}
VIEW_BODY: dict[str, Any] = {
    "team": {"id": "T0001"},
    "enterprise": {"id": "E0ORG"},
    "user": {"id": "U0DDD"},
    "view": {"id": "V0FORM", "hash": "1700000002.abcdef"},
}


def test_a_command_and_its_retry_give_one_job_and_answer_where_it_was_asked() -> None:
    target = ingress.from_command(COMMAND)
    assert ingress.from_command(dict(COMMAND)) == target
    assert (target.team_id, target.channel_id, target.user_id) == ("T0001", "C0INC", "U0AAA")
    assert target.response_url == COMMAND["response_url"] and target.enterprise_id is None
    assert ingress.from_command({**COMMAND, "trigger_id": "other.trigger"}).job_id != target.job_id


def test_a_command_without_a_trigger_is_known_by_channel_user_and_text() -> None:
    bare = {k: v for k, v in COMMAND.items() if k != "trigger_id"}
    assert ingress.from_command(bare).job_id == ingress.from_command(dict(bare)).job_id
    assert ingress.from_command({**bare, "text": "count"}).job_id != ingress.from_command(bare).job_id


def test_an_action_is_known_by_its_kind_time_and_presser() -> None:
    target = ingress.from_action(ACTION, kind="rerun", thread_ts="1700000000.0001")
    assert ingress.from_action(ACTION, kind="rerun", thread_ts="1700000000.0001") == target
    assert ingress.from_action(ACTION, kind="widen", thread_ts=None).job_id != target.job_id
    assert (target.user_id, target.thread_ts, target.enterprise_id) == ("U0BBB", "1700000000.0001", None)


def test_a_mention_answers_in_its_thread_and_is_known_by_its_event_id() -> None:
    target = ingress.from_mention(MENTION_BODY, MENTION)
    assert target.thread_ts == "1700000000.0001" and target.user_id == "U0CCC"
    outside = ingress.from_mention(MENTION_BODY, {k: v for k, v in MENTION.items() if k != "thread_ts"})
    assert outside.thread_ts == MENTION["ts"]  # a mention outside a thread starts one
    assert outside.job_id == target.job_id  # the event id, not where it was made, names it
    assert ingress.from_mention({**MENTION_BODY, "event_id": "Ev0999"}, MENTION).job_id != target.job_id


def test_a_form_answers_where_it_was_opened_or_to_its_submitter() -> None:
    target = ingress.from_view(VIEW_BODY, channel="C0INC", response_url=None)
    assert (target.channel_id, target.enterprise_id) == ("C0INC", "E0ORG")
    assert ingress.from_view(VIEW_BODY, channel=None, response_url=None).channel_id == "U0DDD"
    updated = {**VIEW_BODY, "view": {"id": "V0FORM", "hash": "1700000003.fedcba"}}
    assert ingress.from_view(updated, channel="C0INC", response_url=None).job_id != target.job_id
