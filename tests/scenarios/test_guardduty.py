"""The GuardDuty pivot end to end: the HTTP app in its own process receives a signed `/flow guardduty …`
(or the message shortcut), the real Redis queues one pivot, a worker process reads the finding from a local
GuardDuty endpoint checked against botocore's published model (tests/guardduty_findings.py, reached through
AWS_ENDPOINT_URL_GUARDDUTY), posts one header, and runs `ratio` and `timeline` in its thread on the sample
flow logs; the answers are compared with the oracle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.flowlog_oracle import Row, expected_ratio
from tests.guardduty_findings import DETECTOR, REGION, GuardDutyEndpoint, ssh_brute_force
from tests.mock_slack import MockSlack, RecordedCall
from tests.scenarios.flowbot_processes import interaction, run_worker, serve, slash

pytestmark = pytest.mark.e2e
FINDING_ID = "5e7c9a1b3d5f7092a4c6e8b0d2f41637"
SAMPLE_ACCOUNT = "012345678901"
"""The sample flow logs' main account (bot/samples/flow_logs.py), where 10.0.1.25 talks to 203.0.113.66."""
FINDING = ssh_brute_force(
    FINDING_ID,
    remote_ip="203.0.113.66",
    private_ip="10.0.1.25",
    account=SAMPLE_ACCOUNT,
    first_seen="2026-11-19T06:00:00.000Z",
    last_seen="2026-11-19T18:00:00.000Z",
)
WINDOW = (datetime(2026, 11, 19, 5, tzinfo=UTC), datetime(2026, 11, 19, 19, tzinfo=UTC))
"""The finding's sightings with FLOWBOT_GUARDDUTY_MARGIN's default hour on each side."""


@pytest.fixture
def guardduty() -> Iterator[GuardDutyEndpoint]:
    with GuardDutyEndpoint([FINDING]) as endpoint:
        yield endpoint


@pytest.fixture
def gd_env(env: dict[str, str], guardduty: GuardDutyEndpoint, tmp_path: Path) -> dict[str, str]:
    """The scenario environment with a queue of this test's own and the AWS SDK pointed at the endpoint."""
    return {
        **env,
        "FLOWBOT_QUEUE_NAME": "flowbot-e2e-guardduty",
        "FLOWBOT_GUARDDUTY_REGION": REGION,
        "AWS_ENDPOINT_URL_GUARDDUTY": guardduty.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1",
    }


@pytest.fixture
def gd_app(gd_env: dict[str, str]) -> Iterator[str]:
    yield from serve(gd_env)


def _blocks(call: RecordedCall) -> str:
    return json.dumps(call.json_param("blocks")) if "blocks" in call.params else ""


def _headers(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if str(c.params.get("text", "")).startswith(":mag: GuardDuty")]


def test_the_command_posts_one_header_and_answers_ratio_and_timeline_in_its_thread(
    gd_app: str,
    gd_env: dict[str, str],
    mock_slack: MockSlack,
    guardduty: GuardDutyEndpoint,
    oracle_rows: list[Row],
) -> None:
    status, body = slash(gd_app, f"guardduty {FINDING_ID}", trigger_id="trig-gd-1")
    assert status == 200 and "Reading GuardDuty finding" in json.loads(body)["text"]
    assert slash(gd_app, f"guardduty {FINDING_ID}", trigger_id="trig-gd-1")[0] == 200  # Slack's retry
    run_worker(gd_env)  # the pivot, then the three queries it queued

    posts = mock_slack.calls("chat.postMessage")
    (header,) = _headers(posts)
    text = header.params["text"]
    assert header.params["channel"] == "C0INC" and not header.params.get("thread_ts")
    assert "UnauthorizedAccess:EC2/SSHBruteForce, severity 5 (medium)" in text
    assert "remote 203.0.113.66, local eni-0a1b2c3d4e5f60718 (10.0.1.25)" in text
    assert "window 2026-11-19 05:00 → 2026-11-19 19:00 UTC" in text
    thread = header.response["ts"]
    in_thread = [p for p in posts if p is not header]
    assert in_thread and all(p.params.get("thread_ts") == thread for p in in_thread)
    statuses = {json.dumps(e.json_param("blocks")) for e in mock_slack.calls("chat.update")}
    for asked in ("ratio 203.0.113.66", "timeline 203.0.113.66", "timeline 10.0.1.25"):
        assert any(f"`{asked} --from 2026-11-19T05:00:00Z" in s for s in statuses), asked
    expected = expected_ratio(
        oracle_rows,
        "203.0.113.66",
        int(WINDOW[0].timestamp()),
        int(WINDOW[1].timestamp()),
        "2026/11/19",
        "2026/11/20",
        SAMPLE_ACCOUNT,
        REGION,
    )
    assert expected, "the sample data must hold traffic of 203.0.113.66 in the finding's window"
    answers = [p for p in in_thread if "row" in _blocks(p)]
    assert any(str(expected[0][0]) in _blocks(a) and str(expected[0][1]) in _blocks(a) for a in answers)
    gets = [r for r in guardduty.requests if r[0] == "POST"]
    assert gets == [("POST", f"/detector/{DETECTOR}/findings/get", {"findingIds": [FINDING_ID]})]

    run_worker(gd_env)  # nothing is left to run: no second header, no query twice
    assert len(mock_slack.calls("chat.postMessage")) == len(posts)


def test_the_message_shortcut_pivots_in_the_findings_thread(
    gd_app: str, gd_env: dict[str, str], mock_slack: MockSlack
) -> None:
    arn = f"arn:aws:guardduty:{REGION}:{SAMPLE_ACCOUNT}:detector/{DETECTOR}/finding/{FINDING_ID}"
    message: dict[str, Any] = {
        "ts": "1700000500.000200",
        "text": "GuardDuty finding",
        "attachments": [{"title": "UnauthorizedAccess:EC2/SSHBruteForce", "fields": [{"value": arn}]}],
    }
    shortcut = {
        "type": "message_action",
        "callback_id": "flowbot_guardduty_pivot",
        "trigger_id": "trig-gd-shortcut-1",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0INC"},
        "message": message,
        "response_url": mock_slack.response_url("gd-shortcut"),
    }
    assert interaction(gd_app, shortcut)[0] == 200
    (on_it,) = mock_slack.wait_for("response_url")
    assert (
        "Reading GuardDuty finding" in on_it.params["text"]
        and "this message's thread" in on_it.params["text"]
    )
    run_worker(gd_env)
    posts = mock_slack.calls("chat.postMessage")
    (header,) = _headers(posts)
    assert header.params["thread_ts"] == "1700000500.000200"
    assert all(p.params.get("thread_ts") == "1700000500.000200" for p in posts)
    assert len(posts) >= 1 + 3 + 3  # the header, three status messages, three answers
