"""How long `/flow ioc add` takes to be acknowledged when its permission check needs a user group and
Slack rate-limits `usergroups.users.list`, against Slack's 3-second limit.

Each command is from a person allowed only through a user group (FLOWBOT_IOC_ADD_ALLOWED=S…), and the
group's members are not in Redis (expired, or never read), so the check has to ask Slack; Slack answers
HTTP 429 with `Retry-After: 1` every time. The real `flowbot serve`, the bench Redis database and the
recording mock Slack in this process. Latency is from sending the request to its HTTP answer.

    python -m bench.bench_deadlines --data sample-data
"""

from __future__ import annotations

import argparse
import time
import urllib.error
import urllib.request
from pathlib import Path

from redis import Redis

from bench.report import Figure, markdown, percentile
from bench.slack_side import BENCH_REDIS_URL, app_env
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import SECRET, serve
from tests.slack_signing import signed_headers, slash_command_body

SLACK_LIMIT_MS = 3000.0
GROUP = "S0BENCHIR"
RETRY_AFTER_SECONDS = 1
CLIENT_TIMEOUT_SECONDS = 30.0


def _ack(url: str, n: int) -> tuple[float, int]:
    """One signed `/flow ioc add`: milliseconds to its HTTP answer (however long it takes), and its status."""
    body = slash_command_body("ioc add 203.0.113.9 bench", trigger_id=f"bench.deadline.{n}")
    request = urllib.request.Request(
        url, data=body.encode(), headers=signed_headers(SECRET, body), method="POST"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_SECONDS) as response:
            response.read()
            status = int(response.status)
    except urllib.error.HTTPError as refused:  # Bolt answers 404 when a listener did not ack within 3 s
        status = refused.code
    return (time.perf_counter() - started) * 1000, status


def figures(data: Path, count: int = 10) -> list[Figure]:
    """Ack latencies of `count` commands, each with the group's members gone from Redis."""
    redis = Redis.from_url(BENCH_REDIS_URL)
    redis.flushdb()
    with MockSlack() as mock:
        env = app_env(mock.base_url, data, FLOWBOT_IOC_ADD_ALLOWED=GROUP)
        app = serve(env)
        url = next(app)
        try:
            time.sleep(0.5)  # let a start-up read of the group, if any, finish
            latencies, statuses = [], []
            for n in range(count):
                redis.delete(f"flowbot:usergroup:{GROUP}")
                mock.fail_next("usergroups.users.list", status=429, retry_after=RETRY_AFTER_SECONDS, times=10)
                took, status = _ack(url, n)
                latencies.append(took)
                statuses.append(status)
                time.sleep(0.2)
            calls = len(mock.calls("usergroups.users.list"))
        finally:
            app.close()
            redis.flushdb()
    section = "Deadlines"
    late = sum(
        1 for took, status in zip(latencies, statuses, strict=True) if status != 200 or took > SLACK_LIMIT_MS
    )
    note = (
        f"{count} commands, user group never read, usergroups.users.list answering 429 Retry-After "
        f"{RETRY_AFTER_SECONDS} s ({calls} calls); {late} not acknowledged within Slack's 3 s "
        f"(HTTP {sorted(set(statuses))})"
    )
    shown = (("p50", percentile(latencies, 0.5)), ("max", max(latencies)))
    return [
        Figure(
            section,
            f"ioc add ack, group lookup rate-limited: {name}",
            value,
            "ms",
            SLACK_LIMIT_MS,
            "Slack's limit",
            note,
        )
        for name, value in shown
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder holding AWSLogs/ (flowbot sample-data)"
    )
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    print(markdown(figures(args.data, args.count)))


if __name__ == "__main__":
    main()
