"""What every parser of typed text shares: the one line a user reads when the text is wrong, and the undoing
of what Slack and threat-intel habits do to text (links, phone dashes, defanged addresses). The command parser
(bot/parse/) and the indicator parser (bot/iocs/) both stand on it, and on nothing of each other.
"""

from __future__ import annotations

import re

_SLACK_LINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]*:[^<>|]*)(?:\|([^<>]*))?>")
"""Slack's link markup (`<http://10.0.1.25|10.0.1.25>`, `<tel:…|…>`), which `flowbot ask` accepts pasted from
Slack. Only links with a scheme: text Slack sent is decoded once at the edge (bot/parse/slack_text.py), after
which `<prod>` is what was typed."""
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_LEADING_DASHES = re.compile(f"^[{_DASHES}]+(?=[A-Za-z])")
_ONLY_DASHES = re.compile(f"[{_DASHES}]+")
_DEFANG_DOT = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}", re.IGNORECASE)
_DEFANG_COLON = re.compile(r"\[:\]|\(:\)|\{:\}")
_SCHEME = re.compile(r"^(?:hxxps?|https?|fxp|ftp)(?:\[:\]|:)//", re.IGNORECASE)


class CommandError(ValueError):
    """What was wrong with the text, in one line a responder can act on.

    A value quoted in `backticks` is cut to `QUOTED_MAX` characters: a pasted 5,000-character alert
    should get a one-line answer, not itself back.
    """

    def __init__(self, message: str) -> None:
        super().__init__(_QUOTED.sub(_shorten, message))


QUOTED_MAX = 60
_QUOTED = re.compile(r"`([^`]*)`")


def _shorten(match: re.Match[str]) -> str:
    quoted = match.group(1)
    return match.group(0) if len(quoted) <= QUOTED_MAX else f"`{quoted[: QUOTED_MAX - 1]}…`"


def normalise(text: str) -> list[str]:
    """Undo Slack's links and phone dashes; split into words."""
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = text.replace("\u00a0", " ").replace("\u201c", '"').replace("\u201d", '"')
    words = []
    for word in text.split():
        word = "--" if _ONLY_DASHES.fullmatch(word) and word != "-" else _LEADING_DASHES.sub("--", word)
        words.append(word)
    return words


def refang(value: str) -> str:
    """`hxxp://10[.]1[.]1[.]1/` → `10.1.1.1`: strip defanging, a URL scheme and a trailing slash."""
    value = _DEFANG_DOT.sub(".", value.strip().strip("\"'`"))
    value = _DEFANG_COLON.sub(":", value)
    value = _SCHEME.sub("", value)
    value = value.rstrip("/")
    if value.startswith("[") and value.endswith("]"):  # bracketed IPv6, as in URLs
        value = value[1:-1]
    return value
