"""Deterministic sample Transit Gateway flow logs, written in the layout AWS delivers them to S3.

Transit Gateway flow logs are the one place that sees traffic between VPCs and accounts. This module writes a
few days of them, in the default Transit Gateway format (`bot.flowlog_format.TGW_DEFAULT_FORMAT`), under
`<root>/AWSLogs/<account>/vpcflowlogs/<region>/yyyy/MM/dd/`: the same folders, file names, gzip text, header
line and `-` for a field that does not apply as VPC flow logs (Amazon VPC Transit Gateways, "Transit Gateway
Flow Logs records in Amazon S3", https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-s3.html: "Log file S3
bucket structure", `AWSLogs/account_id/vpcflowlogs/region/year/month/day/`, and the file name
`aws_account_id_vpcflowlogs_region_flow_log_id_YYYYMMDDTHHmmZ_hash.log.gz`). Files are foldered and named by
delivery time, one per flow log every 10 minutes, as bot/samples/flow_logs.py delivers VPC flow logs.

The estate (see `ATTACHMENTS`): two transit gateways of the main account, each with its own flow log (the
account folder is the flow log's owner's): in us-east-1, the main account's VPC (the VPC of the main sample's
us-east-1 logs, same VPC id), a shared-services VPC of the same account, the second account's VPC (shared
through RAM) and a site-to-site VPN to the office; in eu-west-1, the main account's VPC and a data VPC of the
second account. Aggregation is 60 seconds, the only interval a transit gateway's flow log takes (Amazon VPC
Transit Gateways, "Create and manage AWS Transit Gateway Flow Logs using APIs or the CLI").

How a record is filled (the field list says what each field is; how many records a flow gives is not
documented, this is the reading the templates follow): a flow that crosses the transit gateway gives, per
capture window and direction, one record on the attachment it enters by (`flow-direction` ingress,
`tgw-pair-attachment-id` the attachment it leaves by) and one on the attachment it leaves by (egress, the pair
the entering one); both carry the same addresses, ports, packets, bytes and `tgw-src-*`/`tgw-dst-*` fields
(the source's and destination's attachment: account, VPC, subnet, ENI, AZ; `-` for the VPN, which is no VPC).
A packet the transit gateway drops for lack of a route or at a blackhole route is recorded only on the
attachment it entered by, its destination fields and pair `-`, its packets counted in `packets-lost-no-route`
or `packets-lost-blackhole`. The loss counters read 0 where nothing was lost. SKIPDATA rows carry only
version, resource type, account, transit gateway, attachment, times, status and region.

Two incidents are planted (`TGW_INCIDENTS`): gigabytes moved laterally from the main sample's reporting server
(`EXFIL_HOST`, 10.0.1.25) to a host of the second account's VPC, and drops on the second account's attachment
(a blackhole route to a decommissioned VPC, and an address with no route at all).

Same arguments give byte-identical files: every random choice comes from `random.Random` instances seeded from
`seed`, and gzip is written with mtime 0 and no embedded file name.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from bot.flowlog_format import TGW_DEFAULT_HEADERS
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS
from bot.samples.flow_logs import (
    DELIVERY_INTERVAL,
    EPHEMERAL_PORTS,
    EXFIL_HOST,
    ICMP,
    MAIN_ACCOUNT,
    SECOND_ACCOUNT,
    TCP,
    UDP,
    GenerationReport,
    Incident,
    _diurnal,
    _gzip,
    _hex,
    _log_uniform,
    _packets,
    _tcp_flags,
)

# --------------------------------------------------------------------------------------------------
# The estate


@dataclass(frozen=True)
class Attachment:
    """One attachment of a transit gateway: a VPC (its account, VPC, the subnet, ENI and AZ of the
    attachment) or a VPN (no VPC: those fields are `-`)."""

    name: str
    region: str
    account: str  # the VPC's owner; `-` for a VPN
    vpc_id: str
    subnet_id: str
    eni: str
    az_id: str
    cidr: str  # the addresses behind it, for the reader

    @property
    def id(self) -> str:
        """A stable `tgw-attach-` + 17 hex id, the same whatever the seed."""
        return "tgw-attach-" + _hex(f"tgw-attachment/{self.region}/{self.name}", 17)


TGW_OWNER = MAIN_ACCOUNT
"""The account that owns both transit gateways and their flow logs: every file lies in its folder."""
US_EAST_1, EU_WEST_1 = "us-east-1", "eu-west-1"
REGIONS = (EU_WEST_1, US_EAST_1)


def tgw_id(region: str) -> str:
    """The transit gateway of a region, a stable `tgw-` + 17 hex id."""
    return "tgw-" + _hex(f"tgw/{TGW_OWNER}/{region}", 17)


def _vpc_attachment(name: str, region: str, account: str, vpc_key: str, cidr: str, az_id: str) -> Attachment:
    return Attachment(
        name=name,
        region=region,
        account=account,
        vpc_id="vpc-" + _hex(f"vpc/{vpc_key}", 17),  # the main sample's formula: `vpc/<account>/<region>`
        subnet_id="subnet-" + _hex(f"subnet/{account}/{region}/tgw/{name}", 17),
        eni="eni-" + _hex(f"eni/{account}/{region}/tgw/{name}", 17),
        az_id=az_id,
        cidr=cidr,
    )


MAIN = _vpc_attachment(
    "main", US_EAST_1, MAIN_ACCOUNT, f"{MAIN_ACCOUNT}/{US_EAST_1}", "10.0.0.0/17", "use1-az1"
)
"""The main account's VPC in us-east-1: the VPC of the main sample (bot/samples/flow_logs.py), same VPC id."""
SHARED = _vpc_attachment(
    "shared-services",
    US_EAST_1,
    MAIN_ACCOUNT,
    f"{MAIN_ACCOUNT}/{US_EAST_1}/shared",
    "10.1.0.0/16",
    "use1-az2",
)
"""A shared-services VPC of the main account: DNS, directory, artifact repository."""
SECOND = _vpc_attachment(
    "second", US_EAST_1, SECOND_ACCOUNT, f"{SECOND_ACCOUNT}/{US_EAST_1}", "172.31.0.0/16", "use1-az1"
)
"""The second account's VPC, attached to the main account's transit gateway (shared through RAM)."""
VPN = Attachment(
    name="office-vpn",
    region=US_EAST_1,
    account="-",
    vpc_id="-",
    subnet_id="-",
    eni="-",
    az_id="-",
    cidr="192.168.0.0/16",
)
"""A site-to-site VPN to the office: no VPC, subnet, ENI or AZ."""
EU_APP = _vpc_attachment(
    "eu-app", EU_WEST_1, MAIN_ACCOUNT, f"{MAIN_ACCOUNT}/{EU_WEST_1}", "10.0.128.0/17", "euw1-az1"
)
"""The main account's VPC in eu-west-1 (the main sample's, same VPC id)."""
EU_DATA = _vpc_attachment(
    "eu-data", EU_WEST_1, SECOND_ACCOUNT, f"{SECOND_ACCOUNT}/{EU_WEST_1}/data", "172.30.0.0/16", "euw1-az2"
)
"""A data VPC of the second account in eu-west-1."""
ATTACHMENTS: tuple[Attachment, ...] = (MAIN, SHARED, SECOND, VPN, EU_APP, EU_DATA)

