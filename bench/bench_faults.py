"""The fault suite at full size: `make faults` (or `.venv/bin/python -m bench.bench_faults --jobs 20`).

Each fault runs on real parts of its own: a private `redis-server` (append-only file, `appendfsync always`),
`flowbot serve` and `flowbot worker` processes with the shipped defaults (heartbeat 10 s, maintenance 30 s),
signed slash commands, and the recording mock Slack Web API in this process. Per fault it records how many
commands were tried, how many were answered exactly once (one answer in the status message's thread, or one
final word on it, and nothing else), and the time from the fault's end (the kill, Redis back, Slack back) to
each answer. It prints the table; `--write` puts it in bench/RESULTS-faults.md. It asserts nothing: the
tests run it at small sizes (tests/bench/test_fault_bench.py) and check the counts there.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from redis import Redis
from rq import Worker

from bench.report import Figure, machine, markdown
from bench.slack_side import app_env
from bot.samples.flow_logs import generate
from tests.conftest import SAMPLE_END
from tests.mock_slack import MockSlack, RecordedCall
from tests.reliability.processes import RedisServer, kill_hard
from tests.scenarios.flowbot_processes import WINDOW, serve, slash

QUESTION = f"count {WINDOW}"

NOT_FINAL = (": queued", ": running", ": awaiting confirmation")
"""How a status message's text ends while its job is not over (bot/rendering/status.py `fallback`)."""
ASKER = "U0AAA"
"""Who sends every command (tests/slack_signing.py's default user)."""
RESULTS = Path(__file__).with_name("RESULTS-faults.md")


@dataclass
class Outcome:
    """One fault's record: per command, whether it was answered exactly once and when."""

    fault: str
    goal: str
    tried: int = 0
    once: int = 0
    seconds: list[float] = field(default_factory=list)
    held: dict[str, bool] = field(default_factory=dict)
    """What else the fault must leave true, by what it says (e.g. "3/3 workers still running")."""

    @property
    def passed(self) -> bool:
        return self.once == self.tried and all(self.held.values())

    def figures(self) -> list[Figure]:
        said = [what if held else f"NOT: {what}" for what, held in self.held.items()]
        note = "; ".join([f"{self.once}/{self.tried} answered exactly once", *said])
        found = [Figure(self.fault, "answered exactly once", self.once, "jobs", self.tried, "tried", note)]
        if self.seconds:
            found += [
                Figure(
                    self.fault,
                    "time to answer: median",
                    statistics.median(self.seconds),
                    "s",
                    None,
                    self.goal,
                ),
                Figure(self.fault, "time to answer: max", max(self.seconds), "s", None, self.goal),
            ]
        return found


@dataclass
class Stage:
    """The parts one fault runs on: its Redis, the mock Slack, the app, and the workers it starts."""

    redis: RedisServer
    slack: MockSlack
    env: dict[str, str]
    url: str
    folder: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    app: Iterator[str] | None = None

    def start_app(self) -> None:
        """`flowbot serve` with the stage's settings; `url` is where it listens."""
        self.app = serve(self.env)
        self.url = next(self.app)

    def stop_app(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        """`flowbot worker` in its own process group (to be killed with its work horse), logging to a file
        (a pipe nobody reads would fill and block it)."""
        log = tempfile.TemporaryFile(dir=self.folder)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        self.logs.append(log)
        return proc

    def wait_for_pids(self, pids: list[int], timeout: float = 60) -> None:
        """The workers of these processes registered and waiting (starting a Python is not recovery)."""
        redis = Redis.from_url(self.redis.url)
        deadline = time.monotonic() + timeout
        while not set(pids) <= {w.pid for w in Worker.all(connection=redis)}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {pids} did not register within {timeout:g} s")
            time.sleep(0.2)
        time.sleep(1)

    def ask(self, tag: str, count: int) -> list[str]:
        """`count` commands, each in its own channel (named from `tag`); the channels, once each command's
        status message is up."""
        before = len(self.slack.calls("chat.postMessage"))
        channels = [f"C0{tag}{i:03d}" for i in range(count)]
        for i, channel in enumerate(channels):
            status, _ = slash(self.url, QUESTION, channel_id=channel, trigger_id=f"faults.{tag}.{i}")
            if status != 200:
                raise RuntimeError(f"command {i} of {tag} got HTTP {status}")
        self.slack.wait_for("chat.postMessage", count=before + count, timeout=60)
        return channels


@contextmanager
def stage(data: Path, **settings: str) -> Iterator[Stage]:
    """A fresh Redis, mock Slack and app for one fault; every worker it started is killed after it."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flowbot-faults-")))
        redis = RedisServer(folder, append_only=True)
        redis.start()
        stack.callback(redis.stop)
        slack = stack.enter_context(MockSlack())
        env = {
            **app_env(slack.base_url, data),
            "FLOWBOT_REDIS_URL": redis.url,
            "FLOWBOT_UNDELIVERED_DIR": str(folder / "undelivered"),
            "FLOWBOT_CHANNEL_POST_INTERVAL_SECONDS": "0.05",
            "FLOWBOT_LOG_LEVEL": "INFO",
            **settings,
        }
        staged = Stage(redis, slack, env, "", folder)
        staged.start_app()
        stack.callback(staged.stop_app)
        stack.callback(_stop_all, staged)
        yield staged


def _stop_all(staged: Stage) -> None:
    for proc in staged.workers:
        kill_hard(proc)
    for log in staged.logs:
        log.close()


def csvs(slack: MockSlack, channel: str) -> list[RecordedCall]:
    """The answers' CSV files completed in a channel: one per answer (the last call of a job's answer)."""
    done = slack.calls("files.completeUploadExternal")
    return [c for c in done if c.ok and c.params.get("channel_id") == channel]


def answered(slack: MockSlack, channels: list[str]) -> Callable[[], bool]:
    """Whether every channel has its answer."""
    return lambda: all(csvs(slack, channel) for channel in channels)


def stale(slack: MockSlack, channel: str) -> list[str]:
    """What the channel's status messages say last, where that is not a final state."""
    posts = [c for c in slack.calls("chat.postMessage") if c.ok and c.params.get("channel") == channel]
    words = [last_word(slack, c) for c in posts if not c.params.get("thread_ts")]
    return [word for word in words if word.endswith(NOT_FINAL)]


