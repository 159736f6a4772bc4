"""Run one request to its answer: the single job function the CLI and the worker share.

It knows engines, templates and rendering, and nothing of Slack or terminals, so an answer is
the same wherever it was asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from bot.enrich.lookup import PendingNames
from bot.enrich.names import ColumnNamer
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
    names: PendingNames | None = None,
    keep_only: Callable[[list[Row]], list[Row]] | None = None,
) -> Summary:
    """The answer as Slack shows it: its summary, with every row streamed to `csv_out` on the way.

    The summary shows `summary_rows`; up to `kept_rows` are kept for paging (*Show next rows*). Where the
    engine already holds the whole result as a CSV (Athena's result object) it is copied as it is, unless
    `names` (lookups started with the job, bot/enrich/) name some of its columns: the rows then stream
    through, so that the CSV gets a `<column>_name` column after the result's own for each.
    """
    template = catalog[request.query]
    result = engine.run(template, request, replace(control, on_start=control.on_start or _log_start))
    if keep_only is not None:  # a watch answers with its new findings only (bot/worker/watch.py)
        result = result.filtered(keep_only)
    head_rows = max(summary_rows, kept_rows)
    namer = ColumnNamer(names.wait(), template.columns, result.columns) if names is not None else None
    if (
        csv_out is not None
        and result.csv_copier is not None
        and digest_for(result.columns) is None
        and not (namer and namer.applies)
    ):
        first_page = next(result.batches(), [])[:head_rows]  # enough for the summary and its pages
        result.csv_copier(csv_out)
        summary = Summary(
            request, template, result.columns, first_page, result.stats, engine.name, shown=summary_rows
        )
    else:
        summary, _ = _read(
            request, template, result, engine.name, summary_rows, head_rows, csv_out, keep=False, namer=namer
        )
    return _named(summary, namer)


def _named(summary: Summary, namer: ColumnNamer | None) -> Summary:
    """The summary with the names of its shown rows' addresses, or why they are missing."""
    if namer is None:
        return summary
    shown = summary.head[: summary.shown]
    machines = tuple(namer.machines(shown, summary.template.summary_columns)) if namer.applies else ()
    return replace(summary, machines=machines, names_note=namer.names.note())


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
    namer: ColumnNamer | None = None,
) -> tuple[Summary, list[Row]]:
    """Read the rows once: the first `head_rows` for the summary, the digest's, the CSV's, and all of them
    when `keep`."""
    batches = result.batches()
    digest = digest_for(result.columns)
    if csv_out is not None and namer is not None and namer.applies:
        batches = write_csv(csv_out, result.columns + namer.columns(), batches, namer.extend)
    elif csv_out is not None:
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