# The planted incidents' values, for the README, the demo and the tests.
LATERAL_SOURCE = EXFIL_HOST
"""The main sample's reporting server (10.0.1.25, main account), which also uploads to the internet there."""
LATERAL_PEER = "172.31.16.10"
"""The second account's CI runner, where the data goes through the transit gateway."""
LATERAL_PORT = 22
"""scp/rsync over SSH."""
LATERAL_ATTACHMENTS = (MAIN.id, SECOND.id)
"""The attachment pair the lateral transfer crosses: it enters by MAIN, leaves by SECOND."""
DROP_ATTACHMENT = SECOND.id
"""Where the planted drops are recorded: the second account's attachment, which they enter by."""
BLACKHOLE_SOURCE = "172.31.16.11"
BLACKHOLE_DESTINATION = "10.3.0.40"
"""In a decommissioned VPC (10.3.0.0/16) whose route in the transit gateway's table is a blackhole."""
BLACKHOLE_PORT = 5432
NO_ROUTE_SOURCE = "172.31.32.20"
NO_ROUTE_DESTINATION = "10.200.5.5"
"""An address no route of the transit gateway's table covers."""
NO_ROUTE_PORT = 3306

TGW_INCIDENTS: tuple[Incident, ...] = (
    Incident(
        name="lateral-exfiltration",
        description=(
            f"{LATERAL_SOURCE} (account {MAIN_ACCOUNT}, VPC {MAIN.vpc_id}) copies gigabytes to "
            f"{LATERAL_PEER}:{LATERAL_PORT} in account {SECOND_ACCOUNT} (VPC {SECOND.vpc_id}) through the "
            "us-east-1 transit gateway over a few hours of the last day: the VPC pair tops `tgw vpcs`, its "
            f"two attachments ({MAIN.id}, {SECOND.id}) top `tgw attachments`, and the pair tops "
            f"`ratio {LATERAL_SOURCE}`."
        ),
        example_command="tgw vpcs",
    ),
    Incident(
        name="tgw-drops",
        description=(
            f"on the second account's attachment ({SECOND.id}), {BLACKHOLE_SOURCE} keeps retrying "
            f"{BLACKHOLE_DESTINATION}:{BLACKHOLE_PORT} behind a blackhole route and {NO_ROUTE_SOURCE} tries "
            f"{NO_ROUTE_DESTINATION}:{NO_ROUTE_PORT}, which no route covers, on every day: the two pairs top "
            "`tgw drops` (packets-lost-blackhole, packets-lost-no-route)."
        ),
        example_command="tgw drops",
    ),
)