def last_word(slack: MockSlack, posted: RecordedCall) -> str:
    """What a message says last (its last accepted edit, or its post)."""
    ts = posted.response["ts"]
    edits = [c for c in slack.calls("chat.update") if c.ok and c.params.get("ts") == ts]
    return str((edits[-1] if edits else posted).params.get("text", ""))


def settle(check: Callable[[], bool], timeout: float) -> bool:
    """Wait until `check()` holds; False when it did not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def tally(outcome: Outcome, slack: MockSlack, channels: list[str], since: float) -> None:
    """Count the commands answered exactly once (one CSV in their channel, no status message left short of
    a final state), each one's time from `since` to its answer; name the others and what went wrong."""
    time.sleep(5)  # anything a second run would post has arrived by now
    for channel in channels:
        found, short = csvs(slack, channel), stale(slack, channel)
        if len(found) == 1 and not short:
            outcome.once += 1
            outcome.seconds.append(max(found[0].at - since, 0.0))
        else:
            outcome.held[f"{channel}: {len(found)} answers, status {short}"] = False


def worker_killed(data: Path, jobs: int, batch: int = 5) -> Outcome:
    """Workers and their work horses SIGKILLed mid-job, beside two idle workers; goal: re-run within 90 s.

    Per batch: the commands, one worker each (their "running" edit held by the mock, so they stay mid-job),
    then two idle workers, then SIGKILL on the busy workers' process groups."""
    outcome = Outcome("worker + horse SIGKILL, 2 idle workers", "goal: within 90 s of the kill", tried=jobs)
    started = alive = True
    with stage(data) as on:
        for done in range(0, jobs, batch):
            size = min(batch, jobs - done)
            held = len(on.slack.arrived("chat.update")) + size
            on.slack.slow_next("chat.update", 600, times=size)
            channels = on.ask(f"K{done:03d}", size)
            busy = [on.start_worker() for _ in range(size)]
            started &= settle(lambda held=held: len(on.slack.arrived("chat.update")) >= held, 90)
            idle = [on.start_worker() for _ in range(2)]
            on.wait_for_pids([p.pid for p in idle])
            killed = time.time()
            for proc in busy:
                kill_hard(proc)  # and its work horse, which RQ puts in a process group of its own
            settle(answered(on.slack, channels), 180)
            tally(outcome, on.slack, channels, killed)
            alive &= all(proc.poll() is None for proc in idle)
            for proc in idle:  # the next batch's jobs must go to its own busy workers
                proc.terminate()
                proc.wait(timeout=60)
    outcome.held["every job was mid-job when its worker was killed"] = started
    outcome.held["the idle workers lived on"] = alive
    return outcome


def redis_restarted(data: Path, jobs: int, workers: int = 3, down_seconds: float = 3.0) -> Outcome:
    """Redis SIGKILLed with jobs running and queued, started again after `down_seconds`; goal: every job
    answered once and no worker exits."""
    outcome = Outcome("Redis SIGKILL and restart mid-job", "from Redis back", tried=jobs)
    with stage(data, FLOWBOT_WORKER_HEARTBEAT_SECONDS="2") as on:
        on.slack.slow_next("chat.update", 8, times=workers)  # the first jobs are mid-job when Redis dies
        channels = on.ask("R", jobs)
        procs = [on.start_worker() for _ in range(workers)]
        settle(lambda: len(on.slack.arrived("chat.update")) >= workers, 60)
        on.redis.stop()
        time.sleep(down_seconds)
        check = subprocess.run(
            [sys.executable, "-m", "bot.cli", "check"], env=on.env, capture_output=True, text=True, timeout=60
        )
        on.redis.start()
        back = time.time()
        told = check.returncode == 1 and "redis" in (check.stdout + check.stderr).lower()
        outcome.held["`flowbot check` failed naming Redis in the outage"] = told
        settle(answered(on.slack, channels), 240)
        tally(outcome, on.slack, channels, back)
        alive = sum(p.poll() is None for p in procs)
        outcome.held[f"{alive}/{workers} workers still running"] = alive == workers
    return outcome


