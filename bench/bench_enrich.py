"""Naming the machines (bot/enrich/): what building the lookup structures, naming a result's addresses and
reading the cached inventory from Redis cost, at the sizes of a large account and of AWS's real ranges.

    .venv/bin/python -m bench.bench_enrich [--enis 1000,20000] [--ipv4 9000] [--ipv6 3000] [--rows 100000]
        [--runs 5] [--redis-url redis://127.0.0.1:6379/10]

No AWS and no network: the inputs are built in memory, deterministically, in the shapes the modules take.
- An inventory of N network interfaces as DescribeNetworkInterfaces returns them (NetworkInterface objects,
  1,000 a page) and their instances as DescribeInstances does (Name tags), served by a stub EC2 client's
  paginators, so `fetch_interfaces` and `EniInventory` run as they do against EC2: instances' interfaces
  with a Name tag, NAT gateways', load balancers', VPC endpoints' and Lambdas' interfaces, some with public
  addresses (Elastic IPs in 3.80.0.0/12, an EC2 range), secondary private addresses and IPv6 addresses.
- An ip-ranges.json document shaped like AWS's (`prefixes`, `ipv6_prefixes`, each with `region`, `service`,
  `network_border_group`; specific services' ranges also listed under AMAZON), with about as many prefixes
  as the real file (about 9,000 IPv4 and 3,000 IPv6), plus tests/fixtures/ip-ranges.json's entries.

Figures: the time to build each lookup structure (median of `runs`, each run after a full garbage collection;
the notes give the time with the cyclic collector off, its passes being a large share); the time per 100,000
rows of a `ratio`-shaped result (its two `ip` columns) to add the `<column>_name` columns through
`ColumnNamer` and `write_csv`, as the CSV is written, against the same CSV without names; tracemalloc's peak
while the 20,000-ENI inventory and the ranges are loaded from their cached forms (built from their inputs in
the notes); and the Redis round trip of the cached inventory through `load_inventory` (stored on a miss, then
read on a hit) against FLOWBOT_ENRICH_TIMEOUT_SECONDS' default, the bound the answer waits for it within.
Every figure's answers are checked first (a known address gets its instance's name, a known S3 address `S3
us-east-1`, sampled addresses the longest-prefix answer found by brute force, the cached inventory equal to
the one stored). Prints figures; asserts only its checks.

Redis: the key is the module's own (`ENRICH_ENI_KEY`) for a made-up account and region, deleted afterwards;
nothing else in the database is touched.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import ipaddress
import json
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from redis import Redis

from bench.report import Figure, machine, markdown
from bot.enrich.eni import PAGE_SIZE, EniInventory, fetch_interfaces, load_inventory
from bot.enrich.ip_ranges import GENERIC, IpRanges, parse
from bot.enrich.names import ColumnNamer, Names
from bot.query.catalog import load_catalog
from bot.query.results import Column, Row
from bot.redis_keys import ENRICH_ENI_KEY
from bot.rendering.csv_out import write_csv
from bot.settings import Settings

SECTION = "Naming machines (bot/enrich)"
REDIS_URL = "redis://127.0.0.1:6379/10"
FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "ip-ranges.json"
ACCOUNT, REGION = "000000000000", "bench-enrich-1"
"""A made-up account and region: the bench's cache key can be no real inventory's."""
LIMIT_MS = Settings.model_fields["enrich_timeout_seconds"].default * 1000
PER_ROWS = 100_000
SEED = 7

EIP_RANGE = "3.80.0.0/12"
"""The Elastic IPs of the synthetic interfaces: listed in the document as EC2 us-east-1."""
S3_ADDRESS, S3_NAME = "52.216.20.35", "S3 us-east-1"
"""In the fixture's 52.216.0.0/15, listed as both AMAZON and S3: the specific service names it."""
UNKNOWN_NETS = ("203.0.113.", "198.51.100.", "192.0.2.", "172.31.")
"""Outside every range the document lists and every interface's address: named by nothing."""
V4_FIRST_OCTETS = (
    13,
    15,
    18,
    23,
    34,
    35,
    43,
    44,
    46,
    50,
    63,
    64,
    65,
    76,
    79,
    99,
    107,
    108,
    130,
    150,
    176,
    184,
)
"""First octets of the synthetic IPv4 prefixes: AWS-like, never 3 (the Elastic IPs), 52 or 54 (the
fixture's S3 ranges) nor the unknown networks above."""
V6_TOPS = (0x2406DA00, 0x2A05D000, 0x24056000, 0x2404C2C0, 0x26001F00, 0x2620010F)
"""Top 32 bits of the synthetic IPv6 prefixes."""
SERVICES = {
    "AMAZON": 40,
    "EC2": 25,
    "S3": 4,
    "CLOUDFRONT": 6,
    "ROUTE53_HEALTHCHECKS": 2,
    "DYNAMODB": 2,
    "API_GATEWAY": 4,
    "GLOBALACCELERATOR": 3,
    "AMAZON_CONNECT": 2,
    "CODEBUILD": 2,
    "EC2_INSTANCE_CONNECT": 2,
    "KINESIS_VIDEO_STREAMS": 1,
    "WORKSPACES_GATEWAYS": 1,
    "CHIME_VOICECONNECTOR": 1,
    "EBS": 1,
}
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-south-1",
    "ap-south-2", "ap-east-1", "ca-central-1", "ca-west-1", "sa-east-1", "me-south-1", "me-central-1",
    "af-south-1", "il-central-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "GLOBAL",
)  # fmt: skip
V4_LENGTHS = {11: 1, 12: 1, 13: 2, 14: 3, 15: 4, 16: 8, 17: 6, 18: 7, 19: 6, 20: 7, 21: 6, 22: 9, 23: 6,
              24: 20, 25: 2, 26: 3, 27: 3, 28: 3, 29: 1, 30: 1, 31: 1, 32: 2}  # fmt: skip
