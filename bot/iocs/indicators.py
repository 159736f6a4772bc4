"""Indicators of compromise: one IP address or CIDR range, in one canonical spelling.

Responders paste indicators from alerts, tickets and chat, so the text arrives defanged
(`203.0.113[.]7`, `hxxp://…`), wrapped in Slack links, or buried in a sentence. Everything is turned
into an `Indicator` here, once, so the store, the hunts and Athena's `incident_iocs` table all see
the same string for the same address (`2600:1f18::1`, never `2600:1f18:0:0::1`).

Host bits are refused, not normalised: `10.1.2.3/16` may mean the host or the range, and guessing
wrong either misses traffic or floods a hunt, so the error names both spellings. (In free text,
`extract_indicators` reads that notation as the address alone: it is how interfaces are written.)

Defanging and Slack's link form are undone by `bot.parse.command` (`normalise`, `refang`), the same code
the `/flow` parser uses, so an indicator is understood wherever a responder types it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_interface,
    ip_network,
)

from bot.echo import shown
from bot.identifiers import canonical_network
from bot.words import normalise, refang

Network = IPv4Network | IPv6Network

FORMS = "an IP address or CIDR range, e.g. 203.0.113.7, 2600:1f18::1 or 10.1.0.0/16"
WIDEST_PREFIX = {4: 16, 6: 48}
"""Ranges wider than this (a shorter prefix) need an admin: they would sweep up unrelated traffic."""
ADMIN_NOTE = "an admin (FLOWBOT_IOC_ADMINS) can add it"

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(?:\[:\]|:)//")
_TRAILING_PUNCTUATION = ",;."
_CANDIDATE = re.compile(
    # IPv6: a run of hex digits and at least two colons, maybe ending in a dotted quad, maybe /prefix.
    r"(?P<v6>(?<![\w:.])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]+"
    r"(?:\d{1,3}(?:\.\d{1,3}){3})?(?:/\d{1,3})?(?![\w:]|\.\d))"
    # IPv4: exactly four dotted numbers (so `1.2.3` and `1.3.6.1.4.1` are not addresses), maybe /prefix.
    r"|(?P<v4>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,3})?(?!\w|\.\d))"
)


class IndicatorError(ValueError):
    """What was wrong with an indicator and the form it takes, in one line a responder can act on."""


@dataclass(frozen=True)
class Indicator:
    """One IP address or CIDR range; `value` is canonical, so equal indicators compare equal."""

    value: str

    def __post_init__(self) -> None:
        """Only canonical text is an Indicator: build one with `parse_indicator` from anything else."""
        try:
            network = ip_network(self.value, strict=True)
        except ValueError:
            raise IndicatorError(f"`{shown(self.value)}` is not {FORMS}") from None
        if canonical_network(network) != self.value:
            raise IndicatorError(f"`{shown(self.value)}` is written {canonical_network(network)} here")

    @property
    def network(self) -> Network:
        """The range it covers; a single address is a /32 (IPv4) or /128 (IPv6)."""
        return ip_network(self.value)

    @property
    def is_range(self) -> bool:
        """More than one address."""
        network = self.network
        return network.prefixlen < network.max_prefixlen

    @property
    def slug(self) -> str:
        """A file- and S3-safe key part, one per indicator: `10.1.0.0_16`, `2600-1f18--1`."""
        return self.value.replace(":", "-").replace("/", "_")


def _url_host(text: str) -> str:
    """The host of `scheme://user@host:port/path`: a URL names a host, its path is no prefix."""
    text = _URL_SCHEME.sub("", text, count=1)
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def _single(address: IPv4Address | IPv6Address) -> Indicator:
    """An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is the IPv4 address flow logs record."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return Indicator(str(address))


def parse_indicator(text: str) -> Indicator:
    """One indicator as typed or pasted (defanged, Slack-linked, a URL); `IndicatorError` otherwise."""
    words = normalise(text)
    if not words:
        raise IndicatorError(f"no indicator given: give {FORMS}")
    if len(words) > 1:
        raise IndicatorError(f"`{shown(text)}` is more than one word: give one indicator, {FORMS}")
    word = words[0]
    is_url = _URL_SCHEME.match(word) is not None
    value = refang(word.rstrip(_TRAILING_PUNCTUATION)).rstrip(_TRAILING_PUNCTUATION)
    if is_url:
        value = _url_host(value)
    if "%" in value:
        raise IndicatorError(f"`{shown(word)}` has a zone (%…); give the address alone, {FORMS}")
    if "/" not in value:
        try:
            return _single(ip_address(value))
        except ValueError:
            raise IndicatorError(f"`{shown(word)}` is not {FORMS}") from None
    try:
        return Indicator(canonical_network(ip_network(value, strict=True)))
    except ValueError:
        pass
    try:
        interface = ip_interface(value)
    except ValueError:
        raise IndicatorError(f"`{shown(word)}` is not {FORMS}") from None
    raise IndicatorError(
        f"`{shown(word)}` has host bits set: the range is {canonical_network(interface.network)}, "
        f"the single address {interface.ip}"
    )


