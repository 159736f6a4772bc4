"""The rows behind *Show next rows*: an answer's first rows, kept in Redis after its job ends.

Workers are many and short-lived, and the CSV went to Slack, so the summary's next pages must be
kept somewhere every process can read. Only formatted cells of the first `kept_rows` rows are kept
(a few KB); past them the CSV in the thread has everything. A cursor per job hands out pages, so
two people pressing the button at once get consecutive pages, not the same one twice.
"""

from __future__ import annotations

import json

from redis import Redis

from bot.redis_keys import ROWS_CURSOR_KEY, ROWS_KEY, ROWS_TTL_SECONDS
from bot.rendering.table import Grid


class ResultPages:
    """Keeps an answer's rows and hands them out a page at a time."""

    def __init__(self, redis: Redis, page_size: int) -> None:
        self.redis = redis
        self.page_size = page_size

    def keep(self, job_id: str, grid: Grid, shown: int) -> bool:
        """Keep the rows after the `shown` ones; False (nothing kept) when there are none."""
        rest = grid.rows[shown:]
        if not rest:
            return False
        data = {"headings": grid.headings, "numeric": grid.numeric, "rows": rest, "shown": shown}
        with self.redis.pipeline() as pipe:
            pipe.set(ROWS_KEY.format(job_id=job_id), json.dumps(data), ex=ROWS_TTL_SECONDS)
            pipe.set(ROWS_CURSOR_KEY.format(job_id=job_id), 0, ex=ROWS_TTL_SECONDS)
            pipe.execute()
        return True

    def next_page(self, job_id: str) -> tuple[Grid, int, bool] | None:
        """The next page, the number of its first row (1-based, counting the shown ones), and whether
        more remain; None when the rows expired or were all handed out."""
        raw = self.redis.get(ROWS_KEY.format(job_id=job_id))
        if raw is None:
            return None
        data = json.loads(raw)
        end = int(self.redis.incrby(ROWS_CURSOR_KEY.format(job_id=job_id), self.page_size))
        start = end - self.page_size
        rows: list[list[str]] = data["rows"]
        if start >= len(rows):
            return None
        grid = Grid(data["headings"], rows[start:end], data["numeric"])
        return grid, int(data["shown"]) + start + 1, end < len(rows)
