"""Retro-hunts end to end: `/flow ioc add` through the real HTTP app, Redis, worker processes and the mock
Slack; the new indicators hunted back FLOWBOT_RETROHUNT_DAYS at once, once per submission, in the
submitter's thread and the announce channel, with the oracle's hits.

The flow logs here end at the current hour (a retro-hunt's window ends when the indicator was added), so
this module writes its own, three days of them, with the sample generator."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.samples.flow_logs import EXFIL_PEER, MINING_POOL, generate
from tests.flowlog_oracle import HUNT_COLUMNS, Row, expected_hunt, load_rows
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import run_worker, slash

pytestmark = pytest.mark.e2e
ANNOUNCE = "C0SECOPS"
QUIET = "192.0.2.250"
"""An indicator no flow in the sample data touches."""


@pytest.fixture(scope="module")
def recent_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of flow logs up to the current hour."""
    root = tmp_path_factory.mktemp("recent-flowlogs")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    generate(root, end=end, days=3, seed=11, scale=0.25)
    return root


@pytest.fixture(scope="module")
def recent_rows(recent_root: Path) -> list[Row]:
    return load_rows(recent_root)


@pytest.fixture
def env(env: dict[str, str], tmp_path: Path, recent_root: Path) -> dict[str, str]:
    return {
        **env,
        "FLOWBOT_LOCAL_DATA_DIR": str(recent_root),
        "FLOWBOT_IOC_STORE": str(tmp_path / "iocs"),
        "FLOWBOT_IOC_ANNOUNCE_CHANNEL": ANNOUNCE,
        "FLOWBOT_RETROHUNT_DAYS": "30",
    }


def oracle_hits(rows: list[Row], indicators: list[str]) -> list[list[str]]:
    """Every hit of `indicators` in the data (all of which lies inside the last 30 days), as CSV cells."""
    hits = expected_hunt(rows, indicators, 0, 2**40, "1970/01/01", "9999/12/31")
    return [["" if v is None else str(v) for v in row] for row in hits]


def test_an_ioc_add_hunts_back_the_new_indicators_once(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, recent_rows: list[Row]
) -> None:
    slash(app_url, f"ioc add {EXFIL_PEER} -- earlier indicator", trigger_id="trig-retro-0")
    run_worker(env)  # its own retro-hunt runs here too
    mock_slack.reset()

    command = f"ioc add {MINING_POOL} {QUIET} -- miner pool from the EDR"
    first = slash(app_url, command, trigger_id="trig-retro-1")
    again = slash(app_url, command, trigger_id="trig-retro-1")  # Slack delivers the command again
    assert first[0] == again[0] == 200
    run_worker(env)  # the submission, then the retro-hunt it queued
    run_worker(env)  # nothing is left to run twice
    mock_slack.wait_for("files.completeUploadExternal")

    posted = mock_slack.calls("chat.postMessage")
    replies = [c for c in posted if c.params["channel"] == "C0INC" and "Added" in c.params.get("text", "")]
    assert len(replies) == 1
    reply_ts = replies[0].response["ts"]
    in_thread = [c for c in posted if c.params.get("thread_ts") == reply_ts]
    assert in_thread, "the retro-hunt's status and answer are in the thread of the submission's reply"

    (uploaded,) = mock_slack.uploads.values()  # one retro-hunt, one CSV
    rows = list(csv.reader(io.StringIO(uploaded.decode())))
    assert rows[0] == list(HUNT_COLUMNS)
    expected = oracle_hits(recent_rows, [MINING_POOL, QUIET])
    assert expected, "the sample data holds mining-pool traffic"
    assert rows[1:] == expected  # the new indicators' hits only: none of the earlier EXFIL_PEER's
    completed = mock_slack.calls("files.completeUploadExternal")
    assert [c.params["thread_ts"] for c in completed] == [reply_ts]

    announced = [c.params["text"] for c in posted if c.params["channel"] == ANNOUNCE]
    retro = [t for t in announced if "Retro-hunt" in t]
    assert len(retro) == 1 and "<@U0AAA>" in retro[0]


def test_an_indicator_without_traffic_is_said_to_have_none(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    slash(app_url, f"ioc add {QUIET} -- a phishing host", trigger_id="trig-retro-2")
    run_worker(env)
    run_worker(env)
    texts = [
        json.dumps(c.params.get("blocks") or c.params.get("text"), ensure_ascii=False)
        for c in mock_slack.calls("chat.postMessage") + mock_slack.calls("chat.update")
    ]
    assert any(f"No traffic with `{QUIET}` in 30 days" in t for t in texts)
    announced = [
        c.params["text"] for c in mock_slack.calls("chat.postMessage") if c.params["channel"] == ANNOUNCE
    ]
    assert any("Retro-hunt" in t and "No traffic" in t for t in announced)
    assert not mock_slack.uploads or all(b.count(b"\n") <= 1 for b in mock_slack.uploads.values())


def test_retrohunts_can_be_turned_off(app_url: str, env: dict[str, str], mock_slack: MockSlack) -> None:
    """The worker queues retro-hunts, so its FLOWBOT_RETROHUNT_DAYS=0 is what turns them off."""
    status, _ = slash(app_url, f"ioc add {MINING_POOL}", trigger_id="trig-retro-3")
    assert status == 200
    off = {**env, "FLOWBOT_RETROHUNT_DAYS": "0"}
    run_worker(off)
    run_worker(off)
    assert mock_slack.calls("chat.postMessage"), "the submission was answered"
    assert not mock_slack.uploads
    assert not [c for c in mock_slack.calls("chat.postMessage") if "retro-hunt" in c.params.get("text", "")]
