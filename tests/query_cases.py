"""What the query tests share: the console's queries by template, the commands that run them, and the oracle's
answer for each (tests/flowlog_oracle.py), so that every layout and format is checked by the same cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import (
    Row,
    expected_admin,
    expected_family_bytes,
    expected_pairs,
    expected_records,
    expected_talkers,
    expected_tcp_from,
    expected_top_instances,
    expected_top_subnets,
    scope_of,
)

CATALOG = load_catalog()
SOURCE = "VPC console Athena integration: "
CONSOLE = {
    "accepted": "VpcFlowLogsAcceptedTraffic",
    "admin_ports": "VpcFlowLogsAdminPortTraffic",
    "bytes_ipv4": "VpcFlowLogsIPv4Traffic",
    "bytes_ipv6": "VpcFlowLogsIPv6Traffic",
    "rejected_tcp": "VpcFlowLogsRejectedTCPTraffic",
    "rejected": "VpcFlowLogsRejectedTraffic",
    "ssh_rdp": "VpcFlowLogsSshRdpTraffic",
    "talkers": "VpcFlowLogsTopTalkers",
    "talkers_packets": "VpcFlowLogsTopTalkersPacketLevel",
    "talkers_instances": "VpcFlowLogsTopTalkingInstances",
    "talkers_subnets": "VpcFlowLogsTopTalkingSubnets",
    "tcp_from": "VpcFlowLogsTopTcpTraffic",
    "pairs": "VpcFlowLogsTotalBytesTransferred",
    "pairs_packets": "VpcFlowLogsTotalBytesTransferredPacketLevel",
    "traffic_from": "VpcFlowLogsTrafficFrmSrcAddr",
    "traffic_to": "VpcFlowLogsTrafficToDstAddr",
}
"""Template name → the console's named query it stands for."""
NEEDS_V3 = {"talkers_packets", "talkers_instances", "talkers_subnets", "pairs_packets"}
"""The templates that read version 3 fields (pkt-srcaddr/pkt-dstaddr, instance-id, vpc-id/subnet-id)."""
IPS = {
    "tcp_from": ["10.0.1.25", "10.0.3.20"],
    "traffic_from": ["10.0.1.25", "198.51.100.23"],
    "traffic_to": ["203.0.113.66", "10.0.1.10"],
}


def _invocations(names: list[str]) -> list[tuple[str, str]]:
    """(template, text typed): each template once, those that take an address once per address."""
    out = []
    for name in names:
        words = " ".join(CATALOG[name].command)
        out += [(name, f"{words} {ip}") for ip in IPS[name]] if CATALOG[name].params else [(name, words)]
    return out


ALL = _invocations(sorted(CONSOLE))
ON_V2 = _invocations(sorted(set(CONSOLE) - NEEDS_V3))


def request(text: str, settings: Settings, start: datetime, end: datetime, **scope: str) -> FlowRequest:
    options = "".join(f" --{k} {v}" for k, v in scope.items())
    parsed = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M:%S}Z --to {end:%Y-%m-%dT%H:%M:%S}Z{options}",
        CATALOG,
        settings,
        SAMPLE_END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


def run(engine: LocalEngine, req: FlowRequest) -> list[tuple[Any, ...]]:
    template = CATALOG[req.query]
    result = engine.run(template, req)
    assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in template.columns]
    return [row for batch in result.batches() for row in batch]


def expected(rows: list[Row], req: FlowRequest) -> list[tuple[Any, ...]]:
    """The template's answer, computed by the oracle (limit applied only when the template takes one)."""
    scope = scope_of(req)
    ip = str(req.params["ip"]) if "ip" in req.params else None
    limit = req.limit if CATALOG[req.query].uses_limit else None
    answers: dict[str, Callable[[], list[Any]]] = {
        "admin_ports": lambda: expected_admin(rows, limit, **scope),
        "bytes_ipv4": lambda: expected_family_bytes(rows, 4, **scope),
        "bytes_ipv6": lambda: expected_family_bytes(rows, 6, **scope),
        "talkers": lambda: expected_talkers(rows, False, limit, **scope),
        "talkers_packets": lambda: expected_talkers(rows, True, limit, **scope),
        "talkers_instances": lambda: expected_top_instances(rows, limit, **scope),
        "talkers_subnets": lambda: expected_top_subnets(rows, limit, **scope),
        "pairs": lambda: expected_pairs(rows, False, limit, **scope),
        "pairs_packets": lambda: expected_pairs(rows, True, limit, **scope),
        "tcp_from": lambda: expected_tcp_from(rows, ip or "", limit, **scope),
    }
    if req.query in answers:
        return answers[req.query]()
    return expected_records(rows, req.query, ip, limit, **scope)
