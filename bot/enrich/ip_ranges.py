"""Which AWS service and region a public address belongs to, from AWS's published `ip-ranges.json`.

The file's format ("AWS IP address ranges", Amazon VPC User Guide,
https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html and its syntax page
https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-syntax.html): `prefixes` (each `ip_prefix`,
`region`, `service`, `network_border_group`) and `ipv6_prefixes` (the same with `ipv6_prefix`), plus the
`syncToken` of the publication. `AMAZON` holds every Amazon address, so a range of a specific service is
also listed under `AMAZON`: an address is named by the longest matching prefix of a specific service, and
by `AMAZON` only when no specific service holds it. `region` may be `GLOBAL`.

The triples are cached in Redis (`ENRICH_IP_RANGES_KEY`) for FLOWBOT_ENRICH_IP_RANGES_TTL_SECONDS, so the
file is fetched again on that schedule, by whichever worker first needs it after the key expired.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redis import Redis

from bot.redis_keys import ENRICH_IP_RANGES_KEY

GENERIC = "AMAZON"
"""The service name of the ranges that hold every Amazon address (the specific services are subsets)."""
MAX_BYTES = 64 << 20
"""More than the file will ever be (a few MB today): a bound on what a wrong URL can make a worker read."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IpRanges:
    """The published ranges, indexed by prefix length for longest-prefix lookups."""

    def __init__(self, triples: Iterable[tuple[str, str, str]], sync_token: str = "") -> None:
        self.sync_token = sync_token
        self.triples = list(triples)
        # version -> prefix length -> network address -> [(service, region)]
        self._index: dict[int, dict[int, dict[int, list[tuple[str, str]]]]] = {
            4: defaultdict(dict),
            6: defaultdict(dict),
        }
        for prefix, service, region in self.triples:
            network: Network = ipaddress.ip_network(prefix, strict=False)
            by_address = self._index[network.version][network.prefixlen]
            by_address.setdefault(int(network.network_address), []).append((service, region))
        self._lengths = {v: sorted(index, reverse=True) for v, index in self._index.items()}

    def lookup(self, address: str) -> str | None:
        """`S3 us-east-1` for 52.216.20.35; None for an address outside every range (or not an address)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        bits = 32 if ip.version == 4 else 128
        value = int(ip)
        generic: tuple[str, str] | None = None
        for length in self._lengths[ip.version]:
            masked = value >> (bits - length) << (bits - length) if length else 0
            found = self._index[ip.version][length].get(masked)
            if not found:
                continue
            specific = [(s, r) for s, r in found if s != GENERIC]
            if specific:
                services = "/".join(dict.fromkeys(s for s, _ in specific))
                return f"{services} {specific[0][1]}"
            if generic is None:
                generic = found[0]
        return f"{generic[0]} {generic[1]}" if generic else None

    def dumps(self) -> str:
        """The cached form: the triples and the file's syncToken."""
        return json.dumps({"syncToken": self.sync_token, "ranges": self.triples}, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str | bytes) -> IpRanges:
        data = json.loads(text)
        return cls((tuple(t) for t in data["ranges"]), str(data.get("syncToken", "")))


def parse(document: dict[str, Any]) -> IpRanges:
    """AWS's file, as published, to its (prefix, service, region) triples."""
    triples = [(p["ip_prefix"], p["service"], p["region"]) for p in document.get("prefixes", [])]
    triples += [(p["ipv6_prefix"], p["service"], p["region"]) for p in document.get("ipv6_prefixes", [])]
    return IpRanges(triples, str(document.get("syncToken", "")))


def read_source(source: str, timeout: float) -> dict[str, Any]:
    """The file from an http(s) URL or a local path."""
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310  # scheme checked
            body = response.read(MAX_BYTES + 1)
    else:
        body = Path(source.removeprefix("file://")).read_bytes()
    if len(body) > MAX_BYTES:
        raise ValueError(f"{source} is larger than {MAX_BYTES} bytes: not AWS's ip-ranges.json")
    document = json.loads(body)
    if not isinstance(document, dict) or "prefixes" not in document:
        raise ValueError(f"{source} has no `prefixes`: not AWS's ip-ranges.json")
    return document


def load_ip_ranges(redis: Redis | None, source: str, ttl_seconds: int, timeout: float) -> IpRanges:
    """The ranges from Redis, or fetched from `source` and kept there for `ttl_seconds`."""
    if redis is not None:
        cached = redis.get(ENRICH_IP_RANGES_KEY)
        if cached is not None:
            return IpRanges.loads(cached)
    ranges = parse(read_source(source, timeout))
    if redis is not None:
        redis.set(ENRICH_IP_RANGES_KEY, ranges.dumps(), ex=ttl_seconds)
    return ranges