AGGREGATION = 60
"""A transit gateway's flow log aggregates over 60 seconds, the only interval it takes."""
RESOURCE_TYPE = "TransitGateway"
"""`resource-type` of a flow log created on a transit gateway (on an attachment: TransitGatewayAttachment)."""
VERSION = "6"
"""The default format holds fields of versions 2 to 6; a record's version is the highest of its fields'."""
HEADER_LINE = " ".join(TGW_DEFAULT_HEADERS)

_OFFICE = ("192.168.10.21", "192.168.10.22", "192.168.10.23")


class _Pattern(NamedTuple):
    """Background sessions between two attachments' hosts, as a Poisson stream."""

    client_side: Attachment
    clients: tuple[str, ...]
    server_side: Attachment
    servers: tuple[str, ...]
    port: int
    proto: int
    per_hour: float
    request_bytes: tuple[int, int]
    response_bytes: tuple[int, int]
    max_seconds: int


_DNS = ((60, 90), (90, 400))
_API = ((400, 3_000), (1_000, 60_000))
_PING = ((84, 84), (84, 84))

_PATTERNS: dict[str, tuple[_Pattern, ...]] = {
    US_EAST_1: (
        _Pattern(MAIN, ("10.0.2.15", "10.0.2.16", "10.0.1.11"), SHARED, ("10.1.0.53",), 53, UDP, 20, *_DNS,
                 1),
        _Pattern(MAIN, ("10.0.2.15", "10.0.2.16"), SHARED, ("10.1.0.10",), 636, TCP, 6, (500, 3_000),
                 (1_000, 20_000), 10),
        _Pattern(SECOND, ("172.31.16.10",), SHARED, ("10.1.0.20",), 443, TCP, 8, (500, 4_000),
                 (50_000, 30_000_000), 120),
        _Pattern(SECOND, ("172.31.16.11",), MAIN, ("10.0.2.15", "10.0.2.16"), 443, TCP, 15, *_API, 20),
        _Pattern(SECOND, ("172.31.16.11", "172.31.48.5"), SHARED, ("10.1.0.53",), 53, UDP, 10, *_DNS, 1),
        _Pattern(VPN, _OFFICE, MAIN, ("10.0.1.10",), 22, TCP, 3, (3_000, 40_000), (5_000, 300_000), 1_800),
        _Pattern(VPN, _OFFICE, MAIN, ("10.0.1.11", "10.0.1.12"), 443, TCP, 10, (800, 4_000),
                 (2_000, 400_000), 90),
        _Pattern(MAIN, ("10.0.2.99",), SECOND, ("172.31.16.10", "172.31.16.11"), 0, ICMP, 12, *_PING, 1),
        _Pattern(MAIN, ("10.0.2.99",), SHARED, ("10.1.0.10", "10.1.0.20"), 0, ICMP, 12, *_PING, 1),
        _Pattern(MAIN, ("10.0.1.10",), SECOND, ("172.31.48.5",), 22, TCP, 1, (2_000, 20_000),
                 (4_000, 80_000), 900),
    ),
    EU_WEST_1: (
        _Pattern(EU_APP, ("10.0.130.20",), EU_DATA, ("172.30.1.30",), 5432, TCP, 10, (500, 8_000),
                 (1_000, 500_000), 120),
        _Pattern(EU_APP, ("10.0.129.10", "10.0.129.11"), EU_DATA, ("172.30.1.31",), 6379, TCP, 20, (100, 800),
                 (100, 4_000), 5),
    ),
}  # fmt: skip
"""Each region's background traffic."""


