"""`/flow` end to end on real parts: the HTTP app in its own process, signed requests, the real Redis
queue, a worker process, DuckDB on gzip'd flow logs, and a recording mock of Slack's Web API."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis

from tests.flowlog_oracle import RATIO_COLUMNS, Row
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import SECRET, START, WINDOW, post, run_worker, slash, window_ratio
from tests.slack_signing import signed_headers, slash_command_body

pytestmark = pytest.mark.e2e


def _ack_text(body: str) -> str:
    return str(json.loads(body).get("text", "")) if body else ""


def test_ratio_is_acked_then_answered_with_summary_and_csv(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    status, body = slash(app_url, f"ratio <http://10.0.1.25|10.0.1.25> {WINDOW}", trigger_id="trig-ratio-1")
    assert status == 200 and not body  # the status message is the visible acknowledgement
    (queued,) = mock_slack.wait_for("chat.postMessage")
    assert "`ratio 10.0.1.25" in json.dumps(queued.json_param("blocks"))

    run_worker(env)

    posted = mock_slack.wait_for("chat.postMessage", count=2)[1:]
    assert len(posted) == 1 and posted[0].ok
    message = posted[0].params
    assert message["channel"] == "C0INC" and message["thread_ts"] == queued.response["ts"]
    expected = window_ratio(oracle_rows, "10.0.1.25")
    assert expected, "the sample data must hold traffic of 10.0.1.25 in the window"
    blocks = json.dumps(posted[0].json_param("blocks"))
    top_src, top_dst = expected[0][0], expected[0][1]
    assert top_src in blocks and top_dst in blocks
    assert f"{len(expected):,} row" in blocks
    assert "<@U0AAA>" in blocks

    completed = mock_slack.wait_for("files.completeUploadExternal")
    assert completed[0].params["channel_id"] == "C0INC"
    assert completed[0].params["thread_ts"] == queued.response["ts"]
    (uploaded,) = mock_slack.uploads.values()
    rows = list(csv.reader(io.StringIO(uploaded.decode())))
    assert rows[0] == list(RATIO_COLUMNS)
    assert rows[1:] == [["" if v is None else str(v) for v in row] for row in expected]


def test_a_retried_delivery_makes_no_second_job(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    first = slash(app_url, f"count {WINDOW}", trigger_id="trig-retry-1")
    again = slash(app_url, f"count {WINDOW}", trigger_id="trig-retry-1")
    assert first[0] == again[0] == 200
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 1

    run_worker(env)
    mock_slack.wait_for("files.completeUploadExternal")
    time.sleep(0.5)
    assert len(mock_slack.calls("chat.postMessage")) == 2  # one status message, one answer


def test_bad_input_gets_one_clear_line_and_no_job(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    status, body = slash(app_url, "ratio 10.0.1", trigger_id="trig-bad-1")
    assert status == 200
    text = _ack_text(body)
    assert "`10.0.1` is not an IP address" in text
    assert "Traceback" not in text
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 0


def test_help_lists_every_command(app_url: str) -> None:
    status, body = slash(app_url, "help", trigger_id="trig-help-1")
    assert status == 200
    text = _ack_text(body)
    for usage in ("count", "sample", "top src", "top dst", "timeline <ip>", "ratio <ip>"):
        assert f"`{usage}`" in text


def test_a_bad_signature_is_refused(app_url: str, redis_url: str) -> None:
    body = slash_command_body(f"count {WINDOW}", trigger_id="trig-forged-1")
    status, _ = post(app_url, body, signed_headers("not-the-secret", body))
    assert status == 401
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert post(app_url, body, stale)[0] == 401
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 0


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("yesterday", None),
        ("", None),
        ("1.7e9", None),
        ("9" * 40, None),
        ("\u0661\u0667\u0660\u0660", None),  # Arabic-Indic digits: digits to Python's \d, not to Slack
        (None, "v0=" + "g" * 64),
        (None, "v1=" + "0" * 64),
        (None, "v0=\u00e9" + "0" * 63),  # non-ASCII: hmac.compare_digest raises on it
    ],
)
def test_a_malformed_signature_header_is_refused_with_401_not_a_traceback(
    app_url: str, redis_url: str, timestamp: str | None, signature: str | None
) -> None:
    body = slash_command_body("ratio 10.0.1.25", trigger_id="trig-malformed")
    headers = signed_headers(SECRET, body)
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    status, text = post_raw(app_url, body, headers)
    assert status == 401 and "Traceback" not in text
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 0


def post_raw(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """POST with header values sent as raw UTF-8 bytes (http.client refuses non-latin-1 text in headers)."""
    with socket.create_connection((urlsplit(url).hostname, urlsplit(url).port), timeout=5) as sock:
        lines = [f"POST {urlsplit(url).path} HTTP/1.1", f"Host: {urlsplit(url).netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body.encode())}", "Connection: close", "", ""]
        sock.sendall("\r\n".join(lines).encode("utf-8") + body.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest.decode(errors="replace")


def test_a_body_over_the_limit_is_refused_from_its_length_before_it_is_read(app_url: str) -> None:
    """Content-Length 20 MB and not one byte of body: 413 comes back at once (waitress checks the length)."""
    parts = urlsplit(app_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\n\r\n"
        )
        sock.sendall(head.encode())
        answer = sock.recv(65536)
    assert answer.split()[1] == b"413", answer[:200]


def test_an_engine_failure_is_answered_once_with_the_reason(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, tmp_path: Path
) -> None:
    assert slash(app_url, f"count {WINDOW}", trigger_id="trig-nodata-1")[0] == 200
    run_worker({**env, "FLOWBOT_LOCAL_DATA_DIR": str(tmp_path / "no-logs-here")})
    final = mock_slack.wait_for("chat.update", count=2)[-1]
    said = json.dumps(final.json_param("blocks"))
    assert "could not be answered: no flow logs at" in said
    assert "Traceback" not in said
    assert len(mock_slack.calls("chat.postMessage")) == 1  # the status message said it
    assert mock_slack.calls("files.completeUploadExternal") == []


def test_a_corrupt_file_in_the_window_is_answered_with_its_name(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, tmp_path: Path
) -> None:
    folder = tmp_path / "AWSLogs/012345678901/vpcflowlogs/us-east-1" / f"{START:%Y/%m/%d}"
    folder.mkdir(parents=True)
    (folder / "012345678901_vpcflowlogs_us-east-1_fl-1_20261119T0010Z_bad.log.gz").write_bytes(b"not gzip")
    assert slash(app_url, f"count {WINDOW}", trigger_id="trig-corrupt-1")[0] == 200
    run_worker({**env, "FLOWBOT_LOCAL_DATA_DIR": str(tmp_path)})
    final = mock_slack.wait_for("chat.update", count=2)[-1]
    assert "_bad.log.gz is not a readable gzip flow-log file" in final.params["text"] + json.dumps(
        final.json_param("blocks")
    )


def test_a_rate_limited_post_is_retried_by_the_worker_and_answers_once(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    mock_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    assert slash(app_url, f"top src {WINDOW}", trigger_id="trig-429-1")[0] == 200
    assert not mock_slack.wait_for("chat.postMessage")[0].ok  # the status message: refused, not slept out
    time.sleep(1.5)
    assert len(mock_slack.calls("chat.postMessage")) == 1  # the app did not wait out Retry-After
    mock_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    run_worker(env)  # the worker posts the status itself, and does wait out a 429
    mock_slack.wait_for("files.completeUploadExternal")
    attempts = mock_slack.calls("chat.postMessage")
    assert [c.status for c in attempts] == [429, 429, 200, 200]
    assert attempts[2].at - attempts[1].at >= 0.9


def test_a_queued_job_can_be_cancelled_and_then_never_answers(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-cancel-1")
    (queued,) = mock_slack.wait_for("chat.postMessage")
    job = re.search(r"job ([0-9a-f]{8})", json.dumps(queued.json_param("blocks")))
    assert job, queued
    reply_to = mock_slack.response_url("cancel")
    status, _ = slash(app_url, f"cancel {job.group(1)}", trigger_id="trig-cancel-2", response_url=reply_to)
    assert status == 200
    (edit,) = mock_slack.wait_for("chat.update")
    assert edit.params["ts"] == queued.response["ts"]
    assert "was cancelled by <@U0AAA>" in json.dumps(edit.json_param("blocks"))
    (reply,) = mock_slack.wait_for("response_url")
    assert reply.params["response_type"] == "ephemeral"
    assert f"Cancelled job {job.group(1)} (`count {WINDOW}`) before it ran" in reply.params["text"]
    run_worker(env)
    assert len(mock_slack.calls("chat.postMessage")) == 1
    slash(app_url, "cancel deadbeef", trigger_id="trig-cancel-3", response_url=reply_to)
    slash(app_url, f"cancel {job.group(1)}", trigger_id="trig-cancel-4", response_url=reply_to)
    replies = [c.params["text"] for c in mock_slack.wait_for("response_url", count=3)]
    assert "No job deadbeef" in replies[1]
    assert "no longer queued or running" in replies[2]
