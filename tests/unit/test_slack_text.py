"""Slack's text read once and read right: entities, links that show one address and point to another,
and every place a message shortcut's payload keeps its text (blocks, attachments, fields).

Payload shapes follow Slack's references: "Formatting text for app surfaces" (escaping, links, mentions),
"Rich text block" and its elements (section, list, quote, preformatted, link), "Secondary message
attachments" (pretext, title, text, fields, fallback). Expected values are written out by hand.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.iocs.indicators import extract_indicators
from bot.parse.slack_text import (
    MessageText,
    MismatchedLink,
    MismatchedLinkError,
    command_text,
    decode,
    message_text,
    mismatch_message,
)
from bot.words import CommandError, normalise

Message = dict[str, Any]


def slack_escape(text: str) -> str:
    """What Slack does to a literal `&`, `<`, `>` (Formatting text for app surfaces, "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def found(message: Message) -> list[str]:
    return [i.value for i in extract_indicators(message_text(message).text)]


def section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def rich(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "block_id": "b1", "elements": list(elements)}


def text(value: str, **style: bool) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"style": style} if style else {})}


# --- decode -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a &amp; b", "a & b"),
        ("&lt;ip&gt;", "<ip>"),
        ("&amp;lt;", "&lt;"),  # someone typed `&lt;`: it stays `&lt;`
        ("&amp;amp;", "&amp;"),
        ("&copy; &quot;x&quot; &#39;", "&copy; &quot;x&quot; &#39;"),  # Slack escapes only & < >
        ("10.0.1.25", "10.0.1.25"),
        ("", ""),
    ],
)
def test_decode_undoes_slacks_three_entities_once(escaped: str, plain: str) -> None:
    assert decode(escaped) == plain


@given(st.text())
def test_decode_inverts_slacks_escaping(value: str) -> None:
    assert decode(slack_escape(value)) == value


@given(st.text())
def test_decode_decodes_only_once(value: str) -> None:
    assert decode(slack_escape(slack_escape(value))) == slack_escape(value)


# --- command_text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("ratio <http://10.0.1.25|10.0.1.25> --last 6h", "ratio 10.0.1.25 --last 6h"),  # Slack's auto-link
        ("ratio <http://10.0.1.25>", "ratio http://10.0.1.25"),
        ("ioc add <http://203.0.113.7|203.0.113.7> c2 &amp; exfil", "ioc add 203.0.113.7 c2 & exfil"),
        ("see <http://example.com|example.com>", "see example.com"),
        ("mail <mailto:soc@example.com|soc@example.com>", "mail soc@example.com"),
        ("<http://198.51.100.9:8080/login|198.51.100.9:8080/login>", "198.51.100.9:8080/login"),
        # A label that is the address a search page is about: the target holds it.
        ("<https://www.virustotal.com/gui/ip-address/203.0.113.7|203.0.113.7>", "203.0.113.7"),
        ("<https://example.com/ioc?a=1&amp;ip=192.0.2.44|the list>", "the list"),
        # A domain label on a link to another domain names no address Flowbot reads.
        ("<https://github.com/acme/flowbot/blob/main/config.yaml|config.yaml>", "config.yaml"),
        # Typed angle brackets arrive escaped: they are text, decoded once, never a link.
        ("ratio &lt;ip&gt;", "ratio <ip>"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),
        ("", ""),
    ],
)
def test_command_text_reads_links_as_shown_and_decodes(typed: str, plain: str) -> None:
    assert command_text(typed) == plain


@pytest.mark.parametrize(
    "typed",
    [
        "<@U0FLOWBOT> ratio 10.0.1.25",
        "<@U024BE7LH|bob> ask <#C024BE7LR|general> and <!subteam^SAZ94GDB8> <!here>",
        "<!date^1392734382^{date_num}|2014-02-18>",
    ],
)
def test_command_text_leaves_mentions_for_the_callers(typed: str) -> None:
    assert command_text(typed) == typed


def test_mentions_reach_the_parser_as_slack_markup_and_links_as_shown() -> None:
    typed = "<@U0FLOWBOT> ratio <http://10.0.1.25|10.0.1.25> <@U0OTHER> <#C1|incident>"
    words = ["<@U0FLOWBOT>", "ratio", "10.0.1.25", "<@U0OTHER>", "<#C1|incident>"]
    assert normalise(command_text(typed)) == words  # a mention echoed back renders as a mention
    assert normalise("R&amp;D <prod>") == ["R&amp;D", "<prod>"]  # typed brackets are not links


