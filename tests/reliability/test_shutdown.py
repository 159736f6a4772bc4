"""SIGTERM, as Kubernetes, systemd and `docker stop` send it, loses nothing: a worker finishes the job in
hand and answers it once, then exits 0; `flowbot serve` stops accepting, still answers the request in
hand, then exits 0.

The work is made slow with a real fault, not a hook in the code: the mock Slack answers slowly (or 429
with Retry-After, which a worker waits out), or Redis holds its clients (CLIENT PAUSE).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from rq.job import Job

from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import SECRET, WINDOW, free_port, slash
from tests.slack_signing import signed_headers, slash_command_body

pytestmark = pytest.mark.e2e
EXIT_SECONDS = 20


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def server_env(env: dict[str, str], request: pytest.FixtureRequest) -> dict[str, str]:
    """The scenario env, plus what a test gives through indirect parametrization."""
    return env | {"FLOWBOT_IOC_ADD_ALLOWED": "S0RESPONDERS"} | getattr(request, "param", {})


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`flowbot serve` whose process the test signals itself; yields it and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not accepts(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"flowbot serve did not come up:\n{proc.communicate()[1]}")
        time.sleep(0.05)
    try:
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def accepts(port: int) -> bool:
    """Whether something accepts connections on the port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_sigterm_lets_the_job_in_hand_finish_answer_once_and_exit_0(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    assert slash(app_url, f"ratio <http://10.0.1.25|10.0.1.25> {WINDOW}", trigger_id="trig-term-1")[0] == 200
    (status_message,) = mock_slack.wait_for("chat.postMessage")
    mock_slack.fail_next("chat.postMessage", status=429, retry_after=2)  # the answer's post is held up

    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        mock_slack.wait_for("chat.postMessage", count=2, timeout=30)  # the job is now in the middle
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=EXIT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()

    assert worker.returncode == 0, err.decode()
    answers = [c for c in mock_slack.calls("chat.postMessage") if c.ok and c is not status_message]
    assert len(answers) == 1
    assert answers[0].params["thread_ts"] == status_message.response["ts"]
    assert len(mock_slack.calls("files.completeUploadExternal")) == 1
    (job_id,) = {e["job_id"] for e in log_lines(err.decode()) if "job_id" in e}
    assert Job.fetch(job_id, connection=Redis.from_url(redis_url)).get_status() == "finished"
    messages = [e["message"] for e in log_lines(err.decode())]
    assert any("warm shut down requested" in m for m in messages), messages


def test_sigterm_on_serve_stops_accepting_but_answers_the_request_in_hand(
    server: tuple[subprocess.Popen[str], str], mock_slack: MockSlack, redis_url: str
) -> None:
    proc, base = server
    port = int(base.rsplit(":", 1)[1])
    # A listener never waits on Slack before acknowledging; it does read Redis (the channel's context,
    # the queue). Redis holds every other client for 1.5 s (CLIENT PAUSE), so the request is in hand.
    answered: list[tuple[int, str]] = []
    body = slash_command_body(f"count {WINDOW}", trigger_id="trig-term-2")
    request = urllib.request.Request(  # noqa: S310
        base + "/slack/events", data=body.encode(), headers=signed_headers(SECRET, body), method="POST"
    )

    def ask() -> None:
        with urllib.request.urlopen(request, timeout=15) as resp:  # noqa: S310
            answered.append((resp.status, resp.read().decode()))

    Redis.from_url(redis_url).execute_command("CLIENT", "PAUSE", 1500, "ALL")
    asking = threading.Thread(target=ask)
    asking.start()
    time.sleep(0.3)  # the request reaches the app and waits on Redis
    proc.send_signal(signal.SIGTERM)

    deadline = time.monotonic() + 1
    while accepts(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not accepts(port), "still accepting connections after SIGTERM"
    assert asking.is_alive(), "the request in hand should still be waiting on Redis"

    asking.join(timeout=EXIT_SECONDS)
    _, err = proc.communicate(timeout=EXIT_SECONDS)
    assert proc.returncode == 0, err
    assert answered == [(200, "")]  # acknowledged; its status message says the rest
    messages = [e["message"] for e in log_lines(err)]
    assert any("SIGTERM received" in m for m in messages), messages
    assert not any("still busy" in m for m in messages), messages


def test_sigterm_on_serve_after_the_ack_still_posts_the_status_message(
    server: tuple[subprocess.Popen[str], str], mock_slack: MockSlack
) -> None:
    """Bolt posts a job's status message after acknowledging: the process waits for that post."""
    proc, base = server
    mock_slack.slow_next("chat.postMessage", 2.0)  # Slack takes 2 s to answer the status post
    body = slash_command_body(f"count {WINDOW}", trigger_id="trig-term-3")
    request = urllib.request.Request(  # noqa: S310
        base + "/slack/events", data=body.encode(), headers=signed_headers(SECRET, body), method="POST"
    )
    with urllib.request.urlopen(request, timeout=3) as resp:  # noqa: S310
        assert resp.status == 200
    deadline = time.monotonic() + 10
    while not mock_slack.arrived("chat.postMessage") and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # with the status post still in flight
    _, err = proc.communicate(timeout=EXIT_SECONDS)
    assert proc.returncode == 0, err
    posted = [c for c in mock_slack.calls("chat.postMessage") if c.ok]
    assert len(posted) == 1 and "count" in posted[0].params["text"]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310


@pytest.mark.parametrize("server_env", [{"FLOWBOT_STATUS_POST_THREADS": "1"}], indirect=True)
def test_sigterm_on_serve_leaves_a_backlog_of_status_messages_to_the_workers(
    server: tuple[subprocess.Popen[str], str], mock_slack: MockSlack, redis_url: str
) -> None:
    """Status messages wait on their own threads while Slack is slow; on SIGTERM the one being posted
    finishes and the waiting ones are dropped (each job is queued: its worker posts the status), so the
    process exits instead of working through the backlog."""
    proc, base = server
    mock_slack.slow_next("chat.postMessage", 3.0, times=10)
    for i in range(4):
        status, _ = slash(base + "/slack/events", f"count {WINDOW}", trigger_id=f"trig-backlog-{i}")
        assert status == 200  # acknowledged at once though Slack is slow
    mock_slack.wait_for("chat.postMessage", timeout=10)  # the first post is being answered, slowly
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=EXIT_SECONDS)
    assert proc.returncode == 0, err
    messages = [e["message"] for e in log_lines(err)]
    (stopped,) = [m for m in messages if m.startswith("Flowbot stopped")]
    dropped = int(re.search(r"\((\d+) status message", stopped).group(1))  # type: ignore[union-attr]
    posted = len(mock_slack.calls("chat.postMessage"))
    assert dropped >= 1 and posted + dropped == 4, (posted, stopped)
    assert Redis.from_url(redis_url).llen("rq:queue:flowbot-e2e") == 4  # every job still queued
