"""The answer in one sentence, the first thing a responder reads on a phone.

Each template's spec writes its sentence (`finding`) about the first result row, which its ORDER BY
makes the row that matters; values look exactly as they do in the summary table. A hunt speaks of its
biggest host/indicator pair instead, and an empty answer says what to try next. Plain text: the
caller escapes it for Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.query.catalog import ROWS_FIELD, QueryTemplate
from bot.query.results import Column, Row
from bot.rendering.cells import cell, human_bytes, human_count
from bot.rendering.digest import DigestLine
from bot.request import FlowRequest


def finding_sentence(
    template: QueryTemplate,
    columns: list[Column],
    head: list[Row],
    total_rows: int,
    request: FlowRequest,
    digest: list[DigestLine] | None = None,
) -> str:
    """The template's finding about the first row (or the hunt's first digest line), values as cells.

    A column named like a parameter (json_timeline's `ip`) shows the row's value: the answer's own words.
    """
    if digest is not None:
        return _hunt_sentence(digest) if digest else _nothing(request)
    if not head:
        return _nothing(request)
    values = _Values({p: str(v) for p, v in request.params.items()})
    kinds = {c.name: c.kind for c in template.columns}
    values.update(
        (c.name, cell(value, kinds.get(c.name, "text"))) for c, value in zip(columns, head[0], strict=False)
    )
    values[ROWS_FIELD] = rows_text(template, max(total_rows, len(head)), request)
    return template.finding.format_map(values)


class _Values(dict[str, str]):
    """Formatted values by field; one the row lacks reads as NULL does, so a sentence never fails."""

    def __missing__(self, key: str) -> str:
        return cell(None, "text")


def rows_text(template: QueryTemplate, total_rows: int, request: FlowRequest) -> str:
    """`1,204`, or `1,000+` when the query stopped at its limit: there may be more than it returned."""
    stopped = template.uses_limit and total_rows >= request.limit
    return human_count(total_rows) + ("+" if stopped else "")


def _hunt_sentence(digest: list[DigestLine]) -> str:
    """`10.0.1.25 sent 4.2 GB to indicator 198.51.100.77 over 12 flows (3 hosts, 5 indicators matched)`.

    The first line is the pair that moved the most bytes; its direction says who sent them.
    """
    top = digest[0]
    amount, flows = human_bytes(top.bytes), _plural(top.records, "flow")
    if top.to_indicator:
        said = f"{top.host} sent {amount} to indicator {top.indicator} over {flows}"
    else:
        said = f"Indicator {top.indicator} sent {amount} to {top.host} over {flows}"
    hosts = _plural(len({d.host for d in digest}), "host")
    indicators = _plural(len({d.indicator for d in digest}), "indicator")
    return f"{said} ({hosts}, {indicators} matched)"


NAMED_INDICATORS = 5
"""Indicators a line names; more are counted."""


def some_indicators(indicators: Sequence[str], quote: str = "") -> str:
    """`a, b, c and 4 more`: a long list of indicators, short enough for a phone."""
    named = ", ".join(f"{quote}{i}{quote}" for i in indicators[:NAMED_INDICATORS])
    extra = len(indicators) - NAMED_INDICATORS
    return f"{named} and {extra} more" if extra > 0 else named


def _nothing(request: FlowRequest) -> str:
    """An empty answer, with the usual reason: the window was too narrow. A retro-hunt's empty answer is
    the answer itself: no traffic with the new indicators."""
    if request.indicators:
        days = (request.window.end - request.window.start).days
        named = some_indicators(request.indicators, quote="`")
        return f"No traffic with {named} in {days} days ({request.window.describe()})."
    return f"No records matched `{request.text}` in {request.window.describe()} — try a wider window."


def _plural(count: int, noun: str) -> str:
    """`1 flow`, `1,204 flows`."""
    return f"{human_count(count)} {noun}{'' if count == 1 else 's'}"
