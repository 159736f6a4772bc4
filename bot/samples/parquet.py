"""Sample flow-log files in Parquet, as a flow log with `FileFormat=parquet` delivers them.

The records are the text layout's lines, so that every layout holds the same traffic. Each field becomes the
column of `PARQUET_COLUMNS` (its header name with `_` for `-`, typed as AWS's reference DDL for Parquet
flow logs types it); a numeric field's `-` (does not apply) is NULL, a string field keeps its `-`.
AWS does not document what a Parquet file holds for a field that does not apply; the README's known limits
say so. Compression is gzip inside the Parquet file (VPC User Guide, "Flow log files": "Each file is
compressed into a single Gzip file").

DuckDB writes the files: it is already the local engine, so no Parquet library is added for the samples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.flowlog_layouts import PARQUET_TYPES, parquet_column

_DUCKDB_TYPES = {"integer": "INTEGER", "bigint": "BIGINT"}


def _select_list(headers: tuple[str, ...]) -> str:
    """Typed Parquet columns from the text fields `f0`, `f1`, ... (fixed text: headers are known fields)."""
    items = []
    for i, header in enumerate(headers):
        kind = PARQUET_TYPES.get(header)
        value = f"f{i}" if kind is None else f"CAST(NULLIF(f{i}, '-') AS {_DUCKDB_TYPES[kind]})"
        items.append(f'{value} AS "{parquet_column(header)}"')
    return ", ".join(items)


def write_parquet(headers: tuple[str, ...], files: list[tuple[Path, list[str]]]) -> None:
    """Write each (path, text lines) as one Parquet file with one column per header field."""
    _copy(headers, files, _select_list(headers))


def _copy(headers: tuple[str, ...], files: list[tuple[Path, list[str]]], select: str) -> None:
    """Load every file's text lines into DuckDB once (fields `f0`, `f1`, ... as text), then write each file's
    rows, through `select`, as one Parquet file."""
    import duckdb  # the samples' writer only; the Slack app never imports this module

    with tempfile.TemporaryDirectory() as scratch:
        lines_file = Path(scratch) / "lines.txt"
        with lines_file.open("w", encoding="ascii") as out:
            for number, (_, lines) in enumerate(files):
                for line in lines:
                    out.write(f"{number} {line}\n")
        con = duckdb.connect(":memory:")
        try:
            columns = {"file": "INTEGER", **{f"f{i}": "VARCHAR" for i in range(len(headers))}}
            con.read_csv(
                str(lines_file), header=False, delimiter=" ", columns=columns, auto_detect=False, quotechar=""
            ).create("lines")
            for number, (path, _) in enumerate(files):
                query = f"SELECT {select} FROM lines WHERE file = {number} ORDER BY rowid"  # noqa: S608
                target = str(path).replace("'", "''")  # a quote in the folder's name stays text
                con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION gzip)")
        finally:
            con.close()


_OCSF_SELECT = """
struct_pack(product := struct_pack(version := {version}, name := 'Amazon VPC', vendor_name := 'AWS'))
    AS metadata,
struct_pack(account := struct_pack(uid := {account_id}), region := {region}, zone := {az_id},
    provider := 'AWS') AS cloud,
struct_pack(ip := {srcaddr}, port := {srcport_int}, interface_uid := {interface_id}, vpc_uid := {vpc_id},
    subnet_uid := {subnet_id}, instance_uid := {instance_id}, svc_name := {pkt_src_aws_service})
    AS src_endpoint,
struct_pack(ip := {dstaddr}, port := {dstport_int}, interface_uid := CAST(NULL AS VARCHAR),
    vpc_uid := CAST(NULL AS VARCHAR), subnet_uid := CAST(NULL AS VARCHAR),
    instance_uid := CAST(NULL AS VARCHAR), svc_name := {pkt_dst_aws_service}) AS dst_endpoint,
struct_pack(protocol_num := {protocol_int}, tcp_flags := {tcp_flags_int},
    direction := CASE {flow_direction} WHEN 'ingress' THEN 'Inbound' WHEN 'egress' THEN 'Outbound' END)
    AS connection_info,
struct_pack(packets := {packets_big}, bytes := {bytes_big}) AS traffic,
{start_big} * 1000 AS time,
{start_big} * 1000 AS start_time,
{end_big} * 1000 AS end_time,
CASE {action} WHEN 'ACCEPT' THEN 1 WHEN 'REJECT' THEN 2 ELSE 0 END AS action_id,
CASE {action} WHEN 'ACCEPT' THEN 'Allowed' WHEN 'REJECT' THEN 'Denied' ELSE 'Unknown' END AS action,
{log_status} AS status_code,
4001 AS class_uid
"""
"""One flow-log record as an OCSF Network Activity event (bot/query/ocsf.py reads it back): the columns
Security Lake's source version 2 table has for what Flowbot reads, nested as OCSF nests them."""


def write_ocsf(headers: tuple[str, ...], files: list[tuple[Path, list[str]]]) -> None:
    """Write each (path, text lines of `headers`) as one Security Lake style OCSF Parquet file. A string `-`
    stays `-` and a numeric one is NULL, as in the Parquet layouts; times become epoch milliseconds."""
    index = {header.replace("-", "_"): f"f{i}" for i, header in enumerate(headers)}
    values: dict[str, str] = {}
    for name in ("version", "account_id", "region", "az_id", "srcaddr", "dstaddr", "interface_id", "vpc_id",
                 "subnet_id", "instance_id", "pkt_src_aws_service", "pkt_dst_aws_service", "flow_direction",
                 "action", "log_status"):  # fmt: skip
        values[name] = index.get(name, "CAST(NULL AS VARCHAR)")
    for name, kind in (("srcport", "INTEGER"), ("dstport", "INTEGER"), ("protocol", "INTEGER"),
                       ("tcp_flags", "INTEGER"), ("packets", "BIGINT"), ("bytes", "BIGINT"),
                       ("start", "BIGINT"), ("end", "BIGINT")):  # fmt: skip
        column = index.get(name)
        cast = f"CAST(NULLIF({column}, '-') AS {kind})" if column else f"CAST(NULL AS {kind})"
        values[f"{name}_{'int' if kind == 'INTEGER' else 'big'}"] = cast
    _copy(headers, files, _OCSF_SELECT.format(**values))
