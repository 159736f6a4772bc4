"""Transit Gateway flow logs' fields: known to the field list (appended, the VPC fields untouched), so that
FLOWBOT_LOG_FORMAT takes a transit gateway's format; the default one is AWS's, its table has their columns.

The expected lists are written out from AWS's field table (Amazon VPC Transit Gateways, "Transit Gateway Flow
Log records", https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-fields), not taken from
the code under test."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.flowlog_format import (
    ALL_HEADERS,
    BY_HEADER,
    DEFAULT_V2_FORMAT,
    FIELDS,
    TGW_DEFAULT_FORMAT,
    TGW_DEFAULT_HEADERS,
    format_columns,
    parse_log_format,
    table_columns,
)
from bot.settings import Settings
from tests.flowlog_oracle import FIELD_COLUMNS, TGW_V6_HEADERS

VPC_HEADERS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "type", "tcp-flags", "subnet-id",
    "sublocation-type", "sublocation-id", "region", "pkt-srcaddr", "pkt-dstaddr", "instance-id", "az-id",
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
)  # fmt: skip
"""The fields Flowbot knew before, in their order: appending the TGW ones leaves them where they were."""
TGW_FIELDS = {
    "resource-type": ("resourcetype", "varchar"),
    "tgw-id": ("tgwid", "varchar"),
    "tgw-attachment-id": ("tgwattachmentid", "varchar"),
    "tgw-src-vpc-account-id": ("tgwsrcvpcaccountid", "varchar"),
    "tgw-dst-vpc-account-id": ("tgwdstvpcaccountid", "varchar"),
    "tgw-src-vpc-id": ("tgwsrcvpcid", "varchar"),
    "tgw-dst-vpc-id": ("tgwdstvpcid", "varchar"),
    "tgw-src-subnet-id": ("tgwsrcsubnetid", "varchar"),
    "tgw-dst-subnet-id": ("tgwdstsubnetid", "varchar"),
    "tgw-src-eni": ("tgwsrceni", "varchar"),
    "tgw-dst-eni": ("tgwdsteni", "varchar"),
    "tgw-src-az-id": ("tgwsrcazid", "varchar"),
    "tgw-dst-az-id": ("tgwdstazid", "varchar"),
    "tgw-pair-attachment-id": ("tgwpairattachmentid", "varchar"),
    "packets-lost-no-route": ("packetslostnoroute", "bigint"),
    "packets-lost-blackhole": ("packetslostblackhole", "bigint"),
    "packets-lost-mtu-exceeded": ("packetslostmtuexceeded", "bigint"),
    "packets-lost-ttl-expired": ("packetslostttlexpired", "bigint"),
}
"""The fields only Transit Gateway flow logs have: column without dashes, Athena type (counts bigint)."""
DOCUMENTED_DEFAULT = (
    "${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-attachment-id} ${tgw-src-vpc-account-id} "
    "${tgw-dst-vpc-account-id} ${tgw-src-vpc-id} ${tgw-dst-vpc-id} ${tgw-src-subnet-id} ${tgw-dst-subnet-id} "
    "${tgw-src-eni} ${tgw-dst-eni} ${tgw-src-az-id} ${tgw-dst-az-id} ${tgw-pair-attachment-id} ${srcaddr} "
    "${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${log-status} ${type} "
    "${packets-lost-no-route} ${packets-lost-blackhole} ${packets-lost-mtu-exceeded} "
    "${packets-lost-ttl-expired} ${tcp-flags} ${region} ${flow-direction} ${pkt-src-aws-service} "
    "${pkt-dst-aws-service}"
)
"""The default format: "all version 2 to version 6 fields, in the order shown in the available fields
table"."""


def test_the_tgw_fields_are_appended_and_the_vpc_fields_keep_their_order() -> None:
    assert ALL_HEADERS[: len(VPC_HEADERS)] == VPC_HEADERS
    assert ALL_HEADERS[len(VPC_HEADERS) :] == tuple(TGW_FIELDS)
    for field in FIELDS[len(VPC_HEADERS) :]:
        assert (field.column, field.athena_type) == TGW_FIELDS[field.header]
        assert "-" not in field.column and field.column.isalnum()
    assert len({f.column for f in FIELDS}) == len(FIELDS), "column names stay unique"


def test_the_default_tgw_format_is_the_documented_one() -> None:
    assert TGW_DEFAULT_FORMAT == DOCUMENTED_DEFAULT
    assert parse_log_format(TGW_DEFAULT_FORMAT) == TGW_DEFAULT_HEADERS == TGW_V6_HEADERS
    shared = [h for h in TGW_DEFAULT_HEADERS if h not in TGW_FIELDS]
    assert shared == [
        "version", "account-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes",
        "start", "end", "log-status", "type", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service",
        "pkt-dst-aws-service",
    ]  # fmt: skip
    assert all(h in VPC_HEADERS for h in shared), "the fields both logs have are the same fields"


def test_flowbot_log_format_takes_a_tgw_format() -> None:
    assert Settings(log_format=TGW_DEFAULT_FORMAT).log_format == TGW_DEFAULT_FORMAT
    custom = "${tgw-attachment-id} ${srcaddr} ${dstaddr} ${bytes} ${start} ${packets-lost-blackhole}"
    assert parse_log_format(custom)[0] == "tgw-attachment-id"
    with pytest.raises(ValidationError):
        Settings(log_format="${tgw-attachment} ${srcaddr}")


def test_a_tgw_format_has_no_interface_action_vpc_or_subnet() -> None:
    columns = format_columns(TGW_DEFAULT_FORMAT)
    assert not columns & {"interfaceid", "action", "vpcid", "subnetid", "instanceid", "pktsrcaddr"}
    assert {"tgwattachmentid", "packetslostblackhole", "sourceaddress", "numbytes", "starttime"} <= columns
    assert not format_columns(DEFAULT_V2_FORMAT) & {c for c, _ in TGW_FIELDS.values()}


def test_the_table_of_a_tgw_format_types_its_columns() -> None:
    columns = dict(table_columns(TGW_DEFAULT_HEADERS))
    assert columns["tgwattachmentid"] == "varchar" and columns["packetslostnoroute"] == "bigint"
    assert list(columns)[-3:] == ["date_partition", "region_partition", "account_partition"]
    every = dict(table_columns(ALL_HEADERS))
    assert {c for c, _ in TGW_FIELDS.values()} <= set(every), "the local engine's table has every field"


def test_the_oracle_reads_every_known_field() -> None:
    assert set(FIELD_COLUMNS) == set(BY_HEADER)
    for header, (column, kind) in FIELD_COLUMNS.items():
        assert BY_HEADER[header].column == column, header
        if header in TGW_FIELDS:
            assert kind == ("bigint" if TGW_FIELDS[header][1] == "bigint" else "str"), header
