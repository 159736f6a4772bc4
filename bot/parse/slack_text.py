"""Text as Slack delivers it, turned into the plain text Flowbot parses: once, in one place.

Slack's "Formatting text for app surfaces" (https://api.slack.com/reference/surfaces/formatting,
"Escaping text") makes `&`, `<` and `>` control characters: literal ones arrive as `&amp;`, `&lt;` and
`&gt;`, and a raw `<…>` is always markup: a link `<url>` or `<url|label>`, a mention `<@U…>`, `<#C…|name>`,
`<!subteam^S…>`, `<!here>`, a date `<!date^…|fallback>`. Reading that text as if it were plain leaves
`&amp;` in values; decoding it twice turns a typed `&amp;lt;` into `<`; and taking a link's label on
trust reads `<http://198.51.100.77|10.0.1.25>` as 10.0.1.25, an address the link does not point to.

Three readings, each for one kind of input:
- `decode`: a plain value (no markup): entities decoded exactly once.
- `command_text`: what someone typed (slash-command text, an @mention's text): links become the text
  they show, a link whose label shows an address its target does not hold is refused
  (`MismatchedLinkError`, a `CommandError`), mentions are left as Slack sent them, for the callers.
- `message_text`: a whole message from a message shortcut: `text`, every block and every legacy
  attachment, as one plain text, with the mismatched links listed instead of raised, so the caller can
  refuse with both the label and the target shown.

Slack auto-links what people type: a bare `10.0.1.25` arrives as `<http://10.0.1.25|10.0.1.25>`, a
domain as `<http://example.com|example.com>`, an address as `<mailto:a@example.com|a@example.com>`.
The label then holds the target's own address: no mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.iocs.indicators import extract_indicators
from bot.words import CommandError

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_MARKUP = re.compile(r"<([^<>]*)>")
_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|mailto:)", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*$")
_BROADCASTS = frozenset({"here", "channel", "everyone"})
_EDGE = "*_~`>\u2022\u25e6\u25aa-\u2013\u2014()[]{}<>.,;:!?\"'|"
"""Stripped from a word's ends when comparing pieces: mrkdwn marks, bullets and punctuation."""
_INLINE = frozenset({"rich_text_section", "rich_text_preformatted", "rich_text_quote"})
"""Rich text containers whose elements run on in one line (a bold word in a sentence is one element)."""
_PLAIN = frozenset({"plain_text", "raw_text", "text"})
"""Text objects (and rich text leaves, type "text") that hold no markup: decoded only."""


def decode(text: str) -> str:
    """`&amp;`, `&lt;`, `&gt;` back to `&`, `<`, `>` in one pass, so `&amp;lt;` is `&lt;`, never `<`.

    Only these three: Slack escapes nothing else ("You shouldn't HTML entity-encode the entire text",
    Formatting text for app surfaces), so a `&copy;` someone typed stays as typed (`html.unescape` would
    not). For text that is not markup; text with `<…>` goes through `command_text` or `message_text`,
    which decode what lies between and inside the markup.
    """
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


@dataclass(frozen=True)
class MismatchedLink:
    """A link whose label shows an address its target does not hold: `label` shown, `target` followed.

    Both are decoded. A responder who copies such a link means one of the two; Flowbot cannot tell
    which, so it asks rather than query or store the wrong host.
    """

    label: str
    target: str

    def describe(self) -> str:
        """`the link shows `10.0.1.25` but points to `198.51.100.77`` (Slack mrkdwn, values escaped)."""
        return f"the link shows `{_quoted(self.label)}` but points to `{_quoted(_bare(self.target))}`"


class MismatchedLinkError(CommandError):
    """Typed text holds a mismatched link; the message names every one and asks for the address meant.

    A `CommandError`, so a listener that already answers `:x: {error}` for a bad command answers this
    too, and long values are cut the same way.
    """

    def __init__(self, links: Sequence[MismatchedLink]) -> None:
        self.links = tuple(links)
        super().__init__(mismatch_message(self.links))