def test_a_mismatched_link_is_refused_with_both_addresses() -> None:
    with pytest.raises(MismatchedLinkError) as caught:
        command_text("ratio <http://198.51.100.77|10.0.1.25> --last 6h")
    assert str(caught.value) == (
        "the link shows `10.0.1.25` but points to `198.51.100.77`; type the address you mean"
    )
    assert caught.value.links == (MismatchedLink(label="10.0.1.25", target="http://198.51.100.77"),)
    assert isinstance(caught.value, CommandError)  # the listeners' `except CommandError` answers it


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "<https://evil.example/x|10.0.1.25>",
            "the link shows `10.0.1.25` but points to `evil.example/x`; type the address you mean",
        ),
        (
            "<http://198.51.100.77|intranet.example.com>",
            "the link shows `intranet.example.com` but points to `198.51.100.77`; type the address you mean",
        ),
        (
            "<mailto:soc@example.com|10.0.1.25>",
            "the link shows `10.0.1.25` but points to `soc@example.com`; type the address you mean",
        ),
        (
            "<http://10.0.0.1|10.0.0.1 and 10.0.0.2>",
            "the link shows `10.0.0.1 and 10.0.0.2` but points to `10.0.0.1`; type the address you mean",
        ),
        (
            "<http://[2001:db8::1]/|2001:db8::2>",
            "the link shows `2001:db8::2` but points to `[2001:db8::1]`; type the address you mean",
        ),
        (
            "ratio <http://198.51.100.77|10.0.1.25> <http://192.0.2.1|10.0.1.26>",
            "the link shows `10.0.1.25` but points to `198.51.100.77`, and the link shows `10.0.1.26` "
            "but points to `192.0.2.1`; type the addresses you mean",
        ),
        (
            "<http://198.51.100.77/?q=a&amp;b|10.0.1.25 &lt;x&gt;>",  # values escaped again for the reply
            "the link shows `10.0.1.25 &lt;x&gt;` but points to `198.51.100.77/?q=a&amp;b`; "
            "type the address you mean",
        ),
    ],
)
def test_mismatches_name_what_is_shown_and_what_is_followed(typed: str, message: str) -> None:
    with pytest.raises(MismatchedLinkError) as caught:
        command_text(typed)
    assert str(caught.value) == message


def test_a_defanged_label_on_its_own_address_is_no_mismatch() -> None:
    assert command_text("<http://10.0.1.25|10.0.1[.]25>") == "10.0.1[.]25"


def test_a_long_target_is_cut_in_the_message() -> None:
    target = "https://evil.example/" + "a" * 200
    with pytest.raises(MismatchedLinkError) as caught:
        command_text(f"<{target}|10.0.1.25>")
    assert str(caught.value) == (
        "the link shows `10.0.1.25` but points to `evil.example/" + "a" * 46 + "…`; type the address you mean"
    )


@given(st.text())
def test_text_without_markup_is_only_decoded(value: str) -> None:
    assert command_text(slack_escape(value)) == value


WORDS = st.lists(st.sampled_from(["ratio", "--last", "6h", "ioc", "add", "c2", "<@U0B0T>", "<#C1|ir>"]))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(WORDS, st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=3))
def test_auto_links_read_as_normalise_read_them(words: list[str], addresses: list[str]) -> None:
    typed = " ".join(words + [f"<http://{a}|{a}>" for a in addresses])
    assert normalise(command_text(typed)) == normalise(typed)


@given(st.ip_addresses(v=4), st.ip_addresses(v=4))
def test_a_label_with_another_address_is_always_refused(shown: Any, target: Any) -> None:
    if shown == target:
        assert command_text(f"<http://{target}|{shown}>") == str(shown)
        return
    with pytest.raises(MismatchedLinkError) as caught:
        command_text(f"ratio <http://{target}|{shown}>")
    assert f"`{shown}`" in str(caught.value) and f"`{target}`" in str(caught.value)


# --- message_text: Slack's own examples ---------------------------------------------------------------------


def test_the_rich_text_list_example() -> None:
    """The example of Slack's "Rich text list element" reference."""
    message = {
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "block1",
                "elements": [
                    section(text("My favorite Slack features (in no particular order):")),
                    {
                        "type": "rich_text_list",
                        "elements": [
                            section(text("Huddles")),
                            section(text("Canvas")),
                            section(text("Developing with Block Kit")),
                        ],
                        "style": "bullet",
                        "indent": 0,
                        "border": 1,
                    },
                ],
            }
        ]
    }
    assert message_text(message) == MessageText(
        text="My favorite Slack features (in no particular order):\n"
        "Huddles\nCanvas\nDeveloping with Block Kit"
    )