V6_LENGTHS = {32: 2, 36: 2, 40: 8, 44: 6, 46: 2, 48: 10, 52: 4, 56: 40, 60: 2, 64: 24}
KINDS = {
    "instance": 70,
    "nat_gateway": 4,
    "load_balancer": 10,
    "vpc_endpoint": 6,
    "lambda": 6,
    "interface": 4,
}
"""What the synthetic interfaces are, by weight: mostly instances', as in an account of EC2 fleets."""
TEAMS = ("payments-api", "checkout-web", "search", "batch-etl", "kafka", "postgres", "redis", "bastion")

T = TypeVar("T")


# --- the inputs ------------------------------------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ip_ranges_document(ipv4: int = 9_000, ipv6: int = 3_000, seed: int = SEED) -> dict[str, Any]:
    """An ip-ranges.json as AWS publishes it, with about `ipv4` and `ipv6` prefixes (the fixture's entries
    and the Elastic IPs' EC2 range first): specific services' prefixes are listed under AMAZON too, half the
    time, as in the real file where AMAZON holds every range."""
    rng = random.Random(seed)
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    v4: list[dict[str, str]] = list(fixture["prefixes"])
    v6: list[dict[str, str]] = list(fixture["ipv6_prefixes"])
    for service in (GENERIC, "EC2"):
        v4.append(_entry("ip_prefix", EIP_RANGE, service, "us-east-1"))

    def add(key: str, out: list[dict[str, str]], prefix: str) -> None:
        service = _pick(rng, SERVICES)
        region = rng.choice(REGIONS) if service != "CLOUDFRONT" else "GLOBAL"
        out.append(_entry(key, prefix, service, region))
        if service != GENERIC and rng.random() < 0.5:
            out.append(_entry(key, prefix, GENERIC, region))

    while len(v4) < ipv4:
        length = _pick(rng, V4_LENGTHS)
        value = rng.choice(V4_FIRST_OCTETS) << 24 | rng.getrandbits(24)
        add("ip_prefix", v4, f"{ipaddress.IPv4Address(value >> (32 - length) << (32 - length))}/{length}")
    while len(v6) < ipv6:
        length = _pick(rng, V6_LENGTHS)
        value = rng.choice(V6_TOPS) << 96 | rng.getrandbits(96)
        add("ipv6_prefix", v6, f"{ipaddress.IPv6Address(value >> (128 - length) << (128 - length))}/{length}")
    return {
        "syncToken": "1764892387",
        "createDate": "2025-12-05-00-33-07",
        "prefixes": v4[:ipv4],
        "ipv6_prefixes": v6[:ipv6],
    }


