"""`flowbot athena setup` converges the Glue catalog on the settings, and `flowbot check` reports drift.

On moto's Glue, S3 and Athena APIs (moto runs no SQL, so the tables are read back from Glue as Athena
would find them). The expected columns and projection values are written out here from the settings'
own text, not computed by bot/aws/glue.py or bot/aws/ddl.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bot.aws.glue import TableShape, differences
from bot.cli import main
from bot.health import catalog_problem
from bot.settings import Settings
from tests.conftest import fake_aws_environment

REGION = "eu-west-1"
V2 = ("version", "account", "interfaceid", "sourceaddress", "destinationaddress", "sourceport",
      "destinationport", "protocol", "numpackets", "numbytes", "starttime", "endtime", "action",
      "logstatus")  # fmt: skip
V2_TYPES = ("int", "string", "string", "string", "string", "int", "int", "int", "bigint", "bigint", "bigint",
            "bigint", "string", "string")  # fmt: skip
"""V2's Hive types: the playbook's, but numpackets, starttime and endtime are bigint, as in AWS's reference
DDL (the playbook's int overflows past 2^31-1 packets, and for times from January 2038)."""
WIDENED = ("numpackets", "starttime", "endtime")
APPLY = "run `flowbot athena setup --apply`"
V5_EXTRA = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${tcp-flags}"
)
ENV = {
    "FLOWBOT_ENGINE": "athena",
    "FLOWBOT_FLOW_LOGS_BUCKET": "central-logs",
    "FLOWBOT_ACCOUNTS": "012345678901",
    "FLOWBOT_REGIONS": "eu-west-1",
    "FLOWBOT_FIRST_DAY": "2025-11-30",
    "FLOWBOT_ATHENA_REGION": REGION,
    "FLOWBOT_ATHENA_DATABASE": "ir",
    "FLOWBOT_ATHENA_OUTPUT_LOCATION": "s3://athena-results/flowbot/",
    "FLOWBOT_ATHENA_WORKGROUP": "flowbot",
    "FLOWBOT_ATHENA_BYTES_SCANNED_CUTOFF": "50000000000",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="athena-results", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield monkeypatch


def setup(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, list[str]]:
    code = main(["athena", "setup", *flags])
    return code, capsys.readouterr().out.splitlines()


def table() -> Any:
    """The flow-log table as Glue holds it."""
    return boto3.client("glue", region_name=REGION).get_table(DatabaseName="ir", Name="vpcflow")["Table"]


def test_setup_on_an_empty_account_creates_then_finds_everything_in_place(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup(capsys) == (
        0,
        ["created workgroup flowbot", "created database ir", "created table ir.vpcflow"],
    )
    workgroup = boto3.client("athena", region_name=REGION).get_work_group(WorkGroup="flowbot")["WorkGroup"]
    wanted = {
        "ResultConfiguration": {
            "OutputLocation": "s3://athena-results/flowbot/",
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": 50_000_000_000,
    }
    assert {key: workgroup["Configuration"][key] for key in wanted} == wanted  # moto adds its defaults
    made = table()
    storage = made["StorageDescriptor"]
    assert tuple(c["Name"] for c in storage["Columns"]) == V2
    assert tuple(c["Type"] for c in storage["Columns"]) == V2_TYPES
    assert storage["Location"] == "s3://central-logs/AWSLogs/"
    assert storage["SerdeInfo"]["Parameters"]["field.delim"] == " "
    params = made["Parameters"]
    assert params["projection.account_partition.values"] == "012345678901"
    assert params["projection.date_partition.range"] == "2025/11/30,NOW"
    assert params["skip.header.line.count"] == "1"
    assert [k["Name"] for k in made["PartitionKeys"]] == [
        "date_partition", "region_partition", "account_partition"
    ]  # fmt: skip
    assert setup(capsys) == (
        0,
        ["workgroup flowbot matches the settings", "table ir.vpcflow matches the settings"],
    )
    assert catalog_problem(Settings()) is None


def test_after_the_settings_change_check_reports_drift_setup_shows_it_and_apply_converges(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], redis_url: str
) -> None:
    aws.setenv("FLOWBOT_REDIS_URL", redis_url)
    assert setup(capsys)[0] == 0
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ready: ")
    aws.setenv("FLOWBOT_ACCOUNTS", "012345678901,111122223333")
    aws.setenv("FLOWBOT_LOG_FORMAT", V5_EXTRA)

    problem = catalog_problem(Settings())  # what `flowbot check` and /readyz report
    assert problem is not None and "table ir.vpcflow differs from the settings" in problem
    assert "flowbot athena setup --apply" in problem
    assert main(["check"]) == 1
    assert (
        "table ir.vpcflow differs from the settings (columns to add: vpcid, tcpflags"
        in capsys.readouterr().err
    )

    code, lines = setup(capsys)
    assert code == 1  # drift left in place is a failure to script against
    assert lines[:2] == [
        "workgroup flowbot matches the settings",
        "table ir.vpcflow differs from the settings:",
    ]
    assert "  columns to add: vpcid, tcpflags" in lines
    assert (
        "  projection.account_partition.values: '012345678901'; wanted '012345678901,111122223333'" in lines
    )
    assert lines[-1].startswith("run `flowbot athena setup --apply`")
    assert table()["Parameters"]["projection.account_partition.values"] == "012345678901"

    code, lines = setup(capsys, "--apply")
    assert code == 0 and lines[1] == "updated table ir.vpcflow:"
    storage = table()["StorageDescriptor"]
    assert tuple(c["Name"] for c in storage["Columns"]) == (*V2, "vpcid", "tcpflags")
    assert table()["Parameters"]["projection.account_partition.values"] == "012345678901,111122223333"
    assert catalog_problem(Settings()) is None
    assert setup(capsys) == (
        0,
        ["workgroup flowbot matches the settings", "table ir.vpcflow matches the settings"],
    )
    assert main(["check"]) == 0


def test_a_table_made_when_packets_start_and_end_were_int_drifts_until_apply_widens_them(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup(capsys)[0] == 0
    made = table()
    storage = dict(made["StorageDescriptor"])
    storage["Columns"] = [
        {"Name": c["Name"], "Type": "int" if c["Name"] in WIDENED else c["Type"]} for c in storage["Columns"]
    ]
    keep = ("Name", "TableType", "Parameters", "PartitionKeys")
    boto3.client("glue", region_name=REGION).update_table(
        DatabaseName="ir", TableInput={**{k: made[k] for k in keep}, "StorageDescriptor": storage}
    )  # as the playbook's DDL (and Flowbot before) made it

    widen = [f"column {name}: int in the table, bigint wanted" for name in WIDENED]
    problem = catalog_problem(Settings())
    assert problem == f"table ir.vpcflow differs from the settings ({'; '.join(widen)}); {APPLY}"
    code, lines = setup(capsys)
    assert code == 1
    assert lines[1:5] == ["table ir.vpcflow differs from the settings:", *(f"  {line}" for line in widen)]
    code, lines = setup(capsys, "--apply")
    assert code == 0 and lines[1:] == ["updated table ir.vpcflow:", *(f"  {line}" for line in widen)]
    assert tuple(c["Type"] for c in table()["StorageDescriptor"]["Columns"]) == V2_TYPES
    assert catalog_problem(Settings()) is None


def test_check_names_a_missing_table(aws: pytest.MonkeyPatch) -> None:
    problem = catalog_problem(Settings())
    assert problem == "database ir does not exist (run `flowbot athena setup`)"
    boto3.client("glue", region_name=REGION).create_database(DatabaseInput={"Name": "ir"})
    assert catalog_problem(Settings()) == "table ir.vpcflow does not exist (run `flowbot athena setup`)"


def test_the_ioc_table_and_view_are_set_up_too(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.setenv("FLOWBOT_IOC_STORE", "s3://analysis/iocs")
    code, lines = setup(capsys)
    assert code == 0
    assert lines == [
        "created workgroup flowbot",
        "created database ir",
        "created table ir.vpcflow",
        "created table ir.incident_iocs",
        "created or replaced view ir.incident_vpc_flow_directional",
    ]
    iocs = boto3.client("glue", region_name=REGION).get_table(DatabaseName="ir", Name="incident_iocs")[
        "Table"
    ]
    assert iocs["StorageDescriptor"]["Location"] == "s3://analysis/iocs/table/"


def test_an_existing_workgroup_that_enforces_less_is_reported_not_changed(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    athena = boto3.client("athena", region_name=REGION)
    athena.create_work_group(
        Name="flowbot",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://elsewhere/"},
            "EnforceWorkGroupConfiguration": False,
        },
    )
    code, lines = setup(capsys)
    assert code == 1
    assert lines[:5] == [
        "workgroup flowbot falls short of the settings:",
        "  it does not enforce its configuration (queries may send results elsewhere)",
        "  it writes results to s3://elsewhere/, not to FLOWBOT_ATHENA_OUTPUT_LOCATION s3://athena-results/flowbot/",
        "  it does not encrypt results",
        "  it has a per-query scan limit of none, above FLOWBOT_ATHENA_BYTES_SCANNED_CUTOFF 50,000,000,000",
    ]
    kept = athena.get_work_group(WorkGroup="flowbot")["WorkGroup"]["Configuration"]
    assert kept["ResultConfiguration"] == {"OutputLocation": "s3://elsewhere/"}
    assert kept["EnforceWorkGroupConfiguration"] is False


def test_the_primary_workgroup_is_left_alone(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.setenv("FLOWBOT_ATHENA_WORKGROUP", "primary")
    code, lines = setup(capsys)
    assert code == 0 and lines[0].startswith("workgroup primary is not Flowbot's")


def shape(*columns: tuple[str, str]) -> TableShape:
    return TableShape("t", columns, "s3://b/", "serde")


def test_differences_name_order_type_and_membership() -> None:
    wanted = shape(("a", "int"), ("b", "string"), ("c", "bigint"))
    assert differences(wanted, wanted) == []
    assert differences(wanted, shape(("b", "string"), ("a", "int"), ("c", "bigint"))) == [
        "column order: the table has b, a, c; the settings have a, b, c (Athena reads fields by position)"
    ]
    assert differences(wanted, shape(("a", "int"), ("b", "string"), ("c", "int"), ("d", "int"))) == [
        "columns to drop: d",
        "column c: int in the table, bigint wanted",
    ]