# --------------------------------------------------------------------------------------------------
# Records


class _Record(NamedTuple):
    """One record before formatting. `lost` is (no route, blackhole, MTU exceeded, TTL expired)."""

    start: int
    end: int
    attachment: Attachment
    status: str = "OK"
    direction: str | None = None  # ingress | egress
    src_side: Attachment | None = None
    dst_side: Attachment | None = None  # None: dropped before it had one
    src: str | None = None
    dst: str | None = None
    srcport: int | None = None
    dstport: int | None = None
    protocol: int | None = None
    packets: int | None = None
    nbytes: int | None = None
    tcp_flags: int | None = None
    lost: tuple[int, int, int, int] = (0, 0, 0, 0)


class _Collector:
    """One transit gateway's records in [start, end), seen through 60-second capture windows."""

    def __init__(self, region: str, start: int, end: int) -> None:
        self.region = region
        self.start = start
        self.end = end
        self.records: list[_Record] = []

    def emit(self, record: _Record) -> None:
        """Keep a record if it lies wholly in [start, end): every file is then delivered by `end`."""
        if record.start >= self.start and record.end < self.end:
            self.records.append(record)

    def flow(
        self,
        rng: random.Random,
        t0: int,
        seconds: int,
        sides: tuple[Attachment, Attachment],
        hosts: tuple[str, str],
        ports: tuple[int, int],
        proto: int,
        request_bytes: tuple[int, int],
        response_bytes: tuple[int, int] | None,
        mtu_drops: float = 0.0,
    ) -> None:
        """One connection from `hosts[0]` behind `sides[0]` to `hosts[1]` behind `sides[1]`: per capture
        window and direction, a record on the attachment it enters by and one on the attachment it leaves by.
        `mtu_drops`: the chance a response window loses one to three packets for their size (on the record
        of the attachment the packets entered by)."""
        t1 = t0 + max(seconds, 1)
        w = t0 - t0 % AGGREGATION
        while w < t1:
            start, end = max(t0, w), min(t1, w + AGGREGATION)
            legs = [(sides, hosts, ports, _log_uniform(rng, *request_bytes), False)]
            if response_bytes is not None:
                back = ((sides[1], sides[0]), (hosts[1], hosts[0]), (ports[1], ports[0]))
                legs.append((*back, _log_uniform(rng, *response_bytes), True))
            for (entry, exit_), (src, dst), (sport, dport), nbytes, reply in legs:
                packets = _packets(rng, nbytes, proto)
                flags = _tcp_flags(proto, reply, start == t0, end == t1, rejected=response_bytes is None) or 0
                mtu = rng.randint(1, 3) if reply and mtu_drops and rng.random() < mtu_drops else 0
                common = _Record(start, end, entry, "OK", "ingress", entry, exit_, src, dst, sport, dport,
                                 proto, packets, nbytes, flags, (0, 0, mtu, 0))  # fmt: skip
                self.emit(common)
                self.emit(common._replace(attachment=exit_, direction="egress", lost=(0, 0, 0, 0)))
            w += AGGREGATION

    def dropped(
        self,
        t0: int,
        entry: Attachment,
        hosts: tuple[str, str],
        ports: tuple[int, int],
        packets: int,
        kind: int,
    ) -> None:
        """Packets the transit gateway drops where they enter (`kind`: 0 no route, 1 blackhole, 3 TTL
        expired): one ingress record, no attachment to leave by."""
        lost = [0, 0, 0, 0]
        lost[kind] = packets
        udp = kind == 3  # a traceroute's probes; the others are a client's SYNs
        self.emit(
            _Record(t0, t0 + 1, entry, "OK", "ingress", entry, None, hosts[0], hosts[1], ports[0], ports[1],
                    UDP if udp else TCP, packets, packets * 60, 0 if udp else 2,
                    (lost[0], lost[1], lost[2], lost[3]))
        )  # fmt: skip


def _background(col: _Collector, rng: random.Random, pattern: _Pattern, scale: float) -> None:
    """A Poisson stream of sessions for one pattern, thinned by the daily curve."""
    rate = pattern.per_hour * scale / 3_600
    if rate <= 0:
        return
    t = float(col.start)
    big = pattern.response_bytes[1] >= 10_000_000
    while True:
        t += rng.expovariate(rate)
        if t >= col.end:
            return
        if rng.random() > _diurnal(int(t)):
            continue
        client, server = rng.choice(pattern.clients), rng.choice(pattern.servers)
        ports = (0, 0) if pattern.proto == ICMP else (rng.randint(*EPHEMERAL_PORTS), pattern.port)
        col.flow(
            rng,
            int(t),
            rng.randint(1, pattern.max_seconds),
            (pattern.client_side, pattern.server_side),
            (client, server),
            ports,
            pattern.proto,
            pattern.request_bytes,
            pattern.response_bytes,
            mtu_drops=0.05 if big else 0.0,
        )


