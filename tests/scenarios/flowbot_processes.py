"""What every end-to-end scenario shares: the app and worker processes, signed Slack requests."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.flowlog_format import DEFAULT_V2_HEADERS
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_ratio
from tests.slack_signing import signed_headers, slash_command_body

SECRET = "e2e-signing-secret"  # a test value, not a credential
SLACK_ACK_LIMIT_SECONDS = 3.0
START = SAMPLE_END - timedelta(days=1)
WINDOW = f"--from {START:%Y-%m-%dT%H:%M}Z --to {SAMPLE_END:%Y-%m-%dT%H:%M}Z"


def free_port() -> int:
    """A port nothing listens on yet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(env: dict[str, str]) -> Iterator[str]:
    """`flowbot serve` in its own process; yields its /slack/events URL once /healthz answers.

    Its output goes to a file, not a pipe: a pipe nobody reads fills after 64 KB, and then every thread
    of the app that logs blocks (the ack benchmark hung that way under overload).
    """
    port = free_port()
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:  # noqa: S310
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError):
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    pytest.fail(f"flowbot serve did not come up:\n{output.read().decode()}")
                time.sleep(0.1)
            yield base + "/slack/events"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """POST as Slack does; Slack gives up after 3 s, so this client does too."""
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=SLACK_ACK_LIMIT_SECONDS) as resp:  # noqa: S310
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def slash(url: str, text: str, **fields: str) -> tuple[int, str]:
    """A signed `/flow` slash command."""
    body = slash_command_body(text, **fields)
    return post(url, body, signed_headers(SECRET, body))


def interaction(url: str, payload: dict[str, object]) -> tuple[int, str]:
    """A signed interactivity request (shortcut, button, menu, view submission), as Slack sends it."""
    body = urlencode({"payload": json.dumps(payload)})
    return post(url, body, signed_headers(SECRET, body))


def event(url: str, payload: dict[str, object], retry: int | None = None) -> tuple[int, str]:
    """A signed Events API delivery; `retry` adds Slack's retry headers to a repeated delivery."""
    body = json.dumps(payload)
    headers = signed_headers(SECRET, body, content_type="application/json")
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return post(url, body, headers)


def run_worker(env: dict[str, str]) -> None:
    """`flowbot worker --burst` in its own process: it takes every queued job, then exits."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def form_submission(
    form: dict[str, Any], view_id: str, indicators: str, comment: str, user: str
) -> dict[str, Any]:
    """The IOC form `form` (as views.open sent it) submitted with `indicators` and `comment`, as Slack
    sends a view_submission."""
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "view": {
            **form,
            "id": view_id,
            "hash": "h1",
            "state": {
                "values": {
                    "indicators": {"value": {"type": "plain_text_input", "value": indicators}},
                    "comment": {"value": {"type": "plain_text_input", "value": comment}},
                }
            },
        },
    }


def window_ratio(oracle_rows: list[Row], ip: str) -> list[tuple[object, ...]]:
    """The oracle's data ratio of `ip` over the scenarios' window (START to SAMPLE_END)."""
    return expected_ratio(
        oracle_rows,
        ip,
        int(START.timestamp()),
        int(SAMPLE_END.timestamp()),
        f"{START:%Y/%m/%d}",
        f"{SAMPLE_END:%Y/%m/%d}",
    )


DELIVERY_ACCOUNT, DELIVERY_REGION = "123456789012", "us-east-1"


def deliver_now(root: Path, records: list[tuple[str, str, int, int, int]], name: str) -> Path:
    """One flow-log file delivered now in the AWS layout (a version 2 header; one interface, account and
    region), its records starting this second: (src, dst, sport, dport, bytes), TCP, accepted."""
    account, region = DELIVERY_ACCOUNT, DELIVERY_REGION
    now = int(time.time())
    day = datetime.fromtimestamp(now, UTC)
    folder = root / "AWSLogs" / account / "vpcflowlogs" / region / f"{day:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(DEFAULT_V2_HEADERS)]
    for src, dst, sport, dport, nbytes in records:
        fields = [2, account, "eni-0a1b2c3d4e5f60718", src, dst, sport, dport, 6, 10, nbytes, now, now + 1]
        lines.append(" ".join(map(str, [*fields, "ACCEPT", "OK"])))
    path = folder / f"{account}_vpcflowlogs_{region}_fl-0watch_{day:%Y%m%dT%H%MZ}_{name}.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path