def _entry(key: str, prefix: str, service: str, region: str) -> dict[str, str]:
    return {key: prefix, "region": region, "service": service, "network_border_group": region}


@dataclass
class Estate:
    """N network interfaces as EC2 describes them, and what each synthetic one is expected to be named."""

    interfaces: list[dict[str, Any]]
    instances: dict[str, dict[str, Any]]
    private: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    expected: dict[str, str] = field(default_factory=dict)
    """address or ENI id -> the start of its CSV name (`Interface.detail()`), for the checks."""


def estate(count: int, seed: int = SEED) -> Estate:
    """`count` NetworkInterface objects (DescribeNetworkInterfaces' shape), their instances' Name tags
    (DescribeInstances'), in 10 VPCs of 8 subnets."""
    rng = random.Random(seed)
    interfaces: list[dict[str, Any]] = []
    instances: dict[str, dict[str, Any]] = {}
    out = Estate(interfaces, instances)
    base = int(ipaddress.IPv4Address("10.0.0.16"))
    eip = int(ipaddress.IPv4Network(EIP_RANGE).network_address) + 256
    v6 = int(ipaddress.IPv6Address("2600:1f18:4000::"))
    for n in range(count):
        kind = _pick(rng, KINDS) if n >= len(KINDS) else list(KINDS)[n]  # each kind at least once
        eni_id = f"eni-0{n:016x}"
        vpc = f"vpc-0{n % 10:016x}"
        subnet = f"subnet-0{n % 80:016x}"
        primary = str(ipaddress.IPv4Address(base + 4 * n))
        privates = [primary] + [
            str(ipaddress.IPv4Address(base + 4 * n + k)) for k in (1, 2)[: rng.randrange(3)]
        ]
        association: dict[str, Any] | None = None
        if kind in {"nat_gateway", "load_balancer"} or rng.random() < 0.15:
            association = {
                "IpOwnerId": "amazon",
                "PublicDnsName": f"ec2-{n}.compute-1.amazonaws.com",
                "PublicIp": str(ipaddress.IPv4Address(eip + n)),
            }
            out.public.append(association["PublicIp"])
        ipv6 = [str(ipaddress.IPv6Address(v6 + n))] if rng.random() < 0.1 else []
        description, attachment, instance = "", None, ""
        if kind == "instance":
            instance = f"i-0{n:016x}"
            name = f"{rng.choice(TEAMS)}-{n}"
            attachment = {
                "AttachTime": datetime(2026, 11, 1, tzinfo=UTC),
                "AttachmentId": f"eni-attach-0{n:016x}",
                "DeleteOnTermination": True,
                "DeviceIndex": 0,
                "NetworkCardIndex": 0,
                "InstanceId": instance,
                "InstanceOwnerId": "123456789012",
                "Status": "attached",
            }
            instances[instance] = {
                "InstanceId": instance,
                "InstanceType": "m6i.large",
                "PrivateIpAddress": primary,
                "State": {"Code": 16, "Name": "running"},
                "Tags": [{"Key": "team", "Value": name.rsplit("-", 1)[0]}, {"Key": "Name", "Value": name}],
            }
            label = f"{name} {instance}"
        elif kind == "nat_gateway":
            description = f"Interface for NAT Gateway nat-0{n:016x}"
            label = f"NAT gateway: {description}"
        elif kind == "load_balancer":
            description = f"ELB app/web-alb-{n}/50dc6c495c0c9188"
            label = f"load balancer: {description}"
        elif kind == "vpc_endpoint":
            description = f"VPC Endpoint Interface vpce-0{n:016x}"
            label = f"VPC endpoint: {description}"
        elif kind == "lambda":
            description = f"AWS Lambda VPC ENI-orders-handler-{n}"
            label = f"Lambda: {description}"
        else:
            label = eni_id
        interfaces.append(
            {
                "Association": association,
                "Attachment": attachment,
                "AvailabilityZone": f"us-east-1{'abcdef'[n % 6]}",
                "Description": description,
                "Groups": [
                    {"GroupId": f"sg-0{n % 50:016x}", "GroupName": f"group-{n % 50}"},
                    {"GroupId": f"sg-1{n % 7:016x}", "GroupName": "default"},
                ],
                "InterfaceType": kind,
                "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": False} for a in ipv6],
                "MacAddress": "0e:" + ":".join(f"{n >> shift & 255:02x}" for shift in (24, 16, 8, 0)) + ":01",
                "NetworkInterfaceId": eni_id,
                "OwnerId": "123456789012",
                "PrivateDnsName": f"ip-{primary.replace('.', '-')}.ec2.internal",
                "PrivateIpAddress": primary,
                "PrivateIpAddresses": [
                    {
                        "Primary": k == 0,
                        "PrivateDnsName": f"ip-{a.replace('.', '-')}.ec2.internal",
                        "PrivateIpAddress": a,
                        **({"Association": association} if k == 0 and association else {}),
                    }
                    for k, a in enumerate(privates)
                ],
                "RequesterManaged": kind not in {"instance", "interface"},
                "SourceDestCheck": True,
                "Status": "in-use",
                "SubnetId": subnet,
                "TagSet": [{"Key": "Name", "Value": f"the interface's own tag {n}"}],
                "VpcId": vpc,
            }
        )
        out.private += privates
        out.ipv6 += ipv6
        for key in (eni_id, *privates, *ipv6, *([association["PublicIp"]] if association else [])):
            out.expected[key] = label
    return out