def _from_candidate(candidate: str, in_url: bool) -> Indicator | None:
    """An indicator from a regex candidate, or None when it is no address after all."""
    address, _, prefix = candidate.partition("/")
    if not any(ch.isalnum() for ch in address):
        return None  # `::` in prose is punctuation, not the unspecified address
    if address.endswith(":") and not address.endswith("::"):
        address = address[:-1]  # a sentence's colon: "seen from 2600:1f18::1: twice"
    try:
        single = _single(ip_address(address))
    except ValueError:
        return None
    if not prefix or in_url:  # in a URL, `/16` is a path
        return single
    try:
        return Indicator(canonical_network(ip_network(f"{address}/{prefix}", strict=True)))
    except ValueError:
        return single  # host bits set (an interface's notation) or no valid prefix: the address


def extract_indicators(text: str) -> list[Indicator]:
    """Every IPv4/IPv6 address or range in free text (an alert, a Slack message), deduplicated, in order."""
    found: dict[str, Indicator] = {}
    for word in normalise(text):
        in_url = _URL_SCHEME.search(word) is not None
        for match in _CANDIDATE.finditer(refang(word)):
            indicator = _from_candidate(match.group(), in_url)
            if indicator is not None:
                found.setdefault(indicator.value, indicator)
    return list(found.values())


@dataclass(frozen=True)
class _Special:
    """An address block that is no sensible indicator without an admin's say-so."""

    network: Network
    kind: str
    note: str = ""

    def phrase(self, network: Network) -> str | None:
        """How `network` relates to this block, or None when they do not overlap."""
        where = f"{self.note}, {self.network}" if self.note else str(self.network)
        if _within(network, self.network):
            return f"is {self.kind} ({where})"
        if _within(self.network, network):
            return f"includes {self.kind} addresses ({where})"
        return None


def _within(inner: Network, outer: Network) -> bool:
    """`inner` lies inside `outer` (False across IP versions)."""
    if isinstance(inner, IPv4Network) and isinstance(outer, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, IPv6Network) and isinstance(outer, IPv6Network):
        return inner.subnet_of(outer)
    return False


# Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are ACCEPTED on
# purpose: the sample incidents and tests use them. This is also why `ipaddress`'s `is_private` is not
# used here: it counts those ranges as private.
_SPECIAL = (
    _Special(IPv4Network("0.0.0.0/8"), "reserved", '"this network"'),
    _Special(IPv4Network("10.0.0.0/8"), "private", "RFC 1918"),
    _Special(IPv4Network("100.64.0.0/10"), "shared", "carrier-grade NAT, RFC 6598"),
    _Special(IPv4Network("127.0.0.0/8"), "loopback"),
    _Special(IPv4Network("169.254.0.0/16"), "link-local", "where the instance metadata service lives"),
    _Special(IPv4Network("172.16.0.0/12"), "private", "RFC 1918"),
    _Special(IPv4Network("192.0.0.0/24"), "reserved", "IETF protocol assignments"),
    _Special(IPv4Network("192.168.0.0/16"), "private", "RFC 1918"),
    _Special(IPv4Network("198.18.0.0/15"), "reserved", "benchmarking, RFC 2544"),
    _Special(IPv4Network("224.0.0.0/4"), "multicast"),
    _Special(IPv4Network("240.0.0.0/4"), "reserved", "future use and broadcast"),
    _Special(IPv6Network("::1/128"), "loopback"),
    _Special(IPv6Network("::ffff:0:0/96"), "IPv4-mapped", "give the IPv4 address or range instead"),
    _Special(IPv6Network("100::/64"), "reserved", "discard-only, RFC 6666"),
    _Special(IPv6Network("fc00::/7"), "private", "unique local"),
    _Special(IPv6Network("fe80::/10"), "link-local"),
    _Special(IPv6Network("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")


def check_indicator(indicator: Indicator, *, admin: bool) -> str | None:
    """Why this indicator may not be added by this person (one line), or None when it may."""
    network = indicator.network
    shown = f"`{indicator.value}`"
    if network.prefixlen == 0:
        return f"{shown} is every IPv{network.version} address: it cannot be an indicator, even for an admin"
    if network.prefixlen == network.max_prefixlen and network.network_address.is_unspecified:
        return f"{shown} is the unspecified address: no flow-log peer has it, so it cannot be an indicator"
    if admin:
        return None
    reasons = [p for p in (s.phrase(network) for s in _SPECIAL) if p is not None]
    if network.version == 6 and not reasons and not _within(network, _GLOBAL_UNICAST_V6):
        reasons.append(f"is reserved (outside the global unicast space {_GLOBAL_UNICAST_V6})")
    widest = WIDEST_PREFIX[network.version]
    if network.prefixlen < widest:
        size = f" ({network.num_addresses:,} addresses)" if network.version == 4 else ""
        reasons.append(f"is wider than /{widest}{size}")
    if not reasons:
        return None
    return f"{shown} {', and '.join(reasons)}; {ADMIN_NOTE}"
