"""Deterministic sample VPC Flow Logs, written in the exact layout AWS delivers to S3.

Flowbot has to be tried, demonstrated and tested without an AWS account, so this module writes a few
days of realistic default-format (version 2) flow logs under `<root>/AWSLogs/...`, exactly as the
`vpcflow` table's partition projection expects them: foldered by *delivery* time, gzip text with a
header line, `-` for a field that does not apply. Three incidents are planted so that the playbook's
queries have something to find (see `INCIDENTS`).

Given a custom log format (`generate(..., log_format=V5_FORMAT)`), the same traffic is written with the
format's fields in its order, the version 3-5 fields filled as AWS fills them (see `_CustomFormatter`), and
a few connections through a NAT gateway are added, whose packet-level addresses (`pkt-srcaddr`,
`pkt-dstaddr`) differ from the addresses of the records on the gateway's network interface.

Same arguments give byte-identical files: every random choice comes from `random.Random` instances
seeded from `seed`, and gzip is written with mtime 0 and no embedded file name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import NamedTuple

from bot.flowlog_format import parse_log_format
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.samples.parquet import write_ocsf, write_parquet

# --------------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class Incident:
    """One planted incident: what it is and the command that shows it (README, demo, tests)."""

    name: str
    description: str
    example_command: str


@dataclass(frozen=True)
class GenerationReport:
    """What `generate` wrote.

    `first_day`/`last_day` are the first and last *folder* (delivery) days, i.e. the date_partition
    range a query must cover; the last one holds the records that ended just before `end`.
    """

    root: Path
    files: int
    records: int
    first_day: date
    last_day: date
    accounts: tuple[str, ...]
    regions: tuple[str, ...]


MAIN_ACCOUNT = "012345678901"
"""Starts with 0 on purpose: it must stay a string everywhere."""
SECOND_ACCOUNT = "111122223333"

EXFIL_HOST = "10.0.1.25"
EXFIL_PEER = "203.0.113.66"
EXFIL_PORT = 443
BRUTE_FORCE_SOURCE = "198.51.100.23"
BRUTE_FORCE_PORT = 22
MINER_HOST = "10.0.2.40"
MINING_POOL = "192.0.2.77"
MINING_PORT = 3333

INCIDENTS: tuple[Incident, ...] = (
    Incident(
        name="exfiltration",
        description=(
            f"{EXFIL_HOST} (account {MAIN_ACCOUNT}, us-east-1) uploads gigabytes to "
            f"{EXFIL_PEER}:{EXFIL_PORT} over a few hours of the last day; the pair tops its data-ratio "
            "list by far, above the host's ordinary traffic with internal and AWS peers."
        ),
        example_command=f"ratio {EXFIL_HOST}",
    ),
    Incident(
        name="ssh-brute-force",
        description=(
            f"{BRUTE_FORCE_SOURCE} tries port {BRUTE_FORCE_PORT} on many internal hosts of both accounts in "
            "bursts on every day; almost all attempts are REJECTed, only the two bastions accept them."
        ),
        example_command=f"timeline {BRUTE_FORCE_SOURCE}",
    ),
    Incident(
        name="crypto-mining-beacon",
        description=(
            f"{MINER_HOST} (account {MAIN_ACCOUNT}, us-east-1) opens a short connection to the mining "
            f"pool {MINING_POOL}:{MINING_PORT} every four to six minutes, on every day: the pair tops "
            "the host's data-ratio list with many records of a few hundred bytes; a timeline shows the beat."
        ),
        example_command=f"ratio {MINER_HOST}",
    ),
)

# --------------------------------------------------------------------------------------------------
# The simulated estate

DELIVERY_INTERVAL = 600
"""A file is delivered every 10 minutes per flow log, holding the records that ended since the last."""
HEADER_LINE = " ".join((
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
))  # fmt: skip
"""The default (version 2) format's header, fixed by AWS; spelled out so that this module needs only the
standard library (a test checks it against `bot.flowlog_format.DEFAULT_V2_HEADERS`)."""
EPHEMERAL_PORTS = (32768, 65535)
TCP, UDP, ICMP = 6, 17, 1

V5_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} "
    "${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${flow-direction} ${traffic-path}"
)
"""A custom (version 5) format with every field the console's Athena queries read, for `generate`."""


@dataclass(frozen=True)
class _Host:
    """An instance with one ENI inside a flow log's VPC."""

    ip: str
    ipv6: str | None = None


@dataclass(frozen=True)
class _Pattern:
    """A kind of background conversation one host takes part in, as a Poisson stream of sessions."""

    peers: tuple[str, ...]
    port: int
    proto: int
    per_hour: float
    outbound: bool  # the host is the client (True) or the server (False)
    request_bytes: tuple[int, int]
    response_bytes: tuple[int, int]
    max_seconds: int = 30
    reject_share: float = 0.0
    diurnal: bool = True


@dataclass(frozen=True)
class _FlowLog:
    """One flow log (one per account and region) and the traffic of the VPC it watches."""

    account: str
    region: str
    aggregation: int  # 60 or 600 s
    window_phase: int  # capture windows are not aligned to the clock
    nodata_share: float  # share of idle capture windows that get a NODATA row
    hosts: tuple[_Host, ...]
    patterns: tuple[tuple[str, _Pattern], ...]  # (host ip, pattern)

    @property
    def flow_log_id(self) -> str:
        """A stable `fl-` + 17 hex id, the same whatever the seed."""
        return "fl-" + _hex(f"flow-log/{self.account}/{self.region}", 17)

    def eni(self, ip: str) -> str:
        """The ENI id of a host, stable whatever the seed."""
        return "eni-" + _hex(f"eni/{self.account}/{self.region}/{ip}", 17)


