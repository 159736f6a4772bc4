"""The App Home tab: a person's recent queries with links to the answers, the IOC count, the engine and
its data range, and a short how-to. Block Kit only; the handler gathers the facts.

Slack refuses a Home view of more than 100 blocks, or a section over 3,000 characters: one section per
query, at most `MAX_SHOWN` of them, each cut well under the limit. Text people typed (queries,
findings) is escaped (`&`, `<`, `>`), so it can never turn into a mention or a link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.identifiers import CHANNEL_ID
from bot.query.data_range import DataRange
from bot.recent import RecentQuery

MAX_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SHOWN = 50
"""Recent queries shown at most (the `recent_queries` setting allows up to 50): with the dozen fixed
blocks, a Home stays well under `MAX_BLOCKS`."""
MAX_QUERY_TEXT = 200
MAX_FINDING = 300
MAX_EXAMPLES = 4

STATUS_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "running": ":arrows_counterclockwise:",
    "awaiting confirmation": ":money_with_wings:",
    "answered": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
}
_PERMALINK = re.compile(r"https://[^\s<>|]{1,500}")


def escape(text: str) -> str:
    """Slack mrkdwn's control characters, so user text stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str, limit: int) -> str:
    """Inline code that a backtick in the text cannot end early."""
    plain = _cut(text.replace("`", "'").strip(), limit)
    return f"`{escape(plain)}`" if plain else "_(no text)_"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(text: str) -> str:
    return _cut(text, MAX_SECTION_TEXT - 100)


def _ago(at: datetime, now: datetime) -> str:
    """`just now`, `12 min ago`, `3 h ago`; older than a day, the UTC time."""
    seconds = (now - at).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if 0 <= seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _where(channel_id: str) -> str:
    """A channel mention, or `a DM` for direct messages (whose mention renders poorly)."""
    if CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return "a DM" if channel_id.startswith("D") else ""


def query_line(query: RecentQuery, now: datetime) -> str:
    """One query: status, what was asked, the finding, a link to the answer, when and where."""
    head = f"{STATUS_EMOJI[query.status]} {_code(query.text, MAX_QUERY_TEXT)}"
    if query.permalink and _PERMALINK.fullmatch(query.permalink):
        head += f" · <{query.permalink}|answer>"
    facts = [query.status, _ago(query.at, now)]
    if where := _where(query.channel_id):
        facts.append(f"in {where}")
    lines = [head]
    if query.finding:
        lines.append(escape(_cut(query.finding, MAX_FINDING)))
    lines.append(f"_{' · '.join(facts)}_")
    return _fit("\n".join(lines))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _fit(text)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(text)}]}


def engine_line(engine: str, table: str, data: DataRange, workgroup: str | None = None) -> str:
    """`local DuckDB over <dir> · data …` or `Athena · <db>.<table> · <workgroup> · data …`."""
    if engine == "athena":
        parts = ["Athena", f"`{escape(table)}`"]
        if workgroup:
            parts.append(f"workgroup `{escape(workgroup)}`")
    else:
        parts = [f"local DuckDB over `{escape(table)}`"]
    return f"*Engine:* {' · '.join([*parts, escape(data.describe())])}"


def how_to(command: str, examples: list[str]) -> str:
    """Six lines at most: the ways to ask Flowbot something."""
    first = examples[0] if examples else "ratio 10.0.1.25 --last 6h"
    return "\n".join(
        [
            f"• Ask in a channel: `{escape(command)} &lt;query&gt; &lt;ip&gt; --last 6h`, "
            f"e.g. `{escape(command)} {escape(first)}`",
            "• In a thread (slash commands don't work there): @mention Flowbot with the query",
            "• On any message: the *Look up IPs in message* shortcut",
            f"• `{escape(command)} context …` binds a channel to accounts, regions and a default window",
            f"• `{escape(command)} help` lists every query",
        ]
    )


def home_view(
    recent: list[RecentQuery] | None,
    ioc_count: int | None,
    engine: str,
    table: str,
    data: DataRange,
    command: str,
    examples: list[str],
    *,
    workgroup: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Home tab as a `views.publish` view; `recent=None` means they could not be read just now.

    `table` is what queries read: the data folder for the local engine, `<database>.<table>` for Athena.
    """
    moment = now if now is not None else datetime.now(UTC)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Flowbot", "emoji": True}},
        _section("*Your recent queries*"),
    ]
    if recent is None:
        blocks.append(_context(":warning: Your recent queries are unavailable right now."))
    elif not recent:
        first = examples[0] if examples else "ratio 10.0.1.25"
        blocks.append(_context(f"No queries yet — try `{escape(command)} {escape(first)}`"))
    else:
        blocks.extend(_section(query_line(q, moment)) for q in recent[:MAX_SHOWN])
    blocks.append({"type": "divider"})
    indicators = "unavailable right now" if ioc_count is None else f"{ioc_count:,} active"
    blocks.append(
        _section(
            f"*Indicators:* {indicators} · `{escape(command)} ioc list` shows them, "
            f"`{escape(command)} hunt` looks for them"
        )
    )
    blocks.append(_section(engine_line(engine, table, data, workgroup)))
    blocks.append({"type": "divider"})
    blocks.append(_section("*How to ask*\n" + how_to(command, examples)))
    if examples:
        tries = " · ".join(f"`{escape(command)} {escape(e)}`" for e in examples[:MAX_EXAMPLES])
        blocks.append(_context(f"Try: {tries}"))
    return {"type": "home", "blocks": blocks}