def mismatch_message(links: Sequence[MismatchedLink]) -> str:
    """One line naming each mismatched link, shown and pointed-to, and what to do instead."""
    meant = "the address you mean" if len(links) == 1 else "the addresses you mean"
    return f"{', and '.join(link.describe() for link in links)}; type {meant}"


@dataclass(frozen=True)
class MessageText:
    """All the text of a message, plain and decoded, and the links in it whose label misleads.

    `text` keeps a mismatched link as `label (target)`, so nothing is hidden; a caller that must not
    guess (adding indicators, offering look-ups) refuses while `mismatches` is not empty: `checked()`.
    """

    text: str
    mismatches: tuple[MismatchedLink, ...] = ()

    @property
    def refusal(self) -> str | None:
        """The one-line reason to refuse (as `MismatchedLinkError` words it), or None when there is none."""
        return str(MismatchedLinkError(self.mismatches)) if self.mismatches else None

    def checked(self) -> str:
        """The text, or `MismatchedLinkError` when a link in the message misleads."""
        if self.mismatches:
            raise MismatchedLinkError(self.mismatches)
        return self.text


def command_text(text: str) -> str:
    """Typed mrkdwn (slash-command or event text) as the plain words it shows, entities decoded once.

    `<url|label>` becomes the label and `<url>` the url, as `bot.parse.command.normalise` has always read
    them; but a label showing an address the url does not hold raises `MismatchedLinkError`. Mentions
    (`<@U…>`, `<#C…|name>`, `<!here>`, `<!subteam^S…>`, `<!date^…|…>`) are kept exactly as Slack sent
    them: `handlers.mention.mention_text` removes Flowbot's own, and `normalise` reads the rest as it
    does today. Everything outside markup is decoded, once.
    """
    mismatches: list[MismatchedLink] = []
    words = _read_markup(
        text,
        mismatches,
        mention=lambda inner: f"<{inner}>",
        link=lambda target, label: label or target,
    )
    if mismatches:
        raise MismatchedLinkError(mismatches)
    return words


def message_text(message: dict[str, Any]) -> MessageText:
    """Every piece of text a person sees in a message payload, as one plain text, and its misleading links.

    A message shortcut carries the whole message, and `text` is often only the notification fallback:
    what people write is in `blocks` (the composer sends `rich_text`: "Rich text block",
    https://docs.slack.dev/reference/block-kit/blocks/rich-text-block), and alert bots (GuardDuty,
    PagerDuty) post legacy `attachments` whose `fields` hold the address ("Secondary message
    attachments", https://api.slack.com/reference/messaging/attachments). So: `text`, every text object
    and rich text leaf of `blocks` (a link element as its text and its url: "Link element",
    https://docs.slack.dev/reference/block-kit/block-elements/link-element), and each attachment's
    pretext, author, title (with its link), text, fields, footer, blocks and shared-message blocks.

    A fallback (the message's `text`, an attachment's `fallback`) is left out when every word of it is
    already in the rest: it is usually the same words again. Identical pieces appear once.
    """
    mismatches: list[MismatchedLink] = []
    main: list[str] = []
    fallbacks: list[str] = []
    main.append(_render(message.get("blocks"), mismatches))
    for attachment in _dicts(message.get("attachments")):
        main.append(_attachment(attachment, mismatches))
        if isinstance(attachment.get("fallback"), str):
            fallbacks.append(_mrkdwn(attachment["fallback"], mismatches))
    text = message.get("text")
    head = _mrkdwn(text, mismatches) if isinstance(text, str) else ""
    covered = _words("\n".join(main))
    pieces = [head if not _words(head) <= covered else "", *main]
    pieces += [f for f in fallbacks if not _words(f) <= covered]
    return MessageText(text=_join(pieces), mismatches=tuple(dict.fromkeys(mismatches)))