class _Paginator:
    def __init__(self, pages: Callable[..., Iterator[dict[str, Any]]]) -> None:
        self.paginate = pages


class StubEc2:
    """An EC2 client's two paginators, answering from memory as EC2 does (1,000 interfaces a page; the
    instances a filter names, one reservation each)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.calls = 0

    def get_paginator(self, name: str) -> _Paginator:
        pages: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {
            "describe_network_interfaces": self._interfaces,
            "describe_instances": self._instances,
        }
        return _Paginator(pages[name])

    def _interfaces(self, **_: Any) -> Iterator[dict[str, Any]]:
        everything = self.estate.interfaces
        for start in range(0, len(everything), PAGE_SIZE):
            self.calls += 1
            yield {"NetworkInterfaces": everything[start : start + PAGE_SIZE]}

    def _instances(self, Filters: list[dict[str, Any]], **_: Any) -> Iterator[dict[str, Any]]:
        self.calls += 1
        (wanted,) = [f["Values"] for f in Filters if f["Name"] == "instance-id"]
        found = [self.estate.instances[i] for i in wanted if i in self.estate.instances]
        yield {
            "Reservations": [{"ReservationId": f"r-{i['InstanceId'][2:]}", "Instances": [i]} for i in found]
        }


def build_inventory(made: Estate) -> EniInventory:
    """The inventory as `load_inventory` builds it on a miss: every page read, instances named, indexed."""
    return EniInventory(ACCOUNT, REGION, fetch_interfaces(StubEc2(made)))


# --- the checks ------------------------------------------------------------------------------------------


def _longest_match(networks: list[tuple[Any, str, str]], address: str) -> str | None:
    """The name `IpRanges.lookup` must give, by brute force over every range: at the longest prefix length
    that holds a specific service, its services and first region; else the longest AMAZON range's."""
    ip = ipaddress.ip_address(address)
    matches = [(n.prefixlen, s, r) for n, s, r in networks if n.version == ip.version and ip in n]
    generic = None
    for length in sorted({m[0] for m in matches}, reverse=True):
        here = [(s, r) for n, s, r in matches if n == length]
        specific = [(s, r) for s, r in here if s != GENERIC]
        if specific:
            return f"{'/'.join(dict.fromkeys(s for s, _ in specific))} {specific[0][1]}"
        generic = generic or here[0]
    return f"{generic[0]} {generic[1]}" if generic else None


def _random_in(rng: random.Random, prefix: str) -> str:
    network = ipaddress.ip_network(prefix)
    return str(network.network_address + rng.randrange(network.num_addresses))


