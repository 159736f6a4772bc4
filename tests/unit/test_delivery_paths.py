"""Where an answer goes when Slack refuses part of it: simpler forms for refused blocks, the asker's DM
for a channel Flowbot may not post in, the DM for a file a public channel will not take; and a
response_url post that Slack refused is seen as refused. Against the mock Slack over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.rendering.summary import Summary
from bot.request import ReplyTarget
from bot.slack import response_url
from bot.slack.delivery import post_answer, post_ioc_reply
from tests.mock_slack import MockSlack
from tests.summaries import ratio_summary

NOW = datetime(2026, 11, 25, 14, tzinfo=UTC)


@pytest.fixture
def slack() -> Iterator[MockSlack]:
    with MockSlack() as mock:
        yield mock


def client(slack: MockSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.base_url)  # no retry handlers: one try each


def summary(rows: int = 3) -> Summary:
    return ratio_summary(NOW, rows)


def target(channel: str = "C0INC", url: str | None = None) -> ReplyTarget:
    return ReplyTarget(team_id="T0001", channel_id=channel, user_id="U0AAA", job_id="job-1", response_url=url)


def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "result.csv"
    path.write_text("sourceaddress,destinationaddress\n10.0.1.25,203.0.113.66\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("error", "status"),
    [("invalid_blocks", 200), ("msg_blocks_too_long", 200), ("internal_error", 200), (None, 500)],
)
def test_a_refused_table_is_sent_as_monospace_and_the_csv_still_follows(
    slack: MockSlack, tmp_path: Path, error: str | None, status: int
) -> None:
    slack.refuse_tables(error=error or "fatal_error", status=status)
    delivered = post_answer(client(slack), target(), summary(), csv_file(tmp_path), thread_ts="1.1")
    first, second = slack.calls("chat.postMessage")
    assert not first.ok and second.ok
    assert '"type": "table"' not in json.dumps(second.json_param("blocks"))
    assert "```" in json.dumps(second.json_param("blocks"))
    assert delivered.summary.ts == second.response["ts"] and not delivered.summary.direct
    assert [c.params["thread_ts"] for c in slack.calls("files.completeUploadExternal")] == ["1.1"]


def test_when_every_block_form_is_refused_the_finding_alone_goes_with_the_csv(
    slack: MockSlack, tmp_path: Path
) -> None:
    slack.fail_next("chat.postMessage", error="invalid_blocks", times=2)
    delivered = post_answer(client(slack), target(), summary(), csv_file(tmp_path), thread_ts="1.1")
    calls = slack.calls("chat.postMessage")
    assert [c.ok for c in calls] == [False, False, True]
    assert "blocks" not in calls[2].params and "the CSV has every row" in calls[2].params["text"]
    assert delivered.where() == "" and len(slack.calls("files.completeUploadExternal")) == 1


def test_a_refusal_that_is_not_about_blocks_is_not_retried_in_another_form(slack: MockSlack) -> None:
    slack.fail_next("chat.postMessage", error="invalid_auth")
    with pytest.raises(SlackApiError):
        post_answer(client(slack), target(), summary(), None)
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_private_channel_without_flowbot_sends_answer_and_file_to_the_askers_dm(
    slack: MockSlack, tmp_path: Path
) -> None:
    slack.without_bot("G0PRIV")
    url = slack.response_url("r1")
    delivered = post_answer(client(slack), target("G0PRIV", url), summary(), csv_file(tmp_path))
    dm = slack.dm_channel("U0AAA")
    assert delivered.summary.direct and delivered.summary.channel == dm
    assert delivered.where() == "answer and CSV sent to the asker by direct message"
    (shared,) = [c for c in slack.calls("files.completeUploadExternal") if c.ok]
    assert shared.params["channel_id"] == dm and shared.params["thread_ts"] == delivered.summary.ts
    (pointer,) = slack.calls("response_url")
    assert pointer.ok and "direct messages" in pointer.params["text"]


def test_a_public_channel_without_flowbot_takes_the_summary_but_the_file_goes_by_dm(
    slack: MockSlack, tmp_path: Path
) -> None:
    slack.without_bot("C0PUB", private=False)
    delivered = post_answer(client(slack), target("C0PUB"), summary(), csv_file(tmp_path), thread_ts="1.1")
    assert delivered.summary.channel == "C0PUB" and not delivered.summary.direct and delivered.csv_direct
    refused, shared = slack.calls("files.completeUploadExternal")
    assert refused.response["error"] == "not_in_channel" and shared.params["channel_id"] == slack.dm_channel(
        "U0AAA"
    )
    note = slack.calls("chat.postMessage")[-1]
    assert note.params["channel"] == "C0PUB" and "/invite @Flowbot" in note.params["text"]


def test_an_ioc_export_in_a_public_channel_without_flowbot_reaches_the_asker(
    slack: MockSlack, tmp_path: Path
) -> None:
    slack.without_bot("C0PUB", private=False)
    post_ioc_reply(client(slack), target("C0PUB"), "2 indicators", csv_file(tmp_path))
    assert [c.ok for c in slack.calls("files.completeUploadExternal")] == [False, True]


def test_a_response_url_post_slack_refused_is_reported_as_refused(slack: MockSlack) -> None:
    url = slack.response_url("five")
    assert all(response_url.send(url, text=f"post {n}") for n in range(5))
    assert response_url.send(url, text="sixth") is False  # 5 posts per response_url
    fresh = slack.response_url("late")
    slack.advance(30 * 60 + 1)
    assert response_url.send(fresh, text="after half an hour") is False
    assert response_url.send(None, text="no url") is False
    assert response_url.send("http://127.0.0.1:9/nothing-listens", text="down") is False


def test_a_csv_slack_will_not_take_is_kept_and_the_thread_says_so(slack: MockSlack, tmp_path: Path) -> None:
    slack.fail_next("files.completeUploadExternal", error="invalid_channel")  # refused, not for membership
    kept: list[str] = []
    delivered = post_answer(
        client(slack), target(), summary(), csv_file(tmp_path), thread_ts="1.1", keep_csv=kept.append
    )
    assert delivered.csv_failed and delivered.where() == "the CSV could not be uploaded"
    assert len(kept) == 1 and kept[0].startswith("CSV upload failed:") and "invalid_channel" in kept[0]
    note = slack.calls("chat.postMessage")[-1]
    assert note.params["thread_ts"] == "1.1" and "Flowbot kept it for its operators" in note.params["text"]