def _quoted(value: str) -> str:
    """A value for a backticked span in a reply: one line, no backtick, `&<>` escaped for mrkdwn."""
    flat = " ".join(value.split()).replace("`", "'")
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bare(url: str) -> str:
    """A url as people write it: without `http://` (or `mailto:`) and a trailing slash."""
    return _SCHEME.sub("", url.strip(), count=1).rstrip("/")


def _host(text: str) -> str:
    """The host of `scheme://user@host:port/path` (or of `host/path`), lower case, brackets removed."""
    rest = _bare(text)
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.lower().rstrip(".")


def _addresses(text: str) -> set[str]:
    """The IP addresses in a text (defanged ones too), a range as its first address, canonical."""
    return {str(i.network.network_address) for i in extract_indicators(text)}


def _mismatch(label: str, target: str) -> bool:
    """Whether the label shows an address the target does not hold.

    Flowbot reads IP addresses, so only a mismatch that involves one counts: an IP address in the label
    that the target does not hold anywhere (its host, or its path: a link from `203.0.113.7` to a search
    page for 203.0.113.7 is fine), or a label that is a domain or URL on a link to an IP address that
    does not contain that domain. Domain against domain is no mismatch: a `config.yaml` label on a
    GitHub link looks like a domain, and neither holds an address Flowbot would read.
    """
    shown = _addresses(label)
    held = _addresses(target)
    if shown:
        return not shown <= held
    word = label.strip()
    if not held or len(word.split()) != 1:
        return False
    host = _host(word)
    return _DOMAIN.fullmatch(host) is not None and host not in target.lower()


def _same(label: str, target: str) -> bool:
    """The label is the target as typed (an auto-link): `10.0.1.25` for `http://10.0.1.25`."""
    bare = _bare(target).lower()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    return label.strip().rstrip("/").lower() in (bare, target.strip().lower())


def _link(inner: str) -> tuple[str, str, MismatchedLink | None]:
    """`url|label` (inside `<…>`): the decoded target, the decoded label (may be ""), any mismatch."""
    raw_target, _, raw_label = inner.partition("|")
    target, label = decode(raw_target), decode(raw_label)
    if label and _mismatch(label, target):
        return target, label, MismatchedLink(label=label, target=target)
    return target, label, None


def _shown_link(target: str, label: str) -> str:
    """A link in a message's text: its label and, unless the label is the target itself, its target."""
    if not label or _same(label, target):
        return label or target
    return f"{label} ({target})"


def _mention(inner: str) -> str:
    """A mention as plain text, the same whether it came as mrkdwn or as a rich text element."""
    head, _, label = inner.partition("|")
    if head[:1] in ("@", "#"):
        return head  # the id: rich text's user and channel elements carry only the id
    name = head[1:]
    if name.startswith("subteam^"):
        return "@" + name.partition("^")[2]
    if name in _BROADCASTS:
        return "@" + name
    return decode(label)  # `<!date^…|fallback>` shows its fallback; anything else unknown, nothing


def _mrkdwn(text: str, mismatches: list[MismatchedLink]) -> str:
    """mrkdwn as plain text: links as `_shown_link`, mentions as `_mention`, the rest decoded once."""
    return _read_markup(text, mismatches, mention=_mention, link=_shown_link)


