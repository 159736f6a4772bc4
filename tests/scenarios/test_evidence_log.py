"""`/flow evidence` end to end: the HTTP app in its own process, signed requests, the real Redis queue, worker
processes running the local engine on the sample logs, and the recording mock Slack. Two queries in one
channel and one in another, then the export: exactly the channel's two, with their SQL, values, scans and the
SHA-256 of the very CSVs Slack received (computed here, from the mock's bytes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job

from bot.queue.enqueue import job_id_for
from bot.rendering.cells import human_bytes
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, run_worker, serve, slash

pytestmark = pytest.mark.e2e
QUEUE = "flowbot-e2e-evidence"


@pytest.fixture
def evidence_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The scenario environment with a queue and an evidence store of this test's own."""
    return {**env, "FLOWBOT_QUEUE_NAME": QUEUE, "FLOWBOT_EVIDENCE_STORE": str(tmp_path / "evidence")}


@pytest.fixture
def evidence_app(evidence_env: dict[str, str]) -> Iterator[str]:
    yield from serve(evidence_env)


def _uploads(mock: MockSlack) -> dict[str, bytes]:
    """Each file Slack received, by the name it was uploaded under."""
    return {
        str(call.params["filename"]): mock.uploads[str(call.response["file_id"])]
        for call in mock.calls("files.getUploadURLExternal")
        if call.ok
    }


def test_evidence_exports_exactly_the_channels_queries_with_sql_scans_and_csv_digests(
    evidence_app: str, evidence_env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    asked = [
        ("trig-ev-1", "C0INC", "U0AAA", f"ratio 10.0.1.25 {WINDOW}"),
        ("trig-ev-2", "C0INC", "U0BBB", f"top src {WINDOW}"),
        ("trig-ev-3", "C0OTHER", "U0AAA", f"count {WINDOW}"),
    ]
    for trigger, channel, user, text in asked:
        status, body = slash(evidence_app, text, trigger_id=trigger, channel_id=channel, user_id=user)
        assert status == 200 and not body
    run_worker(evidence_env)
    mock_slack.wait_for("files.completeUploadExternal", count=3)
    jobs = {trigger: job_id_for("T0001", trigger) for trigger, *_ in asked}
    redis = Redis.from_url(redis_url)
    reported = {t: Job.fetch(j, connection=redis).return_value() or {} for t, j in jobs.items()}
    assert all(r.get("status") == "answered" for r in reported.values()), reported
    answers = " ".join(json.dumps(c.json_param("blocks")) for c in mock_slack.calls("chat.postMessage"))
    csvs = {name: data for name, data in _uploads(mock_slack).items() if name.startswith("flowbot-")}
    digests = {name[-12:-4]: hashlib.sha256(data).hexdigest() for name, data in csvs.items()}  # by job[:8]

    status, body = slash(evidence_app, "evidence --last 90d", trigger_id="trig-ev-export", user_id="U0CCC")
    assert status == 200 and "evidence log" in json.loads(body)["text"]
    run_worker(evidence_env)
    mock_slack.wait_for("files.completeUploadExternal", count=5)

    stem = f"evidence-C0INC-{datetime.now(UTC):%Y-%m-%d}"
    files = _uploads(mock_slack)
    rows = list(csv.DictReader(io.StringIO(files[f"{stem}.csv"].decode())))
    records = [json.loads(line) for line in files[f"{stem}.jsonl"].decode().splitlines()]
    assert not any(name.startswith("evidence-C0OTHER") for name in files)
    assert (
        [r["job_id"] for r in rows]
        == [r["job_id"] for r in records]
        == [jobs["trig-ev-1"], jobs["trig-ev-2"]]
    )
    for trigger, row, record in zip(("trig-ev-1", "trig-ev-2"), rows, records, strict=True):
        job = jobs[trigger]
        _, channel, user, text = next(a for a in asked if a[0] == trigger)
        assert (record["channel_id"], record["asked_by"], record["outcome"]) == (channel, user, "answered")
        assert record["command"] == row["command"] == text
        assert record["sql"] and row["sql"] == record["sql"] and "FROM" in record["sql"].upper()
        assert record["sql_parameters"] == json.loads(row["sql_parameters"])
        assert record["parameters"]["from_iso"].startswith("2026-11-19")
        assert record["bytes_scanned"] == reported[trigger]["bytes_scanned"] == int(row["bytes_scanned"])
        assert human_bytes(record["bytes_scanned"]) in answers  # as the answer said it
        assert record["rows"] == reported[trigger]["rows"]
        assert record["csv_sha256"] == row["csv_sha256"] == digests[job[:8]]
        assert record["query_id"] == job and record["engine"] == "local" and record["cost_usd"] is None
    assert records[0]["sql_parameters"]["ip"] == "10.0.1.25"
    assert records[0]["parameters"]["ip"] == "10.0.1.25"
    summary = [c for c in mock_slack.calls("chat.postMessage") if "Evidence log" in str(c.params.get("text"))]
    assert len(summary) == 1 and summary[0].params["channel"] == "C0INC"
    scanned = human_bytes(sum(r["bytes_scanned"] for r in records))
    assert f"2 queries, {scanned} scanned" in summary[0].params["text"]
