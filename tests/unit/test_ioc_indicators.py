"""Indicators: one canonical spelling from whatever was pasted, and which ones need an admin, and why."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.iocs.indicators import (
    Indicator,
    IndicatorError,
    check_indicator,
    extract_indicators,
    parse_indicator,
)


@pytest.mark.parametrize(
    ("text", "value", "slug"),
    [
        ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
        ("2600:1f18::1", "2600:1f18::1", "2600-1f18--1"),
        ("2600:1F18:0000:0000:0000:0000:0000:0001", "2600:1f18::1", "2600-1f18--1"),
        ("10.1.0.0/16", "10.1.0.0/16", "10.1.0.0_16"),
        ("2600:1f18::/48", "2600:1f18::/48", "2600-1f18--_48"),
        ("203.0.113.7/32", "203.0.113.7", "203.0.113.7"),
        ("2600:1f18::1/128", "2600:1f18::1", "2600-1f18--1"),
        ("10.1.0.0/255.255.0.0", "10.1.0.0/16", "10.1.0.0_16"),
        # defanged
        ("203.0.113[.]7", "203.0.113.7", "203.0.113.7"),
        ("203[.]0[.]113[.]7", "203.0.113.7", "203.0.113.7"),
        ("hxxp://203[.]0[.]113[.]7/", "203.0.113.7", "203.0.113.7"),
        ("hxxps[:]//203[.]0[.]113[.]7/gate.php?id=1", "203.0.113.7", "203.0.113.7"),
        ("10(.)1(.)0(.)0/16", "10.1.0.0/16", "10.1.0.0_16"),
        ("198{.}51{.}100{.}9", "198.51.100.9", "198.51.100.9"),
        ("198[dot]51[dot]100[dot]9", "198.51.100.9", "198.51.100.9"),
        ("2600[:]1f18[:][:]1", "2600:1f18::1", "2600-1f18--1"),
        ("[2600:1f18::1]", "2600:1f18::1", "2600-1f18--1"),
        ("hxxps://[2600:1f18::1]:8443/x", "2600:1f18::1", "2600-1f18--1"),
        ("http://user@198.51.100.9:8080/a/16", "198.51.100.9", "198.51.100.9"),
        # Slack's links and stray punctuation
        ("<http://203.0.113.7|203.0.113.7>", "203.0.113.7", "203.0.113.7"),
        ("<http://203.0.113.7>", "203.0.113.7", "203.0.113.7"),
        ("  `203.0.113.7`, ", "203.0.113.7", "203.0.113.7"),
        ('"203.0.113.7";', "203.0.113.7", "203.0.113.7"),
        # IPv4-mapped IPv6 is the IPv4 address the flow logs record
        ("::ffff:203.0.113.7", "203.0.113.7", "203.0.113.7"),
    ],
)
def test_parse_indicator_gives_the_canonical_value_and_slug(text: str, value: str, slug: str) -> None:
    indicator = parse_indicator(text)
    assert indicator.value == value
    assert indicator.slug == slug
    assert parse_indicator(indicator.value) == indicator


def test_indicator_network_and_range() -> None:
    assert parse_indicator("203.0.113.7").network == IPv4Network("203.0.113.7/32")
    assert parse_indicator("2600:1f18::1").network == IPv6Network("2600:1f18::1/128")
    assert parse_indicator("10.1.0.0/16").network == IPv4Network("10.1.0.0/16")
    assert parse_indicator("10.1.0.0/16").is_range
    assert not parse_indicator("203.0.113.7").is_range


def test_indicator_holds_only_canonical_text() -> None:
    assert Indicator("203.0.113.7").value == "203.0.113.7"
    with pytest.raises(IndicatorError, match=r"written 2600:1f18::1"):
        Indicator("2600:1f18:0::1")
    with pytest.raises(IndicatorError, match=r"written 203\.0\.113\.7"):
        Indicator("203.0.113.7/32")
    with pytest.raises(IndicatorError):
        Indicator("10.1.2.3/16")


def test_host_bits_are_refused_with_both_spellings() -> None:
    with pytest.raises(IndicatorError) as caught:
        parse_indicator("10.1.2.3/16")
    assert str(caught.value) == (
        "`10.1.2.3/16` has host bits set: the range is 10.1.0.0/16, the single address 10.1.2.3"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no indicator given"),
        ("   ", "no indicator given"),
        ("1.2.3", "`1.2.3` is not an IP address or CIDR range, e.g. 203.0.113.7"),
        ("C2", "`C2` is not an IP address or CIDR range"),
        ("256.1.1.1", "is not an IP address"),
        ("010.1.1.1", "is not an IP address"),
        ("10.1.0.0/33", "is not an IP address"),
        ("10.1.0.0/x", "is not an IP address"),
        ("evil.example.com", "is not an IP address"),
        ("203.0.113.7 198.51.100.9", "more than one word: give one indicator"),
        ("fe80::1%eth0", "has a zone"),
        ("`" * 200, "is not an IP address"),
    ],
)
def test_parse_errors_are_one_line_with_the_right_form(text: str, expected: str) -> None:
    with pytest.raises(IndicatorError) as caught:
        parse_indicator(text)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert len(message) < 200


ALERT = """\
[GuardDuty] UnauthorizedAccess:EC2/SSHBruteForce HIGH
Instance i-0abc123 (10.0.1.25) is being brute-forced from 198.51.100.23 on port 22.
Related: C2 callback to hxxp://203[.]0[.]113[.]7/gate.php, IPv6 peer 2600:1f18:0:0::1 (also seen as
[2600:1f18::1]:443), block 10(.)1(.)0(.)0/16 and 192.0.2.0/24; iface eth0 10.0.1.25/24.
Agent v1.2.3 build 4.5.6.7.8, OID 1.3.6.1.4.1.311, at 2026-11-20T13:45:00Z, MAC 00:1a:2b:3c:4d:5e.
Not addresses: 999.1.1.1, 10.0.0.300, std::vector, 12:34:56. Seen from 2001:db8::9: twice.
"""


def test_extract_indicators_from_an_alert() -> None:
    assert [i.value for i in extract_indicators(ALERT)] == [
        "10.0.1.25",
        "198.51.100.23",
        "203.0.113.7",
        "2600:1f18::1",
        "10.1.0.0/16",
        "192.0.2.0/24",
        "2001:db8::9",
    ]


def test_extract_indicators_from_a_slack_message_with_links() -> None:
    message = (
        "<@U024BE7LH> can you add <http://203.0.113.7|203.0.113.7> and "
        "<http://198.51.100.9:8080/login|198.51.100.9:8080/login>? also `2600:1f18::1` and "
        "<https://example.com/ioc?ip=192.0.2.44|the list>, see <#C0123ABCD|incident-42>"
    )
    assert [i.value for i in extract_indicators(message)] == ["203.0.113.7", "198.51.100.9", "2600:1f18::1"]


def test_extract_reads_url_paths_as_paths_and_dedupes() -> None:
    text = "hxxp://198.51.100.9/16 198.51.100.9 198[.]51[.]100[.]9 ::ffff:198.51.100.9"
    assert [i.value for i in extract_indicators(text)] == ["198.51.100.9"]


def test_extract_finds_nothing_in_text_without_addresses() -> None:
    assert extract_indicators("") == []
    assert extract_indicators("version 1.2.3, 1.2.3.4.5, 2026-11-20 13:45:00, a:b, ::") == []


@given(st.text(max_size=80))
def test_parse_indicator_raises_only_indicator_error(text: str) -> None:
    try:
        parse_indicator(text)
    except IndicatorError:
        pass


@given(
    st.lists(
        st.one_of(
            st.text(max_size=20),
            st.ip_addresses().map(str),
            st.sampled_from(["[.]", "(.)", "[:]", "/", "//", "hxxp://", "<", ">", "|", ":", ".", "::"]),
        ),
        max_size=12,
    ).map("".join)
)
def test_extract_indicators_never_raises(text: str) -> None:
    for indicator in extract_indicators(text):
        assert parse_indicator(indicator.value) == indicator


@given(st.ip_addresses())
def test_every_address_round_trips(address: object) -> None:
    indicator = parse_indicator(str(address))
    assert parse_indicator(indicator.value) == indicator
    expected = [] if indicator.value == "::" else [indicator.value]  # in prose `::` is punctuation
    assert [i.value for i in extract_indicators(f"seen {address} today")] == expected


@pytest.mark.parametrize(
    "value",
    [
        # Documentation ranges are accepted on purpose: the sample incidents use them.
        "192.0.2.1",
        "198.51.100.23",
        "203.0.113.7",
        "203.0.113.0/24",
        "2001:db8::1",
        "2001:db8:1::/48",
        "8.8.8.8",
        "2600:1f18::1",
        "52.94.0.0/16",
    ],
)
def test_public_and_documentation_indicators_are_accepted(value: str) -> None:
    assert check_indicator(parse_indicator(value), admin=False) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10.0.1.25", "`10.0.1.25` is private (RFC 1918, 10.0.0.0/8)"),
        ("172.16.5.4", "is private (RFC 1918, 172.16.0.0/12)"),
        ("192.168.1.0/24", "is private (RFC 1918, 192.168.0.0/16)"),
        ("fd12:3456::1", "is private (unique local, fc00::/7)"),
        ("127.0.0.1", "is loopback (127.0.0.0/8)"),
        ("::1", "is loopback (::1/128)"),
        ("169.254.169.254", "is link-local"),
        ("fe80::1", "is link-local (fe80::/10)"),
        ("224.0.0.251", "is multicast (224.0.0.0/4)"),
        ("ff02::1", "is multicast (ff00::/8)"),
        ("255.255.255.255", "is reserved"),
        ("240.0.0.1", "is reserved"),
        ("0.1.2.3", "is reserved"),
        ("100.64.0.1", "is shared (carrier-grade NAT"),
        ("4000::1", "is reserved (outside the global unicast space 2000::/3)"),
        ("8.0.0.0/5", "includes private addresses (RFC 1918, 10.0.0.0/8)"),
        ("198.50.0.0/15", "is wider than /16 (131,072 addresses)"),
        ("2600:1f18::/32", "is wider than /48"),
        ("2001:db8::/32", "is wider than /48"),
    ],
)
def test_private_reserved_and_wide_need_an_admin(value: str, reason: str) -> None:
    indicator = parse_indicator(value)
    refusal = check_indicator(indicator, admin=False)
    assert refusal is not None
    assert reason in refusal
    assert refusal.endswith("an admin (FLOWBOT_IOC_ADMINS) can add it")
    assert "\n" not in refusal
    assert check_indicator(indicator, admin=True) is None


def test_every_reason_is_given() -> None:
    refusal = check_indicator(parse_indicator("10.0.0.0/8"), admin=False)
    assert refusal == (
        "`10.0.0.0/8` is private (RFC 1918, 10.0.0.0/8), and is wider than /16 (16,777,216 addresses); "
        "an admin (FLOWBOT_IOC_ADMINS) can add it"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0.0.0.0/0", "is every IPv4 address"),
        ("::/0", "is every IPv6 address"),
        ("0.0.0.0", "is the unspecified address"),
        ("::", "is the unspecified address"),
    ],
)
def test_some_indicators_are_refused_even_for_admins(value: str, reason: str) -> None:
    for admin in (False, True):
        refusal = check_indicator(parse_indicator(value), admin=admin)
        assert refusal is not None
        assert reason in refusal
        assert "admin (FLOWBOT_IOC_ADMINS) can add" not in refusal
