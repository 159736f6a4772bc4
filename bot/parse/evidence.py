"""`/flow evidence [--last 7d | --from <ISO 8601> [--to <ISO 8601>]]`: the channel's evidence log.

With no option it exports every entry the channel has; `--last` and `--from`/`--to` are read as a query's
window is (bot/parse/command.py), but no longest window applies: an export scans nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.echo import shown
from bot.evidence.request import EvidenceRequest
from bot.parse.command import parse_duration, parse_time
from bot.words import CommandError

EVIDENCE_FORM = "`evidence [--last 7d | --from <ISO 8601> [--to <ISO 8601>]]`"
_OPTIONS = ("last", "from", "to")


def parse_evidence(words: list[str], now: datetime) -> EvidenceRequest:
    """The words after `evidence`; one clear line of error when they are wrong."""
    options: dict[str, str] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        name, _, inline = word.removeprefix("--").partition("=")
        if not word.startswith("--") or name.lower() not in _OPTIONS:
            raise CommandError(f"unexpected `{shown(word)}`; the form is {EVIDENCE_FORM}")
        name = name.lower()
        if name in options:
            raise CommandError(f"--{name} is given twice")
        if not inline and (not rest or rest[0].startswith("--")):
            raise CommandError(f"--{name} needs a value; the form is {EVIDENCE_FORM}")
        options[name] = inline or rest.pop(0)
    if "last" in options and options.keys() & {"from", "to"}:
        raise CommandError("use either --last or --from/--to, not both")
    if "to" in options and "from" not in options:
        raise CommandError("--to needs --from (e.g. --from 2026-11-24T00:00 --to 2026-11-25T00:00)")
    now = now.astimezone(UTC).replace(microsecond=0)
    start = end = None
    if "last" in options:
        span = parse_duration(options["last"])
        try:
            start = now - span
        except OverflowError:
            start = None  # further back than any entry: all of them
        text = f"evidence --last {options['last']}"
    elif "from" in options:
        start = parse_time("from", options["from"])
        end = parse_time("to", options["to"]) if "to" in options else None
        if start >= (end or now):
            raise CommandError("--from must be before --to (and before now)")
        text = f"evidence --from {start:%Y-%m-%dT%H:%M:%SZ}"
        text += f" --to {end:%Y-%m-%dT%H:%M:%SZ}" if end is not None else ""
    else:
        text = "evidence"
    return EvidenceRequest(start=start, end=end, text=text)
