"""The channel budget on the real Redis under concurrent bookings: queries of one channel that start
together see each other's bookings (WATCH/MULTI), so the budget is never passed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from redis import Redis

from bot.worker.budget import ChannelBudget, Refusal, Reservation

WORKERS = 8
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def book_at_once(redis_url: str, channel: str) -> list[Reservation | Refusal]:
    """Eight workers, each with its own connection, book 300 bytes in `channel` at the same moment."""
    start = threading.Barrier(WORKERS)
    outcomes: list[Reservation | Refusal] = []

    def book(job: int) -> None:
        budget = ChannelBudget(Redis.from_url(redis_url), 1000, now=NOW)
        start.wait()
        outcomes.append(budget.reserve("T1", channel, f"job-{job}", 300))

    threads = [threading.Thread(target=book, args=(j,)) for j in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_of_queries_booked_at_once_only_those_that_fit_run(redis_url: str) -> None:
    for round_ in range(20):
        outcomes = book_at_once(redis_url, f"C{round_}")
        assert len(outcomes) == WORKERS
        assert sum(isinstance(o, Reservation) for o in outcomes) == 3  # 3 x 300 fit in 1,000; 4 would not
        assert ChannelBudget(Redis.from_url(redis_url), 1000, now=NOW).spent("T1", f"C{round_}") == 900