def _lateral_exfiltration(col: _Collector, rng: random.Random) -> None:
    """Gigabytes from the reporting server to the second account's CI runner over a few hours of the last
    day, and a few small test copies on the days before."""
    begin = max(col.start, col.end - 14 * 3_600 + rng.randint(0, 1_800))
    t = begin
    while t < min(begin + 3 * 3_600, col.end):
        seconds = rng.randint(600, 1_500)  # one copy per archive
        col.flow(
            rng,
            t,
            seconds,
            (MAIN, SECOND),
            (LATERAL_SOURCE, LATERAL_PEER),
            (rng.randint(*EPHEMERAL_PORTS), LATERAL_PORT),
            TCP,
            (30_000_000, 80_000_000),
            (200_000, 900_000),
        )
        t += seconds + rng.randint(5, 60)
    for _ in range(4):
        t = rng.randint(col.start, max(col.start, begin - 3_600))
        col.flow(
            rng,
            t,
            rng.randint(5, 40),
            (MAIN, SECOND),
            (LATERAL_SOURCE, LATERAL_PEER),
            (rng.randint(*EPHEMERAL_PORTS), LATERAL_PORT),
            TCP,
            (20_000, 200_000),
            (3_000, 9_000),
        )


def _drops(col: _Collector, rng: random.Random) -> None:
    """The planted drops on the second account's attachment, and a few TTL expiries of office traceroutes."""
    t = col.start + rng.randint(0, 300)
    while t < col.end:  # a client whose database moved away retries every two to five minutes
        port = rng.randint(*EPHEMERAL_PORTS)
        hosts = (BLACKHOLE_SOURCE, BLACKHOLE_DESTINATION)
        col.dropped(t, SECOND, hosts, (port, BLACKHOLE_PORT), rng.randint(3, 6), 1)
        t += rng.randint(120, 300)
    hour = col.start - col.start % 3_600
    while hour < col.end:  # a misconfigured job tries every hour, a handful of connections a time
        for _ in range(rng.randint(3, 12)):
            at = hour + rng.randint(0, 3_599)
            port = rng.randint(*EPHEMERAL_PORTS)
            hosts = (NO_ROUTE_SOURCE, NO_ROUTE_DESTINATION)
            col.dropped(at, SECOND, hosts, (port, NO_ROUTE_PORT), rng.randint(1, 3), 0)
        if rng.random() < 0.15:  # someone in the office runs a traceroute
            at = hour + rng.randint(0, 3_599)
            hosts = (rng.choice(_OFFICE), "10.0.2.15")
            col.dropped(at, VPN, hosts, (rng.randint(*EPHEMERAL_PORTS), 33434), rng.randint(1, 3), 3)
        hour += 3_600


