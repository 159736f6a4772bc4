"""Run one request to its answer: the single job function the CLI and the worker share.

It knows engines, templates and rendering, and nothing of Slack or terminals, so an answer is
the same wherever it was asked.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TextIO

from bot.query.catalog import Catalog, QueryTemplate
from bot.query.engines.base import UNSTEERED, Engine, ResultStream, RunControl
from bot.query.results import Row
from bot.rendering.csv_out import write_csv
from bot.rendering.digest import digest_for
from bot.rendering.summary import Summary
from bot.request import FlowRequest

log = logging.getLogger(__name__)


def _log_start(query_id: str) -> None:
    """Operators find a query in the engine's own console by this id."""
    log.info("engine query started: %s", query_id)


def answer(
    request: FlowRequest,
    *,
    catalog: Catalog,
    engine: Engine,
    summary_rows: int,
    kept_rows: int = 0,
    csv_out: TextIO | None = None,
    control: RunControl = UNSTEERED,
) -> Summary:
    """The answer as Slack shows it: its summary, with every row streamed to `csv_out` on the way.

    The summary shows `summary_rows`; up to `kept_rows` are kept for paging (*Show next rows*). Where the
    engine already holds the whole result as a CSV (Athena's result object) it is copied as it is.
    """
    template = catalog[request.query]
    result = engine.run(template, request, replace(control, on_start=control.on_start or _log_start))
    head_rows = max(summary_rows, kept_rows)
    if csv_out is not None and result.csv_copier is not None and digest_for(result.columns) is None:
        first_page = next(result.batches(), [])[:head_rows]  # enough for the summary and its pages
        result.csv_copier(csv_out)
        return Summary(
            request, template, result.columns, first_page, result.stats, engine.name, shown=summary_rows
        )
    summary, _ = _read(request, template, result, engine.name, summary_rows, head_rows, csv_out, keep=False)
    return summary


def answer_rows(
    request: FlowRequest, *, catalog: Catalog, engine: Engine, summary_rows: int
) -> tuple[Summary, list[Row]]:
    """The answer with every row in memory: for a terminal's JSON (`flowbot ask --format json`), never for
    Slack, whose answers stream."""
    template = catalog[request.query]
    result = engine.run(template, request, RunControl(on_start=_log_start))
    return _read(request, template, result, engine.name, summary_rows, summary_rows, None, keep=True)


def _read(
    request: FlowRequest,
    template: QueryTemplate,
    result: ResultStream,
    engine_name: str,
    summary_rows: int,
    head_rows: int,
    csv_out: TextIO | None,
    *,
    keep: bool,
) -> tuple[Summary, list[Row]]:
    """Read the rows once: the first `head_rows` for the summary, the digest's, the CSV's, and all of them
    when `keep`."""
    batches = result.batches()
    digest = digest_for(result.columns)
    if csv_out is not None:
        batches = write_csv(csv_out, result.columns, batches)
    head: list[Row] = []
    kept: list[Row] = []
    for batch in batches:
        if digest is not None:
            digest.feed(batch)
        if len(head) < head_rows:
            head.extend(batch[: head_rows - len(head)])
        if keep:
            kept.extend(batch)
    top = digest.top() if digest else None
    summary = Summary(
        request, template, result.columns, head, result.stats, engine_name, top, shown=summary_rows
    )
    return summary, kept
