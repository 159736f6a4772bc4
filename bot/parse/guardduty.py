"""`guardduty <finding-id> [--region R]`, and the GuardDuty finding a message names (the message shortcut).

Only a finding id of GuardDuty's form leaves this module (bot/identifiers.py `FINDING_ID`: lower-case
hexadecimal, 1 to 300 characters) and, optionally, a region of AWS's form: the worker reads the finding
with them (bot/worker/guardduty.py) and takes every address it queries from the finding, never from the text.

A finding is named by its id, by its ARN
(`arn:aws:guardduty:<region>:<account>:detector/<detector id>/finding/<finding id>`: "Resource types defined
by Amazon GuardDuty", Service Authorization Reference, docs.aws.amazon.com/service-authorization/latest/
reference/list_amazonguardduty.html), which also gives its region, or, in a message, by a GuardDuty console
link (`…/guardduty/home?region=<region>#/findings?…&fId=<finding id>`: the form GuardDuty's console shows;
not in AWS's reference documentation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.echo import shown
from bot.identifiers import FINDING_ID
from bot.parse.command import parse_region
from bot.request import GuardDutyRequest
from bot.settings import Settings
from bot.words import CommandError

GUARDDUTY_WORD = "guardduty"
USAGE = "guardduty <finding-id> [--region <name>]"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]"
FINDING_ARN = re.compile(
    rf"arn:aws(?:-[a-z]+)*:guardduty:({_REGION}):[0-9]{{12}}:detector/[0-9a-f]{{1,300}}/finding/([0-9a-f]{{1,300}})\b"
)
_CONSOLE_LINK = re.compile(
    r"/guardduty/home\?(?:[^#\s>|]*&)?region=(" + _REGION + r")[^\s>|]*?[?&]fId=([0-9a-f]{1,300})\b"
)
_FID = re.compile(r"[?&]fId=([0-9a-f]{1,300})\b")
_BARE_ID = re.compile(r"(?<![0-9A-Za-z/])([0-9a-f]{32})(?![0-9A-Za-z/])")
"""A finding id in free text: 32 lower-case hex digits alone (the length of every id GuardDuty has issued
in the findings we have seen; a typed id may be of any length the API allows)."""


@dataclass(frozen=True)
class FindingRef:
    """A finding named in a message: its id, and its region when the message says it."""

    finding_id: str
    region: str | None = None


def parse_guardduty(words: list[str], settings: Settings) -> GuardDutyRequest:
    """The words after `guardduty`: one finding id or ARN, then `--region <name>` at most."""
    positional: list[str] = []
    region: str | None = None
    rest = list(words)
    while rest:
        word = rest.pop(0)
        name, _, inline = word.partition("=")
        if name.lower() == "--region":
            if region is not None:
                raise CommandError("--region is given twice")
            value = inline or (rest.pop(0) if rest and not rest[0].startswith("--") else "")
            if not value:
                raise CommandError(f"--region needs a value: `{USAGE}`")
            region = parse_region(value, settings)
        elif word.startswith("--"):
            raise CommandError(f"`{GUARDDUTY_WORD}` takes only --region: `{USAGE}`")
        else:
            positional.append(word)
    if len(positional) != 1:
        raise CommandError(f"`{GUARDDUTY_WORD}` takes one finding id: `{USAGE}`")
    ref = finding_ref(positional[0])
    if ref.region is not None and region is not None and ref.region != region:
        raise CommandError(f"the finding's ARN is in {ref.region}, not {region}")
    region = region or (parse_region(ref.region, settings) if ref.region else None)
    text = f"{GUARDDUTY_WORD} {ref.finding_id}" + (f" --region {region}" if region else "")
    return GuardDutyRequest(finding_id=ref.finding_id, region=region, text=text)


def finding_ref(value: str) -> FindingRef:
    """A typed finding id (any case) or finding ARN; CommandError otherwise."""
    cleaned = value.strip().strip("`'\"")
    arn = FINDING_ARN.fullmatch(cleaned)
    if arn:
        return FindingRef(arn.group(2), arn.group(1))
    if FINDING_ID.fullmatch(cleaned.lower()):
        return FindingRef(cleaned.lower())
    raise CommandError(
        f"`{shown(value)}` is not a GuardDuty finding id (hexadecimal, as in the finding's `Id`) "
        "or finding ARN"
    )


def findings_in(text: str) -> list[FindingRef]:
    """The GuardDuty findings a message names, each once: its finding ARNs and console links (`fId=`); only
    when it has none, the 32-hex-digit words standing alone that no `detector/` or `detectorId` precedes (a
    pasted finding's JSON holds its detector's id too). An id also seen with a region keeps that region."""
    found: dict[str, str | None] = {}

    def add(finding_id: str, region: str | None) -> None:
        if FINDING_ID.fullmatch(finding_id) and (found.get(finding_id) is None):
            found[finding_id] = region

    for match in FINDING_ARN.finditer(text):
        add(match.group(2), match.group(1))
    for match in _CONSOLE_LINK.finditer(text):
        add(match.group(2), match.group(1))
    for match in _FID.finditer(text):
        add(match.group(1), None)
    if found:
        return [FindingRef(finding_id, region) for finding_id, region in found.items()]
    for match in _BARE_ID.finditer(text):
        before = text[max(0, match.start() - 16) : match.start()].lower()
        if "detector" not in before:
            add(match.group(1), None)
    return [FindingRef(finding_id, region) for finding_id, region in found.items()]