def test_the_rich_text_quote_example_with_styles() -> None:
    """Slack's "Rich text quote element" and "Rich text section element" examples, one message."""
    message = {
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "Vrzsu",
                "elements": [
                    {
                        "type": "rich_text_quote",
                        "elements": [text("What we need is good examples in our documentation.")],
                    },
                    section(text("Yes - I completely agree, Luke!")),
                ],
            },
            rich(section(text("Hello there, "), text("I am a bold rich text block!", bold=True))),
        ]
    }
    assert message_text(message).text == (
        "What we need is good examples in our documentation.\n"
        "Yes - I completely agree, Luke!\n"
        "Hello there, I am a bold rich text block!"
    )


def test_the_link_element_example_shows_its_url() -> None:
    """Slack's "Link element" example: no text, so the url is what is shown."""
    message = {"blocks": [rich(section({"type": "link", "url": "https://docs.slack.dev"}))]}
    assert message_text(message).text == "https://docs.slack.dev"


# --- message_text: what responders and alert bots post ------------------------------------------------------


def test_a_composed_message_reads_once_though_text_repeats_the_blocks() -> None:
    """The composer sends rich_text blocks and a mrkdwn `text` of the same words."""
    message = {
        "type": "message",
        "user": "U0AAA",
        "ts": "1700000000.000100",
        "text": "<@U0BBB> beacon from <http://10.0.1.25|10.0.1.25> to *203.0.113.66* :rotating_light:",
        "blocks": [
            rich(
                section(
                    {"type": "user", "user_id": "U0BBB"},
                    text(" beacon from "),
                    {"type": "link", "url": "http://10.0.1.25", "text": "10.0.1.25"},
                    text(" to "),
                    text("203.0.113.66", bold=True),
                    text(" "),
                    {"type": "emoji", "name": "rotating_light", "unicode": "1f6a8"},
                )
            )
        ],
    }
    result = message_text(message)
    assert result == MessageText(text="@U0BBB beacon from 10.0.1.25 to 203.0.113.66 :rotating_light:")
    assert found(message) == ["10.0.1.25", "203.0.113.66"]


def test_an_attachment_only_guardduty_alert() -> None:
    """The address is only in a field of the first attachment; `text` is empty."""
    message = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0GUARD",
        "text": "",
        "attachments": [
            {
                "fallback": "GuardDuty finding: UnauthorizedAccess:EC2/SSHBruteForce",
                "color": "#d13212",
                "pretext": "*GuardDuty* finding in 123456789012 us-east-1",
                "title": "UnauthorizedAccess:EC2/SSHBruteForce",
                "title_link": "https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings",
                "text": "i-0abc1234def567890 is being SSH brute-forced",
                "fields": [
                    {"title": "Remote IP", "value": "198.51.100.23", "short": True},
                    {"title": "Port", "value": "22", "short": True},
                    {"title": "Severity", "value": "5.0", "short": True},
                ],
                "footer": "Amazon GuardDuty",
                "mrkdwn_in": ["pretext", "text"],
            }
        ],
    }
    assert message_text(message).text == (
        "*GuardDuty* finding in 123456789012 us-east-1\n"
        "UnauthorizedAccess:EC2/SSHBruteForce "
        "(https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings)\n"
        "i-0abc1234def567890 is being SSH brute-forced\n"
        "Remote IP: 198.51.100.23\n"
        "Port: 22\n"
        "Severity: 5.0\n"
        "Amazon GuardDuty"
    )
    assert found(message) == ["198.51.100.23"]


def test_a_pagerduty_style_alert_with_blocks_inside_its_attachment() -> None:
    message = {
        "text": "[Triggered] Outbound traffic spike",
        "attachments": [
            {
                "color": "#a8001e",
                "fallback": "[Triggered] Outbound traffic spike from 10.0.1.25",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Outbound traffic spike"}},
                    {
                        "type": "section",
                        "fields": [
                            {"type": "mrkdwn", "text": "*Source:*\n<http://10.0.1.25|10.0.1.25>"},
                            {"type": "mrkdwn", "text": "*Destination:*\n203.0.113[.]99 &amp; peers"},
                        ],
                    },
                    {
                        "type": "context",
                        "elements": [
                            {"type": "mrkdwn", "text": "Service: <https://acme.pagerduty.com/s/P1|vpc>"}
                        ],
                    },
                ],
            }
        ],
    }
    assert message_text(message).text == (
        "[Triggered] Outbound traffic spike\n"
        "Outbound traffic spike\n"
        "*Source:*\n10.0.1.25\n"
        "*Destination:*\n203.0.113[.]99 & peers\n"
        "Service: vpc (https://acme.pagerduty.com/s/P1)\n"
        "[Triggered] Outbound traffic spike from 10.0.1.25"
    )
    assert found(message) == ["10.0.1.25", "203.0.113.99"]