def check_ranges(ranges: IpRanges, document: dict[str, Any], samples: int = 40) -> None:
    """The fixture's S3 address, the Elastic IPs' range, unknown addresses, and sampled addresses against
    the brute-force longest match."""
    assert ranges.lookup(S3_ADDRESS) == S3_NAME, ranges.lookup(S3_ADDRESS)
    assert ranges.lookup("52.218.3.4") == "S3 eu-west-1"
    assert ranges.lookup("3.95.255.1") == "EC2 us-east-1"
    assert ranges.lookup("2600:1f18::1") == "EC2 us-east-1"
    for net in UNKNOWN_NETS:
        assert ranges.lookup(f"{net}77") is None, net
    networks = [(ipaddress.ip_network(p, strict=False), s, r) for p, s, r in ranges.triples]
    rng = random.Random(SEED)
    entries = document["prefixes"] + document["ipv6_prefixes"]
    for entry in rng.sample(entries, min(samples, len(entries))):
        address = _random_in(rng, entry.get("ip_prefix") or entry["ipv6_prefix"])
        assert ranges.lookup(address) == _longest_match(networks, address), address


def check_inventory(inventory: EniInventory, made: Estate) -> None:
    """Every interface indexed; sampled addresses and ENI ids named as expected (instances by their
    Name tag, a public address by the interface that holds it, not by its EC2 range)."""
    assert len(inventory.by_eni) == len(made.interfaces)
    assert len(inventory.by_address) == len(made.private) + len(made.public) + len(made.ipv6)
    rng = random.Random(SEED)
    keys = list(made.expected)
    for key in [*keys[: len(KINDS)], *rng.sample(keys, min(200, len(keys)))]:
        found = inventory.by_eni.get(key) or inventory.by_address[key][0]
        assert found.label() == made.expected[key], (key, found.label(), made.expected[key])
    first = made.interfaces[0]
    (web,) = inventory.by_address[first["PrivateIpAddress"]]
    assert web.detail() == (
        f"{made.expected[first['PrivateIpAddress']]}; {first['VpcId']}; {first['SubnetId']}; "
        + " ".join(g["GroupId"] for g in first["Groups"])
    )


# --- measuring -------------------------------------------------------------------------------------------


def _timed(make: Callable[[], T], runs: int, *, collector: bool = True) -> tuple[T, float]:
    """The last result and the median seconds of `runs` calls, each after a full garbage collection (so no
    run pays for the garbage of the one before); `collector=False` times them with the cyclic garbage
    collector off, to show its share."""
    times, result = [], None
    for _ in range(runs):
        result = None
        gc.collect()
        if not collector:
            gc.disable()
        try:
            started = time.perf_counter()
            result = make()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return result, statistics.median(times)  # type: ignore[return-value]


