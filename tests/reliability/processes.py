"""Processes the reliability suite starts and kills: a private Redis server, long-running workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.scenarios.flowbot_processes import free_port


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test may stop and start again."""

    def __init__(self, folder: Path, *, append_only: bool) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (.ci/ensure-redis installs it)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.append_only = append_only
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--save", "", "--appendonly", "yes" if self.append_only else "no", "--appendfsync", "always"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(self.url).ping()
                return
            except RedisConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop it the hard way (as a crash or a node loss would)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@contextmanager
def redis_server(folder: Path, *, append_only: bool = False) -> Iterator[RedisServer]:
    """A private Redis server for one test."""
    server = RedisServer(folder, append_only=append_only)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def worker(env: dict[str, str], *, graceful: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """`flowbot worker` (not burst) in its own process group, so the test can kill it with its work horse;
    `graceful` stops it as a deployment does instead (SIGTERM: RQ's warm shutdown), falling back to a kill."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL if graceful else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if graceful and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        kill_hard(proc)  # its work horse too: one left running would answer into the next test's mock Slack


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker, its work horses and its scheduler at once, as a node or container dying would.

    RQ puts each work horse in a process group of its own (`os.setpgrp()` in `Worker.fork_work_horse`), so
    killing the worker's group leaves the horse running: the worker is stopped first (it forks no more), its
    horses are found and killed by their own groups, then the worker's group."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGSTOP)
        for horse in horses(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(horse, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def children(pid: int) -> list[int]:
    """The process ids of a process's children (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def horses(pid: int) -> list[int]:
    """A worker's work horses: the children that lead a process group of their own (RQ's `os.setpgrp()`). The
    worker's other child, RQ's scheduler (a fork, `with_scheduler=True`), stays in the worker's group."""
    found = []
    for child in children(pid):
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(child) == child:
                found.append(child)
    return found