def _hex(text: str, length: int) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:length]


# Internet peers come from the documentation ranges; the incident addresses are kept out of the pools.
_RESERVED = {EXFIL_PEER, BRUTE_FORCE_SOURCE, MINING_POOL}
_CLIENTS = tuple(
    ip
    for ip in [f"203.0.113.{i}" for i in range(1, 255, 3)] + [f"198.51.100.{i}" for i in range(2, 255, 4)]
    if ip not in _RESERVED
)
_SCANNERS = ("192.0.2.14", "192.0.2.131", "203.0.113.201", "198.51.100.174")
_UPSTREAM_DNS = ("192.0.2.53", "198.51.100.53")
_AWS_US = ("52.216.20.35", "52.217.44.82", "54.239.28.85", "52.94.233.131", "54.231.129.40", "52.46.155.24")
_AWS_EU = ("52.218.97.12", "52.95.150.60", "54.239.39.10", "52.119.160.9")
_IPV6_CLIENTS = (
    "2001:db8:4f1:20::7",
    "2001:db8:85a3::8a2e:370:7334",
    "2001:db8:c0de:1::53",
    "2001:db8:aa::1",
)
_IPV6_AWS_US = ("2600:1f18:2489:8201::64", "2600:1f18:6ab:4e00::1f")
_OFFICE = ("198.51.100.10", "198.51.100.11")