def _read_markup(
    text: str,
    mismatches: list[MismatchedLink],
    *,
    mention: Callable[[str], str],
    link: Callable[[str, str], str],
) -> str:
    """Text with Slack's `<…>` markup: a mention (`@`, `#`, `!`) through `mention`, a link through `link`
    (its misleading ones noted in `mismatches`), everything else decoded once."""
    out: list[str] = []
    position = 0
    for match in _MARKUP.finditer(text):
        out.append(decode(text[position : match.start()]))
        position = match.end()
        inner = match.group(1)
        if inner[:1] in ("@", "#", "!"):
            out.append(mention(inner))
            continue
        target, label, mismatch = _link(inner)
        if mismatch is not None:
            mismatches.append(mismatch)
        out.append(link(target, label))
    out.append(decode(text[position:]))
    return "".join(out)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dicts of a list that should hold only dicts (a payload is not trusted to)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _string(node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    return value if isinstance(value, str) else ""


def _rich_leaf(node: dict[str, Any], kind: str, mismatches: list[MismatchedLink]) -> str | None:
    """A rich text element that is no container, as text; None when `kind` is a container."""
    if kind == "link":
        target, label = decode(_string(node, "url")), decode(_string(node, "text"))
        if label and _mismatch(label, target):
            mismatches.append(MismatchedLink(label=label, target=target))
        return _shown_link(target, label)
    ids = {"user": ("@", "user_id"), "usergroup": ("@", "usergroup_id"), "channel": ("#", "channel_id")}
    if kind in ids:
        sign, key = ids[kind]
        return sign + _string(node, key) if _string(node, key) else ""
    if kind == "broadcast":
        return "@" + _string(node, "range") if _string(node, "range") else ""
    if kind == "emoji":
        return f":{_string(node, 'name')}:" if _string(node, "name") else ""
    if kind == "date":
        return decode(_string(node, "fallback"))
    return None


def _render(node: Any, mismatches: list[MismatchedLink]) -> str:
    """Blocks (or any part of them) as text: text objects and rich text leaves, in order.

    Known shapes are read as Slack documents them; anything else is walked for the text objects it
    holds (a section's `text`, `fields` and accessory, a context's elements, a header, a table's
    cells), so a block type added later still gives up its text.
    """
    if isinstance(node, list):
        return _join(_render(child, mismatches) for child in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type") if isinstance(node.get("type"), str) else None
    if kind == "mrkdwn" and isinstance(node.get("text"), str):
        return _mrkdwn(node["text"], mismatches)
    if kind in _PLAIN and isinstance(node.get("text"), str):
        return decode(node["text"])
    if kind is not None:
        leaf = _rich_leaf(node, kind, mismatches)
        if leaf is not None:
            return leaf
        if kind in _INLINE:
            return "".join(_render(child, mismatches) for child in _dicts(node.get("elements")))
    return _join(_render(value, mismatches) for value in node.values() if isinstance(value, dict | list))


def _attachment(attachment: dict[str, Any], mismatches: list[MismatchedLink]) -> str:
    """A legacy attachment's visible text; `fallback` is handled by the caller, as a fallback."""

    def linked(text_key: str, link_key: str) -> str:
        text, link = _mrkdwn(_string(attachment, text_key), mismatches), decode(_string(attachment, link_key))
        if text and link and _mismatch(text, link):
            mismatches.append(MismatchedLink(label=text, target=link))
        return _shown_link(link, text) if text and link else text

    def field(field: dict[str, Any]) -> str:
        title = _mrkdwn(_string(field, "title"), mismatches).strip()
        value = _mrkdwn(_string(field, "value"), mismatches).strip()
        return f"{title}: {value}" if title and value else title or value

    pieces = [
        _mrkdwn(_string(attachment, "pretext"), mismatches),
        linked("author_name", "author_link"),
        linked("title", "title_link"),
        _mrkdwn(_string(attachment, "text"), mismatches),
    ]
    pieces += [field(f) for f in _dicts(attachment.get("fields"))]
    pieces += [
        _render(attachment.get("blocks"), mismatches),
        _render(attachment.get("message_blocks"), mismatches),
        _mrkdwn(_string(attachment, "footer"), mismatches),
    ]
    return _join(pieces)


def _words(text: str) -> set[str]:
    """The words of a text with mrkdwn marks and punctuation trimmed: what two renderings share."""
    return {w for w in (word.strip(_EDGE).lower() for word in text.split()) if w}


def _join(pieces: Iterable[str]) -> str:
    """Non-empty pieces, each once (compared with spacing collapsed), one per line."""
    seen: set[str] = set()
    kept: list[str] = []
    for piece in pieces:
        key = " ".join(piece.split())
        if key and key not in seen:
            seen.add(key)
            kept.append(piece.strip())
    return "\n".join(kept)
