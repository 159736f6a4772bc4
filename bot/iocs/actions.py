"""Carry out an indicator request against the store and say what happened, in words for a phone.

Shared by the worker (Slack) and `flowbot ask ioc ...` (terminal): the same request gives the same
reply wherever it was made. Refusals (who may act, which ranges need an admin) are decided by the
caller before a request gets here; this module only checks the ranges again for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.iocs.commands import IocAdd, IocExport, IocForm, IocHistory, IocList, IocRemove, IocRequest
from bot.iocs.store import IocStore, Source, Submission

PAGE_SIZE = 20


@dataclass(frozen=True)
class IocReply:
    """The answer to post, an optional file to attach, and what to announce to the team."""

    text: str
    csv_path: Path | None = None
    announce: str | None = None
    added: tuple[str, ...] = ()
    """Indicators this request added that the store did not hold: what a retro-hunt looks for."""


def _sentence(text: str) -> str:
    """Capital first letter, the rest untouched (addresses and mentions keep their case)."""
    return text[:1].upper() + text[1:]


def _who(actor: str) -> str:
    return f"<@{actor}>" if actor[:1] in {"U", "W"} else actor


def run_ioc_request(
    store: IocStore,
    request: IocRequest,
    *,
    actor: str,
    channel: str | None,
    source: Source,
    export_dir: Path,
) -> IocReply:
    """Do what the request asks; the reply says exactly what changed."""
    if isinstance(request, IocAdd):
        submissions = [
            Submission.new(v, comment=request.comment, submitted_by=actor, channel=channel, source=source)
            for v in request.indicators
        ]
        outcomes = store.add(submissions)
        added = [o.indicator for o in outcomes if o.outcome == "added"]
        known = [o.indicator for o in outcomes if o.outcome == "known"]
        raced = [o.indicator for o in outcomes if o.outcome == "removed"]
        parts = []
        if added:
            parts.append(f"added {', '.join(f'`{i}`' for i in added)}")
        if known:
            parts.append(f"recorded another submission of {', '.join(f'`{i}`' for i in known)}")
        if raced:
            parts.append(f"{', '.join(f'`{i}`' for i in raced)} was removed by someone at the same moment")
        why = f" — {request.comment}" if request.comment else ""
        text = f":shield: {'; '.join(parts).capitalize()}{why}. Hunts use them from now on: `/flow hunt`."
        where = f" in <#{channel}>" if channel else ""
        announce = f":shield: {_who(actor)} {'; '.join(parts)}{why} (via {source.replace('_', ' ')}{where})"
        return IocReply(text, announce=announce, added=tuple(added))
    if isinstance(request, IocRemove):
        removed = [
            i for i in request.indicators if store.remove(i, actor=actor, channel=channel, source=source)
        ]
        unknown = [i for i in request.indicators if i not in removed]
        parts = []
        if removed:
            parts.append(f"removed {', '.join(f'`{i}`' for i in removed)} (their history stays)")
        if unknown:
            parts.append(
                f"{', '.join(f'`{i}`' for i in unknown)} {'was' if len(unknown) == 1 else 'were'} not listed"
            )
        text = ":wastebasket: " + _sentence("; ".join(parts)) + "."
        gone = (
            f":wastebasket: {_who(actor)} removed {', '.join(f'`{i}`' for i in removed)}" if removed else None
        )
        return IocReply(text, announce=gone)
    if isinstance(request, IocList):
        active = store.active()
        pages = max(1, -(-len(active) // PAGE_SIZE))
        page = min(request.page, pages)
        shown = active[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if not active:
            return IocReply("No indicators yet. Add one with `/flow ioc add <ip|cidr> [comment]`.")
        lines = [
            f"• `{a.indicator}` — {a.comment or '(no comment)'} · {_who(a.first.submitted_by)}, "
            f"{a.first_submitted:%Y-%m-%d %H:%M} UTC"
            + (f" · {len(a.submissions)} submissions" if len(a.submissions) > 1 else "")
            for a in shown
        ]
        more = f"\nPage {page} of {pages}: `/flow ioc list {page + 1}` for more." if page < pages else ""
        return IocReply(f"*{len(active)} indicators* (page {page} of {pages})\n" + "\n".join(lines) + more)
    if isinstance(request, IocHistory):
        events = store.history(request.indicator)
        if not events:
            return IocReply(f"`{request.indicator}` has no history: it was never added.")
        lines = [
            f"• {e.at:%Y-%m-%d %H:%M} UTC {e.action} by {_who(e.actor)} via {e.source.replace('_', ' ')}"
            + (f" in <#{e.channel}>" if e.channel else "")
            + (f" — {e.comment}" if e.comment else "")
            for e in events
        ]
        return IocReply(f"*History of `{request.indicator}`*\n" + "\n".join(lines))
    if isinstance(request, IocExport):
        path = export_dir / "flowbot-iocs.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            rows = store.export_csv(out)
        return IocReply(f":page_facing_up: {rows} indicators, exported as CSV.", csv_path=path)
    assert isinstance(request, IocForm)
    return IocReply(
        "The form opens in Slack: type `/flow ioc` there, or `ioc add <ip|cidr>… [comment]` here."
    )