def _estate() -> tuple[_FlowLog, ...]:
    """The three flow logs: two regions of the main account, one of the second account."""
    web = ((800, 4_000), (2_000, 400_000))
    api = ((400, 3_000), (1_000, 60_000))
    dns = ((60, 90), (90, 400))
    ping = ((84, 84), (84, 84))

    us_hosts = (
        _Host("10.0.1.10"),  # bastion
        _Host("10.0.1.11", "2600:1f18:4a3:6901::11"),  # web
        _Host("10.0.1.12", "2600:1f18:4a3:6901::12"),  # web
        _Host(EXFIL_HOST),  # reporting server
        _Host("10.0.2.15", "2600:1f18:4a3:6902::15"),  # app
        _Host("10.0.2.16", "2600:1f18:4a3:6902::16"),  # app
        _Host(MINER_HOST),  # batch worker
        _Host("10.0.2.99"),  # monitoring
        _Host("10.0.3.20"),  # postgres
        _Host("10.0.3.21"),  # mysql
        _Host("10.0.3.53"),  # dns resolver
    )
    us_internal = tuple(h.ip for h in us_hosts)
    us_patterns: list[tuple[str, _Pattern]] = [
        ("10.0.1.10", _Pattern(_OFFICE, 22, TCP, 3, False, (3_000, 40_000), (5_000, 300_000), 1_800)),
        (
            "10.0.1.10",
            _Pattern(
                ("10.0.2.15", "10.0.2.16", "10.0.3.20"),
                22,
                TCP,
                1.5,
                True,
                (2_000, 20_000),
                (4_000, 80_000),
                900,
            ),
        ),
        ("10.0.2.99", _Pattern(us_internal[:-4], 0, ICMP, 12, True, ping[0], ping[1], 1, diurnal=False)),
        ("10.0.3.53", _Pattern(_UPSTREAM_DNS, 53, UDP, 30, True, *dns, max_seconds=1)),
        (
            "10.0.1.10",
            _Pattern(_SCANNERS, 3389, TCP, 2, False, (40, 120), (0, 0), 2, reject_share=1.0, diurnal=False),
        ),
        (
            "10.0.1.11",
            _Pattern(_SCANNERS, 23, TCP, 1.5, False, (40, 80), (0, 0), 2, reject_share=1.0, diurnal=False),
        ),
    ]
    for web_ip in ("10.0.1.11", "10.0.1.12"):
        us_patterns += [
            (web_ip, _Pattern(_CLIENTS, 443, TCP, 60, False, *web, max_seconds=90, reject_share=0.01)),
            (web_ip, _Pattern(_CLIENTS, 80, TCP, 10, False, (300, 900), (300, 2_000), 3)),
            (web_ip, _Pattern(_IPV6_CLIENTS, 443, TCP, 10, False, *web, max_seconds=60)),
            (web_ip, _Pattern(("10.0.2.15", "10.0.2.16"), 443, TCP, 25, True, *api, max_seconds=20)),
            (web_ip, _Pattern(("10.0.3.53",), 53, UDP, 10, True, *dns, max_seconds=1)),
        ]
    for app_ip in ("10.0.2.15", "10.0.2.16"):
        us_patterns += [
            (app_ip, _Pattern(("10.0.3.20",), 5432, TCP, 20, True, (500, 8_000), (1_000, 900_000), 120)),
            (app_ip, _Pattern(("10.0.3.21",), 3306, TCP, 12, True, (300, 5_000), (800, 300_000), 60)),
            (app_ip, _Pattern(_AWS_US, 443, TCP, 8, True, (1_000, 200_000), (2_000, 50_000), 30)),
            (app_ip, _Pattern(_IPV6_AWS_US, 443, TCP, 2, True, (1_000, 50_000), (2_000, 20_000), 20)),
            (app_ip, _Pattern(("10.0.3.53",), 53, UDP, 15, True, *dns, max_seconds=1)),
            (app_ip, _Pattern((EXFIL_HOST,), 443, TCP, 2, True, (2_000, 10_000), (20_000, 2_000_000), 60)),
        ]
    us_patterns += [
        (EXFIL_HOST, _Pattern(("10.0.3.20",), 5432, TCP, 4, True, (800, 6_000), (50_000, 3_000_000), 120)),
        (EXFIL_HOST, _Pattern(_AWS_US[:2], 443, TCP, 2, True, (20_000, 2_000_000), (3_000, 9_000), 60)),
        (EXFIL_HOST, _Pattern(("10.0.3.53",), 53, UDP, 4, True, *dns, max_seconds=1)),
        (MINER_HOST, _Pattern(("10.0.3.53",), 53, UDP, 2, True, *dns, max_seconds=1)),
    ]

    eu_hosts = (
        _Host("10.0.129.10", "2a05:d018:1a2:3b01::10"),  # web
        _Host("10.0.129.11", "2a05:d018:1a2:3b01::11"),  # web
        _Host("10.0.130.20"),  # app
        _Host("10.0.130.30"),  # postgres
        _Host("10.0.130.99"),  # spare ENI, idle: NODATA rows
    )
    eu_patterns: list[tuple[str, _Pattern]] = [
        ("10.0.130.20", _Pattern(("10.0.130.30",), 5432, TCP, 15, True, (500, 8_000), (1_000, 500_000), 120)),
        ("10.0.130.20", _Pattern(_AWS_EU, 443, TCP, 6, True, (1_000, 100_000), (2_000, 40_000), 30)),
        (
            "10.0.129.10",
            _Pattern(_SCANNERS, 22, TCP, 1, False, (40, 120), (0, 0), 2, reject_share=1.0, diurnal=False),
        ),
        ("10.0.130.99", _Pattern(("10.0.130.20",), 0, ICMP, 0.05, False, ping[0], ping[1], 1)),
    ]
    for web_ip in ("10.0.129.10", "10.0.129.11"):
        eu_patterns += [
            (web_ip, _Pattern(_CLIENTS, 443, TCP, 30, False, *web, max_seconds=90, reject_share=0.01)),
            (web_ip, _Pattern(_IPV6_CLIENTS, 443, TCP, 4, False, *web, max_seconds=60)),
            (web_ip, _Pattern(("10.0.130.20",), 443, TCP, 12, True, *api, max_seconds=20)),
        ]

    second_hosts = (
        _Host("172.31.48.5"),  # bastion
        _Host("172.31.16.10"),  # CI runner
        _Host("172.31.16.11", "2600:1f18:77c:ab01::11"),  # web
        _Host("172.31.32.20"),  # mysql
        _Host("172.31.32.21"),  # postgres
    )
    second_patterns: list[tuple[str, _Pattern]] = [
        ("172.31.48.5", _Pattern(_OFFICE, 22, TCP, 2, False, (3_000, 40_000), (5_000, 300_000), 1_800)),
        (
            "172.31.16.10",
            _Pattern(
                (*_AWS_US, "203.0.113.140", "203.0.113.141"),
                443,
                TCP,
                20,
                True,
                (2_000, 300_000),
                (5_000, 20_000_000),
                120,
            ),
        ),
        (
            "172.31.16.10",
            _Pattern(
                ("172.31.32.20", "172.31.32.21"), 3306, TCP, 3, True, (500, 5_000), (1_000, 100_000), 30
            ),
        ),
        ("172.31.16.11", _Pattern(_CLIENTS, 443, TCP, 25, False, *web, max_seconds=90, reject_share=0.01)),
        ("172.31.16.11", _Pattern(_CLIENTS, 80, TCP, 6, False, (300, 900), (300, 2_000), 3)),
        ("172.31.16.11", _Pattern(_IPV6_CLIENTS, 443, TCP, 3, False, *web, max_seconds=60)),
        ("172.31.16.11", _Pattern(("172.31.32.20",), 3306, TCP, 15, True, (300, 5_000), (800, 200_000), 60)),
        ("172.31.16.11", _Pattern(("172.31.32.21",), 5432, TCP, 8, True, (500, 8_000), (1_000, 400_000), 60)),
        ("172.31.16.11", _Pattern(_UPSTREAM_DNS, 53, UDP, 10, True, *dns, max_seconds=1)),
        (
            "172.31.16.10",
            _Pattern(_SCANNERS, 5432, TCP, 1, False, (40, 80), (0, 0), 2, reject_share=1.0, diurnal=False),
        ),
    ]

    return (
        _FlowLog(MAIN_ACCOUNT, "us-east-1", 60, 0, 0.04, us_hosts, tuple(us_patterns)),
        _FlowLog(MAIN_ACCOUNT, "eu-west-1", 600, 0, 1.0, eu_hosts, tuple(eu_patterns)),
        _FlowLog(SECOND_ACCOUNT, "us-east-1", 600, 200, 1.0, second_hosts, tuple(second_patterns)),
    )


@dataclass(frozen=True)
class _Network:
    """Where a flow log's VPC sits, as the version 3-5 fields report it."""

    cidrs: tuple[str, ...]  # the VPC's IPv4 and IPv6 ranges
    subnets: tuple[tuple[str, str, bool], ...]  # (IPv4 prefix of the /24, az-id, public: routes to an IGW)
    detached: tuple[str, ...] = ()  # hosts whose ENI is attached to no instance (instance-id `-`)
    nat_gateway: str | None = None  # private IP of a NAT gateway whose ENI the flow log also watches

    def subnet_of(self, ip: str) -> tuple[str, str, bool]:
        """The host's subnet: (IPv4 prefix, az-id, public)."""
        return next(s for s in self.subnets if ip.startswith(s[0]))