def status_429_storm(data: Path, jobs: int, workers: int = 2) -> Outcome:
    """chat.postMessage answering 429 for the status messages while commands arrive; goal: every status
    message ends in its final state (none left "queued" or "running")."""
    outcome = Outcome("429 storm on status posts", "from the first command", tried=jobs)
    with stage(data) as on:
        procs = [on.start_worker() for _ in range(workers)]
        on.wait_for_pids([p.pid for p in procs])
        on.slack.fail_next("chat.postMessage", status=429, retry_after=2, times=jobs * 2)
        started = time.time()
        channels = [f"C0S{i:03d}" for i in range(jobs)]
        for i, channel in enumerate(channels):
            slash(on.url, QUESTION, channel_id=channel, trigger_id=f"faults.S.{i}")
        settle(answered(on.slack, channels), 240)
        tally(outcome, on.slack, channels, started)
        refused = sum(c.status == 429 for c in on.slack.calls("chat.postMessage"))
        outcome.held[f"{refused} posts answered 429"] = refused > 0
        alive = sum(p.poll() is None for p in procs)
        outcome.held[f"{alive}/{workers} workers still running"] = alive == workers
    return outcome


def slack_down(data: Path, jobs: int, *, down_seconds: float = 120.0, quick: bool = False) -> Outcome:
    """Slack refusing every call (HTTP 503) for `down_seconds` while the jobs run, then taking them again;
    goal: every answer delivered once, by its job or re-sent by the workers from the kept folder (its status
    message edited to the answer), and every asker whose answer was kept told by DM. `quick` shortens the
    workers' schedule (maintenance every 5 s, first re-send after 5 s) for the tests."""
    outcome = Outcome(f"Slack refusing for {down_seconds:g} s, then back", "from Slack back", tried=jobs)
    schedule = {"FLOWBOT_WORKER_MAINTENANCE_SECONDS": "5", "FLOWBOT_UNDELIVERED_RETRY_SECONDS": "5"}
    with stage(data, **(schedule if quick else {})) as on:
        channels = on.ask("D", jobs)  # the status messages are up before Slack goes down
        on.slack.down()
        procs = [on.start_worker() for _ in range(min(jobs, 10))]
        time.sleep(down_seconds)
        kept = sorted(p.name for p in (on.folder / "undelivered").glob("*") if p.is_dir())
        on.slack.up()
        back = time.time()
        settle(answered(on.slack, channels), 600)
        settle(lambda: not any((on.folder / "undelivered").glob("*")), 60)
        tally(outcome, on.slack, channels, back)
        told = [str(m.get("text")) for m in on.slack.dms(ASKER)]
        late = [job for job in kept if sum(job[:8] in text for text in told) == 1]
        outcome.held[f"{len(kept)} answers kept while Slack was down"] = bool(kept)
        outcome.held[f"{len(late)}/{len(kept)} of their askers told once by DM"] = len(late) == len(kept)
        left = list((on.folder / "undelivered").glob("*"))
        outcome.held[f"{len(left)} kept answers left after delivery"] = not left
        alive = sum(p.poll() is None for p in procs)
        outcome.held[f"{alive}/{len(procs)} workers still running"] = alive == len(procs)
    return outcome


FAULTS: dict[str, Callable[[Path, int], Outcome]] = {
    "worker-kill": worker_killed,
    "redis-restart": redis_restarted,
    "status-429": status_429_storm,
    "slack-down": slack_down,
}


def figures(data: Path, jobs: int, only: list[str] | None = None) -> list[Figure]:
    """Every fault (or `only` those), `jobs` commands each, on the flow logs under `data`."""
    found: list[Figure] = []
    for name, run in FAULTS.items():
        if only and name not in only:
            continue
        found += run(data, jobs).figures()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="commands per fault (20 at full size)")
    parser.add_argument("--only", nargs="*", choices=sorted(FAULTS), help="run these faults only")
    parser.add_argument("--write", action="store_true", help=f"record the table in {RESULTS.name}")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flowbot-faults-data-") as tmp:
        generate(Path(tmp), end=SAMPLE_END, days=3, seed=7, scale=0.25)  # the tests' sample flow logs
        table = markdown(figures(Path(tmp), args.jobs, args.only))
    took = time.monotonic() - started
    ran = f"`python -m bench.bench_faults --jobs {args.jobs}`, {took / 60:.1f} min, on {machine()}"
    text = f"{table}\n\n{ran}.\n"
    print(text)
    if args.write:
        RESULTS.write_text(f"# Fault suite at full size\n\n{text}", encoding="utf-8")


if __name__ == "__main__":
    main()
