"""`/flow help`: every command with one example, built from the catalogue so it is never stale."""

from __future__ import annotations

from bot.echo import shown
from bot.parse.command import OPTION_FORMS
from bot.query.catalog import TABLE_OF_KIND, Catalog
from bot.settings import Settings


def help_text(
    catalog: Catalog, settings: Settings, unknown: str | None = None, *, markup: bool = True
) -> str:
    """The command list; names the unknown word first when there was one."""
    code = (lambda s: f"`{s}`") if markup else (lambda s: s)
    lines = []
    if unknown:
        lines.append(
            f"I don't know `{shown(unknown)}`. These are the commands:"
            if markup
            else f"unknown command '{shown(unknown)}'. These are the commands:"
        )
    for template in sorted(catalog.for_table(TABLE_OF_KIND[settings.table_kind]), key=lambda t: t.command):
        example = code(f"{settings.command} {template.example}")
        lines.append(f"• {code(template.usage)} — {template.description} e.g. {example}")
    lines.append(
        f"• {code('cancel <job>')} — stop a queued or running query (its job id is in Flowbot's replies)."
    )
    if markup:  # Slack's help; `flowbot ask` has no channel to hold a context
        lines.append(
            "• `context [account …] [region …] [last 6h | from … to …]` — scope every query in this "
            "channel (a new one replaces it); `context` shows it, `context clear` removes it."
        )
        lines.append(
            "• `evidence [--last 7d | --from … --to …]` — this channel's evidence log: every query run here, "
            "who asked, the exact SQL and values, query id, bytes scanned, cost and the CSV's SHA-256, "
            "as a CSV and a JSON-lines file."
        )
        lines.append(
            "• `guardduty <finding-id> [--region <name>]` — read a GuardDuty finding and run `ratio` and "
            "`timeline` for its remote address and local interface around its time, in one thread (also the "
            "*Pivot on GuardDuty* message shortcut)."
        )
        lines.append(
            "• `watch <query> every 15m` — run a query on newly delivered flow logs on a schedule and post "
            f"only new findings here, for {settings.watch_max_days} days; `watch list`, `watch stop <id>`."
        )
    lines.append(f"• {code('help')} — this list.")
    lines.append(f"Options: {OPTION_FORMS}. Default window: last {settings.default_window}; times are UTC.")
    return "\n".join(lines)
