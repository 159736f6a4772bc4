"""Sample records for the playbook's JSON table, derived from sample flow logs already on disk.

Each accepted or rejected flow-log record becomes one JSON line seen from its interface: `ip` is the
remote address, bytes are `in_bytes` or `out_bytes` by direction, times are ISO 8601 UTC text.
NODATA and SKIPDATA records have no flow and are left out. One gzip'd file per source file's day,
account and region under `<root>/vpc_flow_logs/`, deterministic for the same input.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from bot.query.layout import JSON_FOLDER


def _iso(epoch: str) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(fields: dict[str, str], region: str) -> dict[str, Any] | None:
    """One JSON record for a flow-log record, or None for a record without a flow."""
    if fields.get("log-status") != "OK":
        return None
    src, dst = fields["srcaddr"], fields["dstaddr"]
    outbound = ip_address(src).is_private or not ip_address(dst).is_private
    local, remote = (src, dst) if outbound else (dst, src)
    local_port, remote_port = (
        (fields["srcport"], fields["dstport"]) if outbound else (fields["dstport"], fields["srcport"])
    )
    size = int(fields["bytes"])
    packets = max(int(fields["packets"]), 1)
    return {
        "is_rejected_packet": "true" if fields["action"] == "REJECT" else "false",
        "avg_in_packet_size": 0 if outbound else size // packets,
        "local_port": int(local_port),
        "ip": remote,
        "end_time": _iso(fields["end"]),
        "remote_port": int(remote_port),
        "start_time": _iso(fields["start"]),
        "protocol": int(fields["protocol"]),
        "in_bytes": 0 if outbound else size,
        "account_id": fields["account-id"],
        "out_bytes": size if outbound else 0,
        "source_region": region,
        "avg_out_packet_size": size // packets if outbound else 0,
        "interface_local_ips": local,
    }


def write_json_sample(root: Path) -> int:
    """Write `<root>/vpc_flow_logs/` from `<root>/AWSLogs/`; the number of JSON records written."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / "AWSLogs").rglob("*.log.gz")):
        account, _, region, year, month, day = path.relative_to(root / "AWSLogs").parts[:6]
        with gzip.open(path, "rt", encoding="ascii") as handle:
            headers = handle.readline().split()
            for line in handle:
                record = _record(dict(zip(headers, line.split(), strict=False)), region)
                if record is not None:
                    groups[f"{account}_{region}_{year}{month}{day}"].append(
                        json.dumps(record, sort_keys=True)
                    )
    folder = root / JSON_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in sorted(groups.items()):
        raw = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            out.write(("\n".join(lines) + "\n").encode())
        (folder / f"{name}.json.gz").write_bytes(raw.getvalue())
    return sum(len(lines) for lines in groups.values())