def _status_rows(col: _Collector, rng: random.Random, attachments: tuple[Attachment, ...]) -> None:
    """A couple of SKIPDATA rows a day on random attachments."""
    days = max(1, (col.end - col.start) // 86_400)
    for _ in range(2 * days):
        w = rng.randrange(
            col.start - col.start % AGGREGATION + AGGREGATION, col.end - AGGREGATION, AGGREGATION
        )
        col.emit(_Record(w, w + AGGREGATION, rng.choice(attachments), "SKIPDATA"))


# --------------------------------------------------------------------------------------------------
# Files


def _line(region: str, r: _Record) -> str:
    """The record in the default Transit Gateway format, `-` where a field does not apply."""
    values: dict[str, object] = {
        "version": VERSION,
        "resource-type": RESOURCE_TYPE,
        "account-id": TGW_OWNER,
        "tgw-id": tgw_id(region),
        "tgw-attachment-id": r.attachment.id,
        "start": r.start,
        "end": r.end,
        "log-status": r.status,
        "region": region,
    }
    if r.status == "OK" and r.src_side is not None:
        src, dst = r.src_side, r.dst_side
        values.update({
            "tgw-src-vpc-account-id": src.account, "tgw-src-vpc-id": src.vpc_id,
            "tgw-src-subnet-id": src.subnet_id, "tgw-src-eni": src.eni, "tgw-src-az-id": src.az_id,
            "srcaddr": r.src, "dstaddr": r.dst, "srcport": r.srcport, "dstport": r.dstport,
            "protocol": r.protocol, "packets": r.packets, "bytes": r.nbytes, "type": "IPv4",
            "packets-lost-no-route": r.lost[0], "packets-lost-blackhole": r.lost[1],
            "packets-lost-mtu-exceeded": r.lost[2], "packets-lost-ttl-expired": r.lost[3],
            "tcp-flags": r.tcp_flags, "flow-direction": r.direction,
        })  # fmt: skip
        if dst is not None:
            values.update({
                "tgw-dst-vpc-account-id": dst.account, "tgw-dst-vpc-id": dst.vpc_id,
                "tgw-dst-subnet-id": dst.subnet_id, "tgw-dst-eni": dst.eni, "tgw-dst-az-id": dst.az_id,
                "tgw-pair-attachment-id": (dst if r.direction == "ingress" else src).id,
            })  # fmt: skip
    return " ".join("-" if values.get(h) is None else str(values[h]) for h in TGW_DEFAULT_HEADERS)


def _write_files(root: Path, col: _Collector) -> tuple[int, set[date]]:
    """One file per 10-minute delivery, holding the records that ended since the last, in the default
    layout's folders (plain prefixes, daily), named as VPC flow logs' files are."""
    layout = LAYOUTS[DEFAULT_LAYOUT]
    flow_log_id = "fl-" + _hex(f"flow-log/{TGW_OWNER}/{col.region}/tgw", 17)
    by_delivery: dict[int, list[_Record]] = defaultdict(list)
    for r in col.records:
        by_delivery[(r.end // DELIVERY_INTERVAL + 1) * DELIVERY_INTERVAL].append(r)
    days: set[date] = set()
    for delivered, records in sorted(by_delivery.items()):
        records.sort(key=lambda r: (r.start, r.end, r.attachment.id, r.direction or "", r.src or ""))
        data = ("\n".join([HEADER_LINE, *(_line(col.region, r) for r in records)]) + "\n").encode()
        at = datetime.fromtimestamp(delivered, UTC)
        folder = root / layout.folder(TGW_OWNER, col.region, at)
        name = (
            f"{TGW_OWNER}_vpcflowlogs_{col.region}_{flow_log_id}_{at:%Y%m%dT%H%MZ}_"
            f"{hashlib.sha1(data, usedforsecurity=False).hexdigest()[:8]}{layout.suffix}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(_gzip(data))
        days.add(at.date())
    return len(by_delivery), days


def _rng(seed: int, *parts: str) -> random.Random:
    """An independent stream per transit gateway and purpose."""
    return random.Random(f"{seed}/tgw/" + "/".join(parts))


def generate_tgw(
    root: Path, *, end: datetime | None = None, days: int = 3, seed: int = 7, scale: float = 1.0
) -> GenerationReport:
    """Write `days` days of Transit Gateway flow logs ending at `end` (UTC, default: this hour) under
    `root/AWSLogs`, in the default Transit Gateway format (`TGW_DEFAULT_FORMAT`: set FLOWBOT_LOG_FORMAT to it
    to read them).

    Records start in [end - days, end) and end before `end`. `scale` multiplies the background traffic; the
    planted incidents keep their size. Refuses to write into a root that already has an `AWSLogs` folder with
    files, so that two runs never mix.
    """
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
    logs_dir = Path(root) / "AWSLogs"
    if logs_dir.exists() and any(p.is_file() for p in logs_dir.rglob("*")):
        raise FileExistsError(f"{logs_dir} already holds files; remove it or choose another root")

    files = records = 0
    all_days: set[date] = set()
    for region in REGIONS:
        col = _Collector(region, start, stop)
        rng = _rng(seed, region, "background")
        for pattern in _PATTERNS[region]:
            _background(col, rng, pattern, scale)
        if region == US_EAST_1:
            _lateral_exfiltration(col, _rng(seed, region, "lateral"))
            _drops(col, _rng(seed, region, "drops"))
        _status_rows(col, _rng(seed, region, "status"), tuple(a for a in ATTACHMENTS if a.region == region))
        n_files, region_days = _write_files(Path(root), col)
        files += n_files
        records += len(col.records)
        all_days |= region_days

    return GenerationReport(
        root=Path(root),
        files=files,
        records=records,
        first_day=min(all_days),
        last_day=max(all_days),
        accounts=(TGW_OWNER,),
        regions=REGIONS,
    )