def test_a_fallback_with_nothing_new_is_left_out() -> None:
    message = {
        "text": "Beacon from 10.0.1.25",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Beacon* from `10.0.1.25`"}}],
    }
    assert message_text(message).text == "*Beacon* from `10.0.1.25`"


def test_a_top_level_text_that_says_more_is_kept() -> None:
    message = {
        "text": "Alert for 192.0.2.10",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Open the console for details"}}],
    }
    assert message_text(message).text == "Alert for 192.0.2.10\nOpen the console for details"


def test_a_linked_url_is_read_for_addresses_too() -> None:
    message = {
        "blocks": [
            rich(
                section(
                    text("see "),
                    {"type": "link", "url": "https://example.com/ioc?ip=192.0.2.44", "text": "the list"},
                )
            )
        ]
    }
    assert message_text(message).text == "see the list (https://example.com/ioc?ip=192.0.2.44)"
    assert found(message) == ["192.0.2.44"]


def test_preformatted_text_a_table_and_a_button() -> None:
    message = {
        "blocks": [
            rich(
                {
                    "type": "rich_text_preformatted",
                    "elements": [text("srcaddr dstaddr\n10.0.1.25 203.0.113.7")],
                }
            ),
            {
                "type": "table",
                "rows": [
                    [{"type": "raw_text", "text": "peer"}, {"type": "raw_text", "text": "bytes"}],
                    [{"type": "raw_text", "text": "2600:1f18::1"}, {"type": "raw_text", "text": "1.2 MB"}],
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Block 198.51.100.1 &amp; 198.51.100.2"},
                        "value": "not-shown-203.0.113.250",
                    }
                ],
            },
        ]
    }
    assert message_text(message).text == (
        "srcaddr dstaddr\n10.0.1.25 203.0.113.7\npeer\nbytes\n2600:1f18::1\n1.2 MB\n"
        "Block 198.51.100.1 & 198.51.100.2"
    )
    assert found(message) == ["10.0.1.25", "203.0.113.7", "2600:1f18::1", "198.51.100.1", "198.51.100.2"]


def test_mentions_broadcasts_and_dates_read_alike_in_text_and_blocks() -> None:
    message = {
        "text": "<!here> <!subteam^SAZ94GDB8|@ir-team> see <#C0123|incident-42> "
        "<!date^1392734382^{date_short}|Feb 18, 2014>",
        "blocks": [
            rich(
                section(
                    {"type": "broadcast", "range": "here"},
                    text(" "),
                    {"type": "usergroup", "usergroup_id": "SAZ94GDB8"},
                    text(" see "),
                    {"type": "channel", "channel_id": "C0123"},
                    text(" "),
                    {
                        "type": "date",
                        "timestamp": 1392734382,
                        "format": "{date_short}",
                        "fallback": "Feb 18, 2014",
                    },
                )
            )
        ],
    }
    assert message_text(message).text == "@here @SAZ94GDB8 see #C0123 Feb 18, 2014"


def test_entities_in_every_kind_of_text_are_decoded_once() -> None:
    message = {
        "text": "a &amp;lt; b",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "x &amp;gt; y"}},
            rich(section(text("c &amp; d"))),
        ],
        "attachments": [{"fields": [{"title": "rule", "value": "src &lt; 1024 &amp;&amp; dst &gt; 0"}]}],
    }
    assert message_text(message).text == "a &lt; b\nx &gt; y\nc & d\nrule: src < 1024 && dst > 0"


# --- message_text: mismatched links -------------------------------------------------------------------------


def test_a_mismatched_link_in_a_message_is_listed_with_both_shown() -> None:
    message = {
        "text": "block <http://198.51.100.77|10.0.1.25> now",
        "blocks": [
            rich(
                section(
                    text("block "),
                    {"type": "link", "url": "http://198.51.100.77", "text": "10.0.1.25"},
                    text(" now"),
                )
            )
        ],
    }
    result = message_text(message)
    assert result.text == "block 10.0.1.25 (http://198.51.100.77) now"
    assert result.mismatches == (MismatchedLink(label="10.0.1.25", target="http://198.51.100.77"),)
    assert result.refusal == (
        "the link shows `10.0.1.25` but points to `198.51.100.77`; type the address you mean"
    )
    with pytest.raises(MismatchedLinkError):
        result.checked()


