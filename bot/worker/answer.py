"""Run one request to its answer: the single job function the CLI and the worker share.

It knows engines, templates and rendering, and nothing of Slack or terminals, so an answer is
the same wherever it was asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TextIO

from bot.query.catalog import Catalog
from bot.query.engines.base import UNSTEERED, Engine, RunControl
from bot.query.results import Row
from bot.rendering.csv_out import write_csv
from bot.rendering.digest import digest_for
from bot.rendering.summary import Summary
from bot.request import FlowRequest

log = logging.getLogger(__name__)


def _log_start(query_id: str) -> None:
    """Operators find a query in the engine's own console by this id."""
    log.info("engine query started: %s", query_id)


@dataclass(frozen=True)
class Answer:
    """A finished query: its phone summary, and every row when the caller asked to keep them."""

    summary: Summary
    rows: list[Row] | None


def answer(
    request: FlowRequest,
    *,
    catalog: Catalog,
    engine: Engine,
    summary_rows: int,
    kept_rows: int = 0,
    csv_out: TextIO | None = None,
    keep_rows: bool = False,
    control: RunControl = UNSTEERED,
) -> Answer:
    """Run the request; stream rows to `csv_out` while keeping the first rows for the summary.

    The summary shows `summary_rows`; up to `kept_rows` are kept for paging (*Show next rows*).
    """
    template = catalog[request.query]
    result = engine.run(template, request, replace(control, on_start=control.on_start or _log_start))
    head_rows = max(summary_rows, kept_rows)
    batches = result.batches()
    digest = digest_for(result.columns)
    if csv_out is not None and result.csv_copier is not None and not keep_rows and digest is None:
        first_page = next(batches, [])[:head_rows]  # enough for the summary and its pages
        result.csv_copier(csv_out)
        summary = Summary(
            request, template, result.columns, first_page, result.stats, engine.name, shown=summary_rows
        )
        return Answer(summary, None)
    if csv_out is not None:
        batches = write_csv(csv_out, result.columns, batches)
    head: list[Row] = []
    kept: list[Row] | None = [] if keep_rows else None
    for batch in batches:
        if digest is not None:
            digest.feed(batch)
        if len(head) < head_rows:
            head.extend(batch[: head_rows - len(head)])
        if kept is not None:
            kept.extend(batch)
    summary = Summary(
        request,
        template,
        result.columns,
        head,
        result.stats,
        engine.name,
        digest.top() if digest else None,
        shown=summary_rows,
    )
    return Answer(summary, kept)