NAT_GATEWAY = "10.0.1.200"
"""The main account's NAT gateway in us-east-1 (its ENI has no instance)."""
PATCH_MIRROR = "203.0.113.80"
"""An internet package mirror the database hosts reach through the NAT gateway (custom formats only)."""
_PATCH_CLIENTS = ("10.0.3.20", "10.0.3.21")

_NETWORKS: dict[tuple[str, str], _Network] = {
    (MAIN_ACCOUNT, "us-east-1"): _Network(
        ("10.0.0.0/17", "2600:1f18:4a3:6900::/56"),
        (("10.0.1.", "use1-az1", True), ("10.0.2.", "use1-az2", False), ("10.0.3.", "use1-az4", False)),
        nat_gateway=NAT_GATEWAY,
    ),
    (MAIN_ACCOUNT, "eu-west-1"): _Network(
        ("10.0.128.0/17", "2a05:d018:1a2:3b00::/56"),
        (("10.0.129.", "euw1-az1", True), ("10.0.130.", "euw1-az2", False)),
        detached=("10.0.130.99",),
    ),
    (SECOND_ACCOUNT, "us-east-1"): _Network(
        ("172.31.0.0/16", "2600:1f18:77c:ab00::/56"),
        (
            ("172.31.16.", "use1-az1", True),
            ("172.31.32.", "use1-az2", True),
            ("172.31.48.", "use1-az6", True),
        ),
    ),
}
_S3 = frozenset({"52.216.20.35", "52.217.44.82", "54.231.129.40", "52.218.97.12"})
_AWS_SERVICE = {ip: "S3" if ip in _S3 else "AMAZON" for ip in (*_AWS_US, *_AWS_EU, *_IPV6_AWS_US)}


# --------------------------------------------------------------------------------------------------
# Records


class _Record(NamedTuple):
    """One flow-log record before formatting; None is written as `-`.

    The last three fields only show in a custom format: TCP flags as OR-ed over the capture window, and the
    packet-level addresses where they differ from `src`/`dst` (traffic through a NAT gateway's interface).
    """

    start: int
    end: int
    eni: str
    status: str = "OK"
    src: str | None = None
    dst: str | None = None
    srcport: int | None = None
    dstport: int | None = None
    protocol: int | None = None
    packets: int | None = None
    nbytes: int | None = None
    action: str | None = None
    tcp_flags: int | None = None
    pkt_src: str | None = None
    pkt_dst: str | None = None


class _Collector:
    """Gathers one flow log's records, seeing each through the capture windows of its ENIs."""

    def __init__(self, flow_log: _FlowLog, start: int, end: int) -> None:
        self.flow_log = flow_log
        self.start = start
        self.end = end
        self.records: list[_Record] = []
        self.busy: set[tuple[str, int]] = set()  # (eni, window start) with traffic
        self._enis = {h.ip: flow_log.eni(h.ip) for h in flow_log.hosts}
        for h in flow_log.hosts:
            if h.ipv6:
                self._enis[h.ipv6] = self._enis[h.ip]

    def window_of(self, t: int) -> int:
        """The start of the capture window holding second t."""
        agg, phase = self.flow_log.aggregation, self.flow_log.window_phase
        return (t - phase) // agg * agg + phase

    def enis_seeing(self, *addresses: str) -> list[str]:
        """The ENIs of this flow log that see a packet between these addresses (one, or two if internal)."""
        return [self._enis[a] for a in addresses if a in self._enis]

    def emit(self, record: _Record) -> None:
        """Keep a record if it lies wholly in [start, end): every file is then delivered by `end`."""
        if record.start >= self.start and record.end < self.end:
            self.records.append(record)
            if record.status == "OK":
                self.busy.add((record.eni, self.window_of(record.start)))

    def flow(
        self,
        rng: random.Random,
        t0: int,
        seconds: int,
        client: str,
        server: str,
        client_port: int,
        server_port: int,
        proto: int,
        request_bytes: Callable[[], int],
        response_bytes: Callable[[], int] | None,
        action: str = "ACCEPT",
    ) -> None:
        """One connection: per capture window, a record each way on every ENI that sees it.

        A rejected connection has no response. `start`/`end` are the first and last packet seen in the
        window, so `start < end` and `end - start` never exceeds the aggregation interval.
        """
        t1 = t0 + max(seconds, 1)
        agg = self.flow_log.aggregation
        enis = self.enis_seeing(client, server)
        w = self.window_of(t0)
        while w < t1:
            start, end = max(t0, w), min(t1, w + agg)
            requested = request_bytes()
            sides = [(client, server, client_port, server_port, requested, False)]
            if response_bytes is not None:
                sides.append((server, client, server_port, client_port, response_bytes(), True))
            for src, dst, sport, dport, nbytes, reply in sides:
                packets = _packets(rng, nbytes, proto)
                flags = _tcp_flags(proto, reply, start == t0, end == t1, rejected=response_bytes is None)
                for eni in enis:
                    self.emit(
                        _Record(start, end, eni, "OK", src, dst, sport, dport, proto, packets, nbytes, action,
                                flags)
                    )  # fmt: skip
            w += agg

    def status_row(self, eni: str, window: int, status: str) -> None:
        """A NODATA or SKIPDATA row: only version, account, ENI, times and status are filled."""
        self.emit(_Record(window, window + self.flow_log.aggregation, eni, status))