def _peak(make: Callable[[], T]) -> tuple[T, float, float]:
    """The result, tracemalloc's peak while it was made and what it still holds after (MB)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = make()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 1e6, current / 1e6


def ratio_rows(
    made: Estate, document: dict[str, Any], rows: int, seed: int = SEED
) -> tuple[list[Row], dict[str, int]]:
    """`rows` rows of `ratio`'s shape (sourceaddress, destinationaddress, records, bytes, bytes/record,
    first, last): every pair has the asked-for address on one side (an instance's), the other drawn from the
    interfaces' private, public and IPv6 addresses, AWS's ranges (IPv4 and IPv6) and unknown addresses.
    Also how many of each kind were drawn."""
    rng = random.Random(seed)
    asked = made.private[0]
    v4 = [e["ip_prefix"] for e in document["prefixes"]]
    v6 = [e["ipv6_prefix"] for e in document["ipv6_prefixes"]]
    draws: dict[str, Callable[[], str]] = {
        "private": lambda: rng.choice(made.private),
        "public": lambda: rng.choice(made.public),
        "eni ipv6": lambda: rng.choice(made.ipv6),
        "ranges": lambda: _random_in(rng, rng.choice(v4)),
        "ranges ipv6": lambda: _random_in(rng, rng.choice(v6)),
        "unknown": lambda: f"{rng.choice(UNKNOWN_NETS)}{rng.randrange(256)}",
    }
    weights = {"private": 45, "public": 8, "eni ipv6": 2 if made.ipv6 else 0, "ranges": 25, "ranges ipv6": 5}
    weights["unknown"] = 15
    counts = dict.fromkeys(draws, 0)
    out: list[Row] = []
    for n in range(rows):
        kind = _pick(rng, weights)
        counts[kind] += 1
        other = draws[kind]()
        records = rng.randrange(1, 5_000)
        total = records * rng.randrange(40, 9_000)
        pair = (asked, other) if n % 2 else (other, asked)
        out.append((*pair, records, total, total // records, "2026-11-19 00:00:05", "2026-11-19 23:59:41"))
    return out, counts


def _csv(columns: list[Column], rows: list[Row], namer: ColumnNamer | None, batch: int = 1_000) -> str:
    """The CSV as the answer writes it: `write_csv` over batches, names appended by `namer.extend`."""
    out = io.StringIO()
    batches = (rows[i : i + batch] for i in range(0, len(rows), batch))
    if namer is not None:
        stream = write_csv(out, columns + namer.columns(), batches, namer.extend)
    else:
        stream = write_csv(out, columns, batches)
    for _ in stream:
        pass
    return out.getvalue()


def _check_csv(text: str, rows: list[Row], counts: dict[str, int], made: Estate) -> None:
    """A name for every address but the unknown ones; the known ones named as expected."""
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][-2:] == ["sourceaddress_name", "destinationaddress_name"], lines[0]
    assert len(lines) == len(rows) + 1
    empty = sum(1 for line in lines[1:] for cell in line[-2:] if not cell)
    assert empty == counts["unknown"], (empty, counts)
    for line in lines[1:200]:
        for address, name in ((line[0], line[-2]), (line[1], line[-1])):
            if address in made.expected:
                assert name.startswith(made.expected[address] + ";"), (address, name)
            elif address.startswith("52.216.") or address.startswith("52.217."):
                assert name == S3_NAME, (address, name)


def _naming(
    made: Estate, inventory: EniInventory, ranges: IpRanges, document: dict[str, Any], rows: int, runs: int
) -> list[Figure]:
    """A `ratio` result's two address columns named as the CSV is written, against the CSV without names."""
    template = load_catalog()["ratio"]
    columns = [Column(c.name, c.type) for c in template.columns]
    result, drawn = ratio_rows(made, document, rows)
    names = Names(inventories=[inventory], ranges=ranges)
    _check_csv(_csv(columns, result, ColumnNamer(names, template.columns, columns)), result, drawn, made)
    _, plain = _timed(lambda: _csv(columns, result, None), runs)
    _, named = _timed(lambda: _csv(columns, result, ColumnNamer(names, template.columns, columns)), runs)

    def naming_only() -> None:
        namer = ColumnNamer(names, template.columns, columns)
        for row in result:
            namer.extend(row)

    _, alone = _timed(naming_only, runs)
    distinct = len({r[0] for r in result} | {r[1] for r in result})
    others = [r[1] if r[0] == made.private[0] else r[0] for r in result]
    public_values = [v for v in others if v not in inventory.by_address]
    _, lookups = _timed(lambda: [ranges.lookup(v) for v in public_values], runs)
    scale = PER_ROWS / rows
    mix = ", ".join(f"{v:,} {k}" for k, v in drawn.items())
    return [
        Figure(
            SECTION,
            f"`ratio` CSV with `_name` columns (ColumnNamer), per {PER_ROWS:,} rows",
            named * scale * 1000,
            "ms",
            plain * scale * 1000,
            "the same CSV without names",
            note=f"median of {runs} over {rows:,} rows, each namer fresh; one side the asked-for address, "
            f"the other drawn: {mix}; {distinct:,} distinct addresses (each named once: memoised)",
        ),
        Figure(
            SECTION,
            f"naming alone (`ColumnNamer.extend`), per {PER_ROWS:,} rows",
            alone * scale * 1000,
            "ms",
            named * scale * 1000,
            "CSV with names",
            note=f"of which `IpRanges.lookup` of the {len(public_values):,} addresses no interface holds: "
            f"{lookups * 1000:,.0f} ms ({lookups / max(len(public_values), 1) * 1e6:.1f} µs each)",
        ),
    ]


def figures(
    redis_url: str = REDIS_URL,
    *,
    sizes: tuple[int, ...] = (1_000, 20_000),
    ipv4: int = 9_000,
    ipv6: int = 3_000,
    rows: int = PER_ROWS,
    runs: int = 5,
) -> list[Figure]:
    """Build the inputs, check every answer, then measure."""
    out: list[Figure] = []
    largest = max(sizes)

    # The interfaces: from DescribeNetworkInterfaces' pages to the inventory's indexes.
    built: dict[int, tuple[EniInventory, Estate, float]] = {}
    for size in sorted(sizes):
        made = estate(size)
        ec2 = StubEc2(made)
        inventory = EniInventory(ACCOUNT, REGION, fetch_interfaces(ec2))
        check_inventory(inventory, made)
        calls = ec2.calls
        _, seconds = _timed(partial(build_inventory, made), runs)
        _, index_seconds = _timed(partial(EniInventory, ACCOUNT, REGION, inventory.interfaces), runs)
        _, gc_off = _timed(partial(build_inventory, made), runs, collector=False)
        built[size] = (inventory, made, seconds)
        smaller = [s for s in sizes if s < size]
        reference, reference_what = LIMIT_MS, "limit"
        if smaller:
            reference, reference_what = built[max(smaller)][2] * 1000, f"{max(smaller):,} ENIs"
        out.append(
            Figure(
                SECTION,
                f"build the inventory of {size:,} ENIs from DescribeNetworkInterfaces pages",
                seconds * 1000,
                "ms",
                reference,
                reference_what,
                note=f"median of {runs}; {len(inventory.by_address):,} addresses, {calls} EC2 calls "
                f"(interface pages, DescribeInstances batches) answered from memory; the indexes alone "
                f"(`EniInventory` from its interfaces) {index_seconds * 1000:,.1f} ms; with the cyclic "
                f"garbage collector off {gc_off * 1000:,.1f} ms",
            )
        )
    inventory, made, _ = built[largest]

    # AWS's ranges: from the parsed document, and from their cached form.
    document = ip_ranges_document(ipv4, ipv6)
    text = json.dumps(document)
    ranges = parse(document)
    check_ranges(ranges, document)
    cached = ranges.dumps()
    assert IpRanges.loads(cached).triples == ranges.triples
    _, read_seconds = _timed(lambda: json.loads(text), runs)
    _, parse_seconds = _timed(lambda: parse(document), runs)
    _, loads_seconds = _timed(lambda: IpRanges.loads(cached), runs)
    counts_note = f"{len(document['prefixes']):,} IPv4 and {len(document['ipv6_prefixes']):,} IPv6 prefixes"
    out += [
        Figure(
            SECTION,
            "build the IP ranges' index from the parsed ip-ranges.json (`parse`)",
            parse_seconds * 1000,
            "ms",
            read_seconds * 1000,
            f"`json.loads` of the file, {len(text) / 1e6:.1f} MB",
            note=f"median of {runs}; {counts_note}",
        ),
        Figure(
            SECTION,
            "load the IP ranges from their cached form (`IpRanges.loads`, each answer's path)",
            loads_seconds * 1000,
            "ms",
            LIMIT_MS,
            "limit",
            note=f"median of {runs}; {len(cached) / 1e6:.2f} MB cached; the index is rebuilt on every load",
        ),
    ]

    # Naming a `ratio` result's two address columns, as the CSV is written.
    out += _naming(made, inventory, ranges, document, rows, max(runs // 2, 1))

    # Memory: the inventory's structures and the parsed ranges.
    # From the cached forms (each answer's path) every string is the structures' own; built from EC2's pages
    # or the parsed file, they share their strings with those inputs, which were allocated before tracing.
    gc.collect()
    inventory_json = inventory.dumps()
    _, peak, kept = _peak(lambda: EniInventory.loads(ACCOUNT, REGION, inventory_json))
    _, pages_peak, pages_kept = _peak(partial(build_inventory, made))
    _, ranges_peak, ranges_kept = _peak(lambda: IpRanges.loads(cached))
    _, parse_peak, parse_kept = _peak(lambda: parse(document))
    out += [
        Figure(
            SECTION,
            f"peak memory (tracemalloc), inventory of {largest:,} ENIs loaded from its cached JSON",
            peak,
            "MB",
            len(inventory_json) / 1e6,
            "its cached JSON",
            note=f"{kept:.1f} MB kept after (`EniInventory.loads`); built from EC2's pages instead: peak "
            f"{pages_peak:.1f} MB, {pages_kept:.1f} MB kept, its strings shared with the pages (not counted)",
        ),
        Figure(
            SECTION,
            "peak memory (tracemalloc), IP ranges loaded from their cached form",
            ranges_peak,
            "MB",
            len(text) / 1e6,
            "the file's JSON",
            note=f"{ranges_kept:.1f} MB kept after (`IpRanges.loads`); `parse` of the parsed file instead: "
            f"peak {parse_peak:.1f} MB, {parse_kept:.1f} MB kept (prefix strings shared); {counts_note}",
        ),
    ]

    # The Redis round trip of the cached inventory, through the module's own cache functions. What the
    # figures above needed is let go first: the collector's passes cost in proportion to the live objects,
    # and a worker holds its modules, clients and inventories, not this bench's inputs.
    del built, inventory, ranges
    gc.collect()
    tracked = len(gc.get_objects())
    redis = Redis.from_url(redis_url)
    key = ENRICH_ENI_KEY.format(account=ACCOUNT, region=REGION)
    try:
        redis.delete(key)
        stub = StubEc2(made)
        ttl = Settings.model_fields["enrich_eni_ttl_seconds"].default
        started = time.perf_counter()
        stored = load_inventory(redis, lambda: stub, ACCOUNT, REGION, ttl)  # a miss: fetched, then stored
        store_seconds = time.perf_counter() - started
        size = redis.strlen(key)
        assert stub.calls and 0 < redis.ttl(key) <= ttl, (stub.calls, redis.ttl(key))

        def no_ec2() -> Any:
            raise AssertionError("the inventory was cached: EC2 must not be asked")

        loaded, load_seconds = _timed(lambda: load_inventory(redis, no_ec2, ACCOUNT, REGION, ttl), runs)
        _, gc_off = _timed(lambda: load_inventory(redis, no_ec2, ACCOUNT, REGION, ttl), runs, collector=False)
        assert loaded.dumps() == stored.dumps() == inventory_json
        check_inventory(loaded, made)
        _, get_seconds = _timed(lambda: redis.get(key), runs)
    finally:
        redis.delete(key)
        redis.close()
    out.append(
        Figure(
            SECTION,
            f"Redis round trip: load the cached inventory of {largest:,} ENIs (`load_inventory`, a hit)",
            load_seconds * 1000,
            "ms",
            LIMIT_MS,
            "limit: FLOWBOT_ENRICH_TIMEOUT_SECONDS",
            note=f"median of {runs}; {size / 1e6:.1f} MB in Redis; the GET alone "
            f"{get_seconds * 1000:,.1f} ms, the rest `EniInventory.loads`; storing it (a miss: fetched "
            f"from the stub, dumped, SET) {store_seconds * 1000:,.0f} ms; with the cyclic garbage collector "
            f"off the load takes {gc_off * 1000:,.0f} ms ({tracked:,} objects tracked by the collector "
            "before it; a worker with its EC2, Athena and S3 clients about 165,000)",
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enis", default="1000,20000", help="inventory sizes, comma-separated")
    parser.add_argument("--ipv4", type=int, default=9_000, help="IPv4 prefixes in the ranges document")
    parser.add_argument("--ipv6", type=int, default=3_000, help="IPv6 prefixes in the ranges document")
    parser.add_argument("--rows", type=int, default=PER_ROWS, help="rows of the `ratio` result")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.enis.split(","))
    print(f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.")
    print(
        markdown(
            figures(
                args.redis_url, sizes=sizes, ipv4=args.ipv4, ipv6=args.ipv6, rows=args.rows, runs=args.runs
            )
        )
    )


if __name__ == "__main__":
    main()