def test_mismatches_anywhere_in_an_alert_are_collected() -> None:
    message = {
        "attachments": [
            {
                "title": "203.0.113.5",
                "title_link": "https://203.0.113.50/",
                "fields": [{"title": "Peer", "value": "<http://192.0.2.99|192.0.2.9>"}],
            }
        ]
    }
    result = message_text(message)
    assert result.mismatches == (
        MismatchedLink(label="203.0.113.5", target="https://203.0.113.50/"),
        MismatchedLink(label="192.0.2.9", target="http://192.0.2.99"),
    )
    assert result.refusal == (
        "the link shows `203.0.113.5` but points to `203.0.113.50`, and the link shows `192.0.2.9` but "
        "points to `192.0.2.99`; type the addresses you mean"
    )
    assert mismatch_message(result.mismatches) == result.refusal


def test_a_message_without_mismatches_checks_out() -> None:
    message = {"text": "from <http://10.0.1.25|10.0.1.25>"}
    assert message_text(message).checked() == "from 10.0.1.25"
    assert message_text(message).refusal is None


# --- message_text: any placement, any payload ---------------------------------------------------------------

FILLER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=12)
ADDRESSES = st.ip_addresses().filter(
    lambda a: not (isinstance(a, ipaddress.IPv6Address) and (a.ipv4_mapped or a.is_unspecified))
)


def linked(address: str) -> str:
    return f"[{address}]" if ":" in address else address


PLACES: dict[str, Callable[[str, str], Message]] = {
    "text": lambda s, _: {"text": s},
    "text auto-link": lambda _, a: {"text": f"x <http://{linked(a)}|{a}> y"},
    "section leaf": lambda s, _: {"blocks": [rich(section(text(s)))]},
    "bold leaf": lambda s, _: {"blocks": [rich(section(text("x "), text(s, bold=True)))]},
    "list item": lambda s, _: {
        "blocks": [rich({"type": "rich_text_list", "style": "ordered", "elements": [section(text(s))]})]
    },
    "quote": lambda s, _: {"blocks": [rich({"type": "rich_text_quote", "elements": [text(s)]})]},
    "preformatted": lambda s, _: {
        "blocks": [rich({"type": "rich_text_preformatted", "elements": [text(s)]})]
    },
    "link url": lambda _, a: {"blocks": [rich(section({"type": "link", "url": f"http://{linked(a)}/"}))]},
    "link text": lambda _, a: {
        "blocks": [rich(section({"type": "link", "url": f"http://{linked(a)}", "text": a}))]
    },
    "labelled link": lambda _, a: {
        "blocks": [rich(section({"type": "link", "url": f"https://{linked(a)}:8443/x", "text": "the host"}))]
    },
    "section text": lambda s, _: {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": s}}]},
    "section field": lambda s, _: {
        "blocks": [
            {
                "type": "section",
                "fields": [{"type": "plain_text", "text": "x"}, {"type": "mrkdwn", "text": s}],
            }
        ]
    },
    "context": lambda s, _: {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": s}]}]},
    "header": lambda s, _: {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": s}}]},
    "pretext": lambda s, _: {"attachments": [{"pretext": s}]},
    "title": lambda s, _: {"attachments": [{"title": s}]},
    "attachment text": lambda s, _: {"attachments": [{"text": s}]},
    "fallback": lambda s, _: {"attachments": [{"fallback": s, "color": "good"}]},
    "field value": lambda s, _: {"attachments": [{}, {"fields": [{"title": "Remote IP", "value": s}]}]},
    "attachment block": lambda s, _: {
        "attachments": [{"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": s}}]}]
    },
    "shared message": lambda s, _: {
        "attachments": [{"message_blocks": [{"message": {"blocks": [rich(section(text(s)))]}}]}]
    },
}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PLACES)), ADDRESSES, FILLER, FILLER)
def test_an_address_is_found_wherever_it_is_placed(place: str, address: Any, before: str, after: str) -> None:
    value = str(address)
    message = PLACES[place](f"{before} {value} {after}", value)
    result = message_text(message)
    assert result.mismatches == ()
    assert value in [i.value for i in extract_indicators(result.text)]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["type", "text", "elements", "fields", "url", "blocks", "title", "value", "attachments"]
            ),
            inner
            | st.sampled_from(
                ["text", "link", "mrkdwn", "rich_text_section", "rich_text_list", "user", "emoji"]
            ),
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["text", "blocks", "attachments"]), JSON, max_size=3))
def test_any_payload_gives_text_and_never_an_error(message: Message) -> None:
    result = message_text(message)
    assert isinstance(result.text, str)
    assert all(isinstance(m, MismatchedLink) for m in result.mismatches)
