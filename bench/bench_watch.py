"""A standing watch across the loss of every process: `.venv/bin/python -m bench.bench_watch`.

On real parts of its own (a private `redis-server` with its append-only file and `appendfsync always`, as the
chart runs it; `flowbot serve`; `flowbot worker` with RQ's scheduler; the recording mock Slack in this
process), a watch `hunt every N s` runs over flow-log files delivered while it runs. Each round delivers new
hits (a new host talking to the indicator) and one connection that goes on from the round before; after a
delivery, every second round kills the worker (SIGKILL, with its work horse and RQ's scheduler), the app and
Redis, and starts them again. Figures: each new hit posted exactly once (and nothing else posted), the time
from a delivery's window closing to its post with everything running, and from the restart of every process
to the post. It asserts nothing; the tests run it at a small size (tests/bench/test_benchmarks_run.py).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from bench.bench_faults import stage
from bench.report import Figure, machine, markdown
from bot.samples.flow_logs import MINING_POOL
from tests.mock_slack import MockSlack
from tests.reliability.processes import kill_hard
from tests.scenarios.flowbot_processes import deliver_now, slash

LAG = 2
"""The watch's delivery lag here (FLOWBOT_WATCH_DELIVERY_LAG_SECONDS): records start as they are written."""
CONNECTING_IP = 5
"""Where a hunt row names the host that connects (HUNT_COLUMNS' connecting_ip) in the posted CSV."""


@dataclass
class Tally:
    """What the watch posted against what each round delivered."""

    expected: list[str] = field(default_factory=list)
    """The new hosts, in delivery order: each must be posted once."""
    posted: list[str] = field(default_factory=list)
    calm: list[float] = field(default_factory=list)
    """Seconds from a delivery's window closing (the next interval boundary plus the lag) to its post."""
    restarted: list[float] = field(default_factory=list)
    """Seconds from every process started again to the post of what was delivered before the loss."""
    caught_up: list[float] = field(default_factory=list)
    """Seconds from every process started again to every interval due since run (the watch caught up)."""


def posted_hosts(slack: MockSlack) -> list[str]:
    """The hosts in every CSV the watch posted, in posting order."""
    hosts: list[str] = []
    for data in slack.uploads.values():
        rows = list(csv.reader(io.StringIO(data.decode())))[1:]
        hosts += [row[CONNECTING_IP] for row in rows]
    return hosts


def wait_for_upload(slack: MockSlack, count: int, timeout: float) -> float:
    """When the `count`th CSV arrived (time.time()); raises after `timeout` s."""
    deadline = time.monotonic() + timeout
    while len(slack.uploads) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(slack.uploads)} of {count} posts within {timeout:g} s")
        time.sleep(0.05)
    return time.time()


def caught_up(redis_url: str, queue_name: str, timeout: float) -> float:
    """When the watch ran every interval already due (its next one scheduled in the future, nothing queued
    or running): a watch that missed intervals runs them one after another (time.time())."""
    redis = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=redis)
    registry = ScheduledJobRegistry(queue=queue)
    deadline = time.monotonic() + timeout
    while True:
        due = registry.get_jobs_to_schedule(int(time.time()))
        if not due and not queue.count and not StartedJobRegistry(queue=queue).get_job_ids():
            return time.time()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the watch did not catch up within {timeout:g} s")
        time.sleep(0.1)


def window_closes(anchor: float, every: int, delivered: float) -> float:
    """When the interval holding a record that starts at `delivered` is due (bot/watches.py `Watch.due`)."""
    interval = int((delivered + LAG - anchor) // every)
    return anchor + (interval + 1) * every


def run(rounds: int, every: int, *, restart_every: int = 2) -> Tally:
    """`rounds` deliveries to one watch; every `restart_every`th is followed by the loss of every process."""
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="flowbot-watch-bench-") as tmp:
        data = Path(tmp) / "flowlogs"
        deliver_now(data, [("10.0.1.10", "10.0.1.11", 40000, 443, 100)], "before")
        with stage(
            data,
            FLOWBOT_IOC_STORE=str(Path(tmp) / "iocs"),
            FLOWBOT_RETROHUNT_DAYS="0",
            FLOWBOT_WATCH_MIN_EVERY_SECONDS=str(every),
            FLOWBOT_WATCH_DELIVERY_LAG_SECONDS=str(LAG),
            FLOWBOT_LOG_LEVEL="WARNING",
        ) as on:
            worker = on.start_worker()
            slash(on.url, f"ioc add {MINING_POOL}", trigger_id="watch-bench-ioc")
            on.slack.wait_for("chat.postMessage", timeout=60)
            slash(on.url, f"watch hunt every {every}s", trigger_id="watch-bench-watch")
            anchor = float(int(time.time()))  # the watch's anchor is the second it was made, or just before
            for number in range(rounds):
                host = f"10.0.9.{number + 1}"
                records = [(host, MINING_POOL, 41000 + number, 3333, 900)]
                if number:  # the connection of the round before goes on: no new finding
                    records.append((f"10.0.9.{number}", MINING_POOL, 41000 + number - 1, 3333, 1500))
                deliver_now(data, records, f"round-{number}")
                delivered = time.time()
                tally.expected.append(host)
                if (number + 1) % restart_every == 0:
                    kill_hard(worker)
                    on.stop_app()
                    on.redis.stop()
                    time.sleep(every)  # the interval comes due while nothing runs
                    on.redis.start()
                    on.start_app()
                    worker = on.start_worker()
                    back = time.time()
                    tally.restarted.append(wait_for_upload(on.slack, number + 1, 300) - back)
                    done = caught_up(on.redis.url, on.env["FLOWBOT_QUEUE_NAME"], 300)
                    tally.caught_up.append(done - back)
                else:
                    arrived = wait_for_upload(on.slack, number + 1, 60 + every)
                    tally.calm.append(arrived - window_closes(anchor, every, delivered))
            time.sleep(2 * every)  # two more intervals, nothing new delivered
            tally.posted = posted_hosts(on.slack)
    return tally


def figures(tally: Tally, every: int) -> list[Figure]:
    section = f"Watch every {every} s"
    once = sum(tally.posted.count(host) == 1 for host in tally.expected)
    extra = len(tally.posted) - len(tally.expected)
    note = f"{once}/{len(tally.expected)} new hosts posted once; {extra} other rows posted"
    delivered = len(tally.expected)
    found = [Figure(section, "new hits posted exactly once", once, "hits", delivered, "delivered", note)]
    for what, seconds in (
        ("window closed to post, everything running", tally.calm),
        ("every process restarted to post", tally.restarted),
        ("every process restarted to every missed interval run", tally.caught_up),
    ):
        if seconds:
            found.append(Figure(section, f"{what}: median", statistics.median(seconds), "s"))
            found.append(Figure(section, f"{what}: max", max(seconds), "s", note=f"{len(seconds)} rounds"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="deliveries (every second one: all restarted)")
    parser.add_argument("--every", type=int, default=5, help="the watch's interval in seconds")
    args = parser.parse_args()
    started = time.monotonic()
    table = markdown(figures(run(args.rounds, args.every), args.every))
    took = time.monotonic() - started
    print(f"{table}\n\n`python -m bench.bench_watch --rounds {args.rounds} --every {args.every}`, ", end="")
    print(f"{took / 60:.1f} min, on {machine()}.")


if __name__ == "__main__":
    main()
