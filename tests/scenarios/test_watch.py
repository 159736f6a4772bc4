"""Standing watches end to end: `/flow watch hunt every 4s` through the real HTTP app, Redis, RQ's scheduler
in a worker process that is stopped and started again between two deliveries of flow logs, and the mock
Slack. Each new hit is posted once, a connection that goes on is not posted again, and nothing else is.

The deliveries are gzip'd flow-log files written into the AWS layout while the watch runs, with records
that start at the moment they are written (the watch's delivery lag is 2 s here, 15 minutes by default).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest
from redis import Redis

from bot.samples.flow_logs import MINING_POOL
from tests.flowlog_oracle import HUNT_COLUMNS, expected_hunt, load_rows
from tests.mock_slack import MockSlack
from tests.reliability.processes import worker
from tests.scenarios.flowbot_processes import deliver_now, slash

pytestmark = pytest.mark.e2e
EVERY = 4


@pytest.fixture
def env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **env,
        "FLOWBOT_LOCAL_DATA_DIR": str(tmp_path / "flowlogs"),
        "FLOWBOT_IOC_STORE": str(tmp_path / "iocs"),
        "FLOWBOT_RETROHUNT_DAYS": "0",
        "FLOWBOT_WATCH_MIN_EVERY_SECONDS": str(EVERY),
        "FLOWBOT_WATCH_DELIVERY_LAG_SECONDS": "2",
        "FLOWBOT_WORKER_MAINTENANCE_SECONDS": "5",
    }


def oracle(root: Path, delivery: Path, scratch: Path) -> list[list[str]]:
    """The hunt's rows for one delivered file, read by the oracle alone."""
    target = scratch / delivery.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(delivery, target)
    hits = expected_hunt(load_rows(scratch), [MINING_POOL], 0, 2**40, "1970/01/01", "9999/12/31")
    return [["" if v is None else str(v) for v in row] for row in hits]


def csv_rows(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0][: len(HUNT_COLUMNS)] == list(HUNT_COLUMNS)
    return rows[1:]


def wait_for_uploads(mock_slack: MockSlack, count: int, timeout: float = 45.0) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while len(mock_slack.uploads) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(mock_slack.uploads) >= count, f"{len(mock_slack.uploads)} of {count} CSVs posted"
    return list(mock_slack.uploads.values())


def test_a_watch_posts_each_new_hit_once_across_a_worker_restart(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str, tmp_path: Path
) -> None:
    root = Path(env["FLOWBOT_LOCAL_DATA_DIR"])
    deliver_now(root, [("10.0.1.10", "10.0.1.11", 40000, 443, 100)], "before")  # no indicator in it
    with worker(env, graceful=True):
        slash(app_url, f"ioc add {MINING_POOL} -- mining pool", trigger_id="trig-watch-ioc")
        mock_slack.wait_for("chat.postMessage")
        status, body = slash(app_url, f"watch hunt every {EVERY}s", trigger_id="trig-watch-1")
        again = slash(app_url, f"watch hunt every {EVERY}s", trigger_id="trig-watch-1")  # Slack's retry
        assert status == again[0] == 200
        assert "started watch" in body and "started watch" not in again[1]
        scheduled = Redis.from_url(redis_url).zcard("rq:scheduled:flowbot-e2e")
        assert scheduled == 1, "one watch, one interval scheduled"

        first = deliver_now(
            root,
            [
                ("10.0.2.40", MINING_POOL, 41000, 3333, 900),  # a miner connecting to the pool
                (MINING_POOL, "10.0.2.41", 3333, 52000, 700),  # the pool reaching another host
                ("10.0.1.10", "10.0.1.12", 40001, 443, 100),  # no indicator
            ],
            "first",
        )
        (posted,) = wait_for_uploads(mock_slack, 1)
        expected_first = oracle(root, first, tmp_path / "oracle-1")
        assert len(expected_first) == 2
        assert [r[: len(HUNT_COLUMNS)] for r in csv_rows(posted)] == expected_first

    # every Flowbot process but the app is gone; the watch's next interval waits in Redis
    second = deliver_now(
        root,
        [
            ("10.0.2.40", MINING_POOL, 41000, 3333, 1500),  # the same connection going on: not new
            ("10.0.2.42", MINING_POOL, 41500, 3333, 800),  # a new miner
        ],
        "second",
    )
    time.sleep(EVERY + 1)
    with worker(env, graceful=True):
        uploads = wait_for_uploads(mock_slack, 2)
        hits = oracle(root, second, tmp_path / "oracle-2")
        new_miner = [r for r in hits if r[2].startswith("10.0.2.42:")]
        assert len(new_miner) == 1
        assert [r[: len(HUNT_COLUMNS)] for r in csv_rows(uploads[1])] == new_miner
        time.sleep(3 * EVERY)  # three more intervals, with nothing new delivered

    assert len(mock_slack.uploads) == 2
    summaries = [
        c for c in mock_slack.calls("chat.postMessage") if "watch w" in json.dumps(c.json_param("blocks"))
    ]
    assert len(summaries) == 2, [c.params.get("text") for c in summaries]