def _tcp_flags(proto: int, reply: bool, first: bool, last: bool, *, rejected: bool = False) -> int | None:
    """The flags a TCP record shows: SYN (2) or SYN-ACK (18) in the window the connection opens, FIN (1) in
    the one it closes, OR-ed when both fall in one window (3, 19); a rejected client only ever sends SYNs."""
    if proto != TCP:
        return None  # written as 0 for UDP and ICMP
    if rejected:
        return 2
    return ((18 if reply else 2) if first else 0) | (1 if last else 0)


def _packets(rng: random.Random, nbytes: int, proto: int) -> int:
    """A packet count that fits the byte count (40-1500 bytes a packet for TCP, one datagram a DNS answer)."""
    if proto == ICMP:
        return max(1, nbytes // 84)
    if proto == UDP:
        return max(1, nbytes // 500)
    return max(1, min(nbytes // 40, round(nbytes / rng.uniform(120, 1448))))


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    if low >= high:
        return low
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _diurnal(t: int) -> float:
    """Relative load by time of day (UTC): a business-day curve peaking in the afternoon."""
    hour = (t % 86_400) / 3_600
    return 0.3 + 0.7 * (0.5 + 0.5 * math.cos(2 * math.pi * (hour - 15) / 24))


def _background(col: _Collector, rng: random.Random, host_ip: str, pattern: _Pattern, scale: float) -> None:
    """A Poisson stream of sessions for one host and pattern, thinned by the daily curve."""
    rate = pattern.per_hour * scale / 3_600
    if rate <= 0:
        return
    t = float(col.start)
    host_is_v6 = ":" in pattern.peers[0]
    host = next((h.ipv6 for h in col.flow_log.hosts if h.ip == host_ip), None) if host_is_v6 else host_ip
    if host is None:
        raise ValueError(f"{host_ip} has no IPv6 address for an IPv6 pattern")
    while True:
        t += rng.expovariate(rate)
        if t >= col.end:
            return
        if pattern.diurnal and rng.random() > _diurnal(int(t)):
            continue
        peer = rng.choice(pattern.peers)
        client, server = (host, peer) if pattern.outbound else (peer, host)
        if pattern.proto == ICMP:
            ports = (0, 0)
        else:
            ports = (rng.randint(*EPHEMERAL_PORTS), pattern.port)
        rejected = pattern.reject_share > 0 and rng.random() < pattern.reject_share
        col.flow(
            rng,
            int(t),
            rng.randint(1, pattern.max_seconds),
            client,
            server,
            ports[0],
            ports[1],
            pattern.proto,
            lambda: _log_uniform(rng, *pattern.request_bytes),
            None if rejected else (lambda: _log_uniform(rng, *pattern.response_bytes)),
            "REJECT" if rejected else "ACCEPT",
        )


# --------------------------------------------------------------------------------------------------
# Incidents


def _exfiltration(col: _Collector, rng: random.Random) -> None:
    """Gigabytes from the reporting server to an outside host over a few hours of the last day."""
    begin = col.end - 20 * 3_600 + rng.randint(0, 1_800)
    begin = max(begin, col.start)
    t = begin
    while t < min(begin + 4 * 3_600, col.end):
        seconds = rng.randint(900, 1_800)  # the uploader reconnects every 15-30 minutes
        col.flow(
            rng,
            t,
            seconds,
            EXFIL_HOST,
            EXFIL_PEER,
            rng.randint(*EPHEMERAL_PORTS),
            EXFIL_PORT,
            TCP,
            lambda: rng.randint(35_000_000, 90_000_000),
            lambda: rng.randint(400_000, 1_500_000),
        )
        t += seconds + rng.randint(2, 20)
    # A few small check-ins on the days before, as a beacon to the same host would leave.
    for _ in range(6):
        t = rng.randint(col.start, max(col.start, begin - 3_600))
        col.flow(
            rng,
            t,
            rng.randint(2, 8),
            EXFIL_HOST,
            EXFIL_PEER,
            rng.randint(*EPHEMERAL_PORTS),
            EXFIL_PORT,
            TCP,
            lambda: rng.randint(1_500, 4_000),
            lambda: rng.randint(3_000, 9_000),
        )


def _brute_force(col: _Collector, rng: random.Random, bastion: str) -> None:
    """Bursts of SSH attempts on every host; only the bastion's security group lets them in."""
    targets = [h.ip for h in col.flow_log.hosts]

    def attempt(at: int, target: str) -> None:
        port = rng.randint(*EPHEMERAL_PORTS)
        if target == bastion:  # handshake, then a failed login
            handshake, reply = (lambda: rng.randint(2_000, 4_500)), (lambda: rng.randint(2_500, 5_000))
            col.flow(
                rng,
                at,
                rng.randint(2, 9),
                BRUTE_FORCE_SOURCE,
                target,
                port,
                BRUTE_FORCE_PORT,
                TCP,
                handshake,
                reply,
            )
        else:  # a SYN or two, dropped by the security group
            syn = lambda: rng.choice((40, 44, 60, 120))  # noqa: E731
            col.flow(
                rng,
                at,
                rng.randint(1, 3),
                BRUTE_FORCE_SOURCE,
                target,
                port,
                BRUTE_FORCE_PORT,
                TCP,
                syn,
                None,
                "REJECT",
            )

    hour = col.start - col.start % 3_600
    while hour < col.end:
        if rng.random() < 0.6:
            t = hour + rng.randint(0, 3_000)
            for _ in range(rng.randint(5, 25)):  # minutes in the burst
                for target in rng.sample(targets, rng.randint(1, min(4, len(targets)))):
                    for _ in range(rng.randint(1, 3)):
                        attempt(t + rng.randint(0, 59), target)
                t += 60
        hour += 3_600


def _mining_beacon(col: _Collector, rng: random.Random) -> None:
    """A short connection to the mining pool every four to six minutes, around the clock."""
    t = col.start + rng.randint(0, 300)
    while t < col.end:
        col.flow(
            rng,
            t,
            rng.randint(1, 4),
            MINER_HOST,
            MINING_POOL,
            rng.randint(*EPHEMERAL_PORTS),
            MINING_PORT,
            TCP,
            lambda: rng.randint(400, 900),
            lambda: rng.randint(300, 700),
        )
        t += rng.randint(240, 360)


def _day_edges(col: _Collector) -> None:
    """DNS lookups starting exactly at each midnight and one second before, to test window edges."""
    client, resolver = "10.0.2.15", "10.0.3.53"
    first = -(-col.start // 86_400) * 86_400
    for midnight in range(first, col.end, 86_400):
        for start, port in ((midnight - 1, 53001), (midnight, 53002)):
            for eni in col.enis_seeing(client, resolver):
                col.emit(
                    _Record(start, start + 1, eni, "OK", client, resolver, port, 53, UDP, 1, 74, "ACCEPT")
                )
                col.emit(
                    _Record(start, start + 1, eni, "OK", resolver, client, 53, port, UDP, 1, 190, "ACCEPT")
                )


def _nat_path(col: _Collector, rng: random.Random, nat_ip: str) -> None:
    """A few package downloads a day from private hosts through the NAT gateway (custom formats only).

    As AWS logs them: the host's ENI sees host <-> mirror; the gateway's ENI sees host -> gateway and
    gateway -> host with the mirror as packet-level destination / source, and gateway <-> mirror.
    """
    nat_eni = "eni-" + _hex(f"eni/{col.flow_log.account}/{col.flow_log.region}/nat-gateway", 17)
    agg = col.flow_log.aggregation
    day = col.start - col.start % 86_400
    while day < col.end:
        for _ in range(rng.randint(2, 4)):
            t0 = day + rng.randint(0, 86_399)
            t1 = t0 + rng.randint(5, 90)
            client = rng.choice(_PATCH_CLIENTS)
            client_eni = col.flow_log.eni(client)
            port, nat_port = rng.randint(*EPHEMERAL_PORTS), rng.randint(*EPHEMERAL_PORTS)
            w = col.window_of(t0)
            while w < t1:
                start, end = max(t0, w), min(t1, w + agg)
                first, last = start == t0, end == t1
                sent, received = _log_uniform(rng, 600, 3_000), _log_uniform(rng, 50_000, 20_000_000)
                out, back = _packets(rng, sent, TCP), _packets(rng, received, TCP)
                up, down = _tcp_flags(TCP, False, first, last), _tcp_flags(TCP, True, first, last)
                for eni, src, dst, sport, dport, packets, nbytes, flags, pkt_src, pkt_dst in (
                    (client_eni, client, PATCH_MIRROR, port, 443, out, sent, up, None, None),
                    (nat_eni, client, nat_ip, port, 443, out, sent, up, None, PATCH_MIRROR),
                    (nat_eni, nat_ip, PATCH_MIRROR, nat_port, 443, out, sent, up, None, None),
                    (client_eni, PATCH_MIRROR, client, 443, port, back, received, down, None, None),
                    (nat_eni, PATCH_MIRROR, nat_ip, 443, nat_port, back, received, down, None, None),
                    (nat_eni, nat_ip, client, 443, port, back, received, down, PATCH_MIRROR, None),
                ):
                    col.emit(
                        _Record(start, end, eni, "OK", src, dst, sport, dport, TCP, packets, nbytes, "ACCEPT",
                                flags, pkt_src, pkt_dst)
                    )  # fmt: skip
                w += agg
        day += 86_400
    # the host's ENI is no longer idle in those windows: drop the NODATA rows written before
    col.records = [r for r in col.records if r.status != "NODATA" or (r.eni, r.start) not in col.busy]


def _status_rows(col: _Collector, rng: random.Random) -> None:
    """NODATA for (a share of) idle capture windows, and a few SKIPDATA rows per day."""
    agg = col.flow_log.aggregation
    first = col.window_of(col.start)
    if first < col.start:
        first += agg
    windows = range(first, col.end, agg)
    enis = [col.flow_log.eni(h.ip) for h in col.flow_log.hosts]
    for eni in enis:
        for w in windows:
            if (eni, w) not in col.busy and rng.random() < col.flow_log.nodata_share:
                col.status_row(eni, w, "NODATA")
    for _ in range(max(1, len(windows) * agg // 86_400) * 2):
        col.status_row(rng.choice(enis), rng.choice(windows), "SKIPDATA")


# --------------------------------------------------------------------------------------------------
# Files


def _format(account: str, r: _Record) -> str:
    fields = (r.eni, r.src, r.dst, r.srcport, r.dstport, r.protocol, r.packets, r.nbytes, r.start, r.end,
              r.action, r.status)  # fmt: skip
    return "2 " + account + " " + " ".join("-" if f is None else str(f) for f in fields)


_FIELD_VERSION = {
    **dict.fromkeys(
        ("vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr"), 3
    ),
    **dict.fromkeys(("region", "az-id", "sublocation-type", "sublocation-id"), 4),
    **dict.fromkeys(("pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"), 5),
}
"""The flow-log version that introduced each field; a record's `version` is the highest its format uses."""


@dataclass(frozen=True)
class _Eni:
    addresses: frozenset[str]
    subnet_id: str
    az_id: str
    public: bool
    instance_id: str


class _CustomFormatter:
    """Writes one flow log's records in a custom format, filling the version 3-5 fields as AWS does.

    vpc-id per flow log; subnet-id, az-id per host subnet; instance-id per host (`-` for the NAT gateway's
    and a detached ENI); tcp-flags OR-ed per window (0 for UDP and ICMP); type from the address family;
    flow-direction relative to the ENI; traffic-path for egress only: 1 inside the VPC (a NAT gateway
    included), 7 to S3 from a private subnet (gateway endpoint), 8 to the internet (internet gateway);
    sublocation fields `-`. NODATA and SKIPDATA rows have `-` in every field after version, account,
    ENI, start, end and log-status.
    """

    def __init__(self, flow_log: _FlowLog, headers: tuple[str, ...]) -> None:
        self.flow_log = flow_log
        self.headers = headers
        self.version = str(max(_FIELD_VERSION.get(h, 2) for h in headers))
        account, region = flow_log.account, flow_log.region
        net = _NETWORKS[(account, region)]
        self.vpc_id = "vpc-" + _hex(f"vpc/{account}/{region}", 17)
        self.cidrs = tuple(ip_network(c) for c in net.cidrs)
        self.enis: dict[str, _Eni] = {}
        hosts = [(h.ip, h.ipv6, h.ip not in net.detached) for h in flow_log.hosts]
        for ip, ipv6, attached in hosts:
            prefix, az_id, public = net.subnet_of(ip)
            self.enis[flow_log.eni(ip)] = _Eni(
                frozenset(a for a in (ip, ipv6) if a),
                "subnet-" + _hex(f"subnet/{account}/{region}/{prefix}", 17),
                az_id,
                public,
                "i-" + _hex(f"instance/{account}/{region}/{ip}", 17) if attached else "-",
            )
        if net.nat_gateway:
            prefix, az_id, public = net.subnet_of(net.nat_gateway)
            self.enis["eni-" + _hex(f"eni/{account}/{region}/nat-gateway", 17)] = _Eni(
                frozenset({net.nat_gateway}),
                "subnet-" + _hex(f"subnet/{account}/{region}/{prefix}", 17),
                az_id,
                public,
                "-",
            )

    @property
    def header_line(self) -> str:
        return " ".join(self.headers)

    def _internal(self, address: str) -> bool:
        ip = ip_address(address)
        return any(ip.version == net.version and ip in net for net in self.cidrs)

    def _path(self, eni: _Eni, dst: str) -> str:
        if self._internal(dst):
            return "1"
        if eni.public or ":" in dst:  # public subnet, or IPv6 (egress-only internet gateway)
            return "8"
        return "7" if dst in _S3 else "1"  # S3 by its gateway endpoint; the rest via the NAT gateway

    def line(self, r: _Record) -> str:
        """The record in this format."""

        def text(value: object) -> str:
            return "-" if value is None else str(value)

        values = {
            "version": self.version,
            "account-id": self.flow_log.account,
            "interface-id": r.eni,
            "start": str(r.start),
            "end": str(r.end),
            "log-status": r.status,
        }
        if r.status == "OK" and r.src is not None and r.dst is not None:
            eni = self.enis[r.eni]
            egress = r.src in eni.addresses
            pkt_src, pkt_dst = r.pkt_src or r.src, r.pkt_dst or r.dst
            values.update({
                "srcaddr": r.src, "dstaddr": r.dst, "srcport": text(r.srcport), "dstport": text(r.dstport),
                "protocol": text(r.protocol), "packets": text(r.packets), "bytes": text(r.nbytes),
                "action": text(r.action), "vpc-id": self.vpc_id, "subnet-id": eni.subnet_id,
                "instance-id": eni.instance_id, "tcp-flags": str(r.tcp_flags or 0),
                "type": "IPv6" if ":" in r.src else "IPv4", "pkt-srcaddr": pkt_src, "pkt-dstaddr": pkt_dst,
                "region": self.flow_log.region, "az-id": eni.az_id,
                "pkt-src-aws-service": _AWS_SERVICE.get(pkt_src, "-"),
                "pkt-dst-aws-service": _AWS_SERVICE.get(pkt_dst, "-"),
                "flow-direction": "egress" if egress else "ingress",
                "traffic-path": self._path(eni, r.dst) if egress else "-",
            })  # fmt: skip
        return " ".join(values.get(h, "-") for h in self.headers)


def _gzip(data: bytes) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)
    return raw.getvalue()


def _write_files(
    root: Path, col: _Collector, header: str, line: Callable[[_Record], str], layout: Layout
) -> tuple[int, set[date]]:
    """Deliver the records: one file per flow log per 10-minute boundary, foldered by delivery time in the
    layout's folders (days or hours, plain or Hive prefixes), as text or as Parquet. Security Lake folders
    by event day instead, so a delivery whose records start on two days makes a file in each."""
    fl = col.flow_log
    by_file: dict[tuple[int, date | None], list[_Record]] = defaultdict(list)
    for r in col.records:
        delivered = (r.end // DELIVERY_INTERVAL + 1) * DELIVERY_INTERVAL
        event_day = datetime.fromtimestamp(r.start, UTC).date() if layout.file_format == "ocsf" else None
        by_file[(delivered, event_day)].append(r)
    days: set[date] = set()
    binary: list[tuple[Path, list[str]]] = []
    for (delivered, event_day), records in sorted(
        by_file.items(), key=lambda item: (item[0][0], str(item[0][1]))
    ):
        records.sort(key=lambda r: (r.start, r.end, r.eni))
        lines = [line(r) for r in records]
        data = ("\n".join([header, *lines]) + "\n").encode()
        at = datetime.fromtimestamp(delivered, UTC)
        folder = root / layout.folder(fl.account, fl.region, event_day or at)
        name = (
            f"{fl.account}_vpcflowlogs_{fl.region}_{fl.flow_log_id}_{at:%Y%m%dT%H%MZ}_"
            f"{hashlib.sha1(data, usedforsecurity=False).hexdigest()[:8]}{layout.suffix}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        if layout.file_format == "text":
            (folder / name).write_bytes(_gzip(data))
        else:
            binary.append((folder / name, lines))
        days.add(event_day or at.date())
    if binary and layout.file_format == "ocsf":
        write_ocsf(tuple(header.split()), binary)
    elif binary:
        write_parquet(tuple(header.split()), binary)
    return len(by_file), days


def _rng(seed: int, *parts: str) -> random.Random:
    """An independent stream per flow log and purpose, so tuning one leaves the others unchanged."""
    return random.Random(f"{seed}/" + "/".join(parts))


def generate(
    root: Path,
    *,
    end: datetime | None = None,
    days: int = 3,
    seed: int = 7,
    scale: float = 1.0,
    log_format: str | None = None,
    layout: str = DEFAULT_LAYOUT,
) -> GenerationReport:
    """Write `days` days of flow logs ending at `end` (UTC, default: this hour) under `root/AWSLogs`.

    Records start in [end - days, end) and end before `end`. `scale` multiplies the background traffic;
    the planted incidents keep their size so that they stay visible at any scale. Refuses to write into a
    root that already has an `AWSLogs` folder with files, so that two runs never mix.

    `log_format` (a flow log's format string, e.g. `V5_FORMAT`) writes the fields it names in its order;
    None writes the default version 2 format. The same seed gives the same traffic in every format, plus,
    in a custom format, the NAT gateway's connections (`_nat_path`, which also drops the few NODATA rows of
    the windows they make busy).

    `layout` (a name of bot/flowlog_layouts.LAYOUTS) writes the same files' records in that layout: Hive
    prefixes, hourly folders, Parquet files (see `write_parquet`). Every layout holds the same records in
    the same delivery folders' days, so every layout answers every query the same.
    """
    shape = LAYOUTS[layout]
    if shape.file_format == "ocsf" and log_format is None:  # Security Lake's records carry the v3-v5 fields
        log_format = V5_FORMAT
    headers = None if log_format is None else parse_log_format(log_format)
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale}")
    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    stop = math.floor(end.timestamp())
    start = stop - days * 86_400
    logs_dir = Path(root) / shape.root_folder
    if logs_dir.exists() and any(p.is_file() for p in logs_dir.rglob("*")):
        raise FileExistsError(f"{logs_dir} already holds files; remove it or choose another root")

    files = records = 0
    all_days: set[date] = set()
    for fl in _estate():
        key = f"{fl.account}/{fl.region}"
        col = _Collector(fl, start, stop)
        rng = _rng(seed, key, "background")
        for host_ip, pattern in fl.patterns:
            _background(col, rng, host_ip, pattern, scale)
        if fl.account == MAIN_ACCOUNT and fl.region == "us-east-1":
            _exfiltration(col, _rng(seed, key, "exfiltration"))
            _brute_force(col, _rng(seed, key, "brute-force"), bastion="10.0.1.10")
            _mining_beacon(col, _rng(seed, key, "mining"))
            _day_edges(col)
        if fl.account == SECOND_ACCOUNT:
            _brute_force(col, _rng(seed, key, "brute-force"), bastion="172.31.48.5")
        _status_rows(col, _rng(seed, key, "status"))
        nat_gateway = _NETWORKS[(fl.account, fl.region)].nat_gateway
        if headers is None:
            n_files, fl_days = _write_files(Path(root), col, HEADER_LINE, partial(_format, fl.account), shape)
        else:
            if nat_gateway:  # after the status rows, so that the other records are the same in every format
                _nat_path(col, _rng(seed, key, "nat"), nat_gateway)
            formatter = _CustomFormatter(fl, headers)
            n_files, fl_days = _write_files(Path(root), col, formatter.header_line, formatter.line, shape)
        files += n_files
        records += len(col.records)
        all_days |= fl_days

    flow_logs = _estate()
    return GenerationReport(
        root=Path(root),
        files=files,
        records=records,
        first_day=min(all_days),
        last_day=max(all_days),
        accounts=tuple(sorted({fl.account for fl in flow_logs})),
        regions=tuple(sorted({fl.region for fl in flow_logs})),
    )
